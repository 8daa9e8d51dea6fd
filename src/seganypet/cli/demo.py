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

from seganypet.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the whole click-to-mask path on a generated phantom (offline)",
        description="Generate a whole-body FDG phantom, click the liver and a lesion, segment "
                    "them with the default model and write everything to OUTDIR.")
    parser.add_argument("outdir", type=Path, nargs="?", default=Path("seganypet-demo"),
                        help="output folder (default ./seganypet-demo)")
    parser.add_argument("--model", default="default", help="model name or checkpoint path")
    parser.add_argument("--seed", type=int, default=7, help="phantom seed")
    parser.add_argument("--clicks", type=int, default=3,
                        help="clicks per object: the first at its centre, the others on the "
                             "largest error (default 3)")
    parser.add_argument("--device", default="cpu")
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
    from seganypet.clicks import Click, distance_center, next_click
    from seganypet.data.phantom import PhantomConfig, generate_case
    from seganypet.evaluation.metrics import dice
    from seganypet.io.labels import write_label_map
    from seganypet.io.write import write_image
    from seganypet.model import load_model
    from seganypet.segmentation_outputs import output_paths, write_segmentation_outputs
    from seganypet.session import Session

    if args.outdir.exists() and not args.outdir.is_dir():
        raise InputError(f"{args.outdir} exists and is not a folder")
    if args.clicks < 1:
        raise InputError(f"--clicks must be at least 1, got {args.clicks}")
    rng = np.random.default_rng(args.seed)  # only breaks ties of the simulated user
    model = load_model(args.model, device=args.device)
    print(f"generating a whole-body FDG phantom (seed {args.seed}) ...")
    case = generate_case(np.random.default_rng(args.seed), PhantomConfig(tracer="fdg", n_lesions=4))
    image, truth = case.suv, case.label.array
    write_image(image, args.outdir / "phantom_suv.nii.gz")
    write_label_map(case.label, args.outdir / "phantom_truth.nii.gz",
                    {int(k): v for k, v in case.info["label_names"].items()})
    session = Session(model, device=args.device)
    session.set_image(image)
    clicks, scores = [], []
    start = time.perf_counter()
    for n, (name, label_id) in enumerate(_targets(truth, case.info)):
        if n:
            session.new_object(name)
        session.current.name = name
        target = truth == label_id
        click = Click(distance_center(target, image.spacing), True)
        history: list[float] = []
        for _ in range(args.clicks):
            session.add_point(click.index, click.positive)
            clicks.append((tuple(float(v) for v in click.index), click.positive))
            prediction = session.mask.array > 0
            history.append(dice(prediction, target))
            click = next_click(prediction, target, rng, "center", image.spacing)
        scores.append((name, history))
    elapsed = time.perf_counter() - start
    paths = output_paths(args.outdir / "segmentation.nii.gz", preview=True, dicom_seg=False)
    write_segmentation_outputs(image, session.label_map, session.label_names, paths, clicks)
    for name, history in scores:
        steps = " -> ".join(f"{score:.3f}" for score in history)
        print(f"  {name:<12} Dice vs ground truth after each of {len(history)} click(s): {steps}")
    print(f"segmented {len(scores)} objects in {elapsed:.1f} s; outputs in {args.outdir}/:")
    for path in sorted(args.outdir.iterdir()):
        print(f"  {path.name}")
    return 0
