"""``seganypet demo``: the whole click-to-mask path offline, on a generated whole-body phantom.

It generates a realistic FDG phantom, "clicks" in the liver and in the largest lesion (first
at the centre of each ground-truth structure, then, like a user correcting the mask, at the
centre of its largest remaining error: positive in a missed part, negative in a leak),
segments both with the default model, and writes the scan, the ground truth, the masks, a
preview PNG and the stats JSON, reporting the Dice against the phantom's ground truth after
every click.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from seganypet.cli._options import (
    add_device_argument,
    add_output_folder_argument,
    add_seed_argument,
    check_device,
    load_cli_model,
    output_folder,
)
from seganypet.errors import InputError

# Everything the demo writes into its folder (checked before any work).
_OUTPUT_NAMES = ("phantom_suv.nii.gz", "phantom_truth.nii.gz", "phantom_truth.json",
                 "segmentation.nii.gz", "segmentation.json", "segmentation_preview.png",
                 "segmentation_stats.json")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the whole click-to-mask path on a generated phantom (offline)",
        description="Generate a whole-body FDG phantom, click the liver and a lesion, segment "
                    "them with the default model and write everything to OUTDIR.")
    add_output_folder_argument(parser, "output folder", default=Path("seganypet-demo"))
    parser.add_argument("--model", default="default", help="model name or checkpoint path")
    # Seed 7 is the phantom whose Dice values the README quotes.
    add_seed_argument(parser, "phantom seed", default=7)
    parser.add_argument("--clicks", type=int, default=3,
                        help="clicks per object: the first at its centre, the others on the "
                             "largest error (default 3)")
    add_device_argument(parser)
    parser.set_defaults(handler=run)


def _targets(label: np.ndarray, info: dict) -> list[tuple[str, int]]:
    """(name, label id) of the liver and of the largest lesion present."""
    from seganypet.data.organs import ORGAN_IDS

    targets = [("liver", ORGAN_IDS["liver"])]
    lesions = sorted(info.get("lesions", []), key=lambda d: -float(d.get("volume_ml", 0)))
    for lesion in lesions:
        if np.any(label == lesion["id"]):
            targets.append((f"lesion_{lesion['id']}", int(lesion["id"])))
            break
    return targets


def run(args: argparse.Namespace) -> int:
    from seganypet.data.phantom import PhantomConfig, generate_case
    from seganypet.evaluation.protocol import interact
    from seganypet.io.labels import write_label_map
    from seganypet.io.outputs import OutputFolder, guard_outputs
    from seganypet.io.write import write_image
    from seganypet.segmentation_outputs import output_paths, write_segmentation_outputs
    from seganypet.session import Session

    args.outdir = output_folder(args)
    guard_outputs([OutputFolder(args.outdir, "-o", _OUTPUT_NAMES)], [args.model])
    if args.clicks < 1:
        raise InputError(f"--clicks must be at least 1, got {args.clicks}")
    check_device(args.device)
    rng = np.random.default_rng(args.seed)  # only breaks ties of the simulated user
    model = load_cli_model(args.model, args.device)
    print(f"generating a whole-body FDG phantom (seed {args.seed}) ...")
    case = generate_case(np.random.default_rng(args.seed), PhantomConfig(tracer="fdg", n_lesions=4))
    image, truth = case.suv, case.label.array
    write_image(image, args.outdir / "phantom_suv.nii.gz")
    write_label_map(case.label, args.outdir / "phantom_truth.nii.gz",
                    {int(k): v for k, v in case.info["label_names"].items()})
    session = Session(model, device=args.device)
    session.set_image(image)
    scores = []
    start = time.perf_counter()
    for n, (name, label_id) in enumerate(_targets(truth, case.info)):
        if n:
            session.new_object(name)
        else:
            session.rename(name)
        target = image.with_array((truth == label_id).astype(np.uint8), unit="mask")
        steps = interact(session, image, target, args.clicks, "center", rng)
        scores.append((name, [step.scores.dice for step in steps]))
    elapsed = time.perf_counter() - start
    paths = output_paths(args.outdir / "segmentation.nii.gz", preview=True, dicom_seg=False)
    write_segmentation_outputs(image, session.label_map, session.label_names, paths,
                               session.clicks)
    for name, history in scores:
        trail = " -> ".join(f"{score:.3f}" for score in history)
        print(f"  {name:<12} Dice vs ground truth after each of {len(history)} click(s): {trail}")
    print(f"segmented {len(scores)} objects in {elapsed:.1f} s; outputs in {args.outdir}/:")
    for path in sorted(args.outdir.iterdir()):
        print(f"  {path.name}")
    return 0
