"""``seganypet segment``: clicks on a PET scan -> mask, preview PNG, stats JSON (+ DICOM-SEG)."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from seganypet.cli._options import (
    add_device_argument,
    add_session_rule_arguments,
    check_device,
    load_cli_model,
    positive_int,
    session_rules,
)
from seganypet.cli._scan_input import add_scan_arguments, read_scan, warn_if_blank
from seganypet.click import Click
from seganypet.errors import InputError
from seganypet.prompts import ObjectPrompts, check_click_count, parse_triplet, read_prompt_file
from seganypet.shape_files import parse_box, read_shape_file

log = logging.getLogger(__name__)


class _ClickAction(argparse.Action):
    """Append ``(text, positive)`` to one shared list so --point/--negative keep their order."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[override]
        clicks = list(getattr(namespace, "clicks", None) or [])
        clicks.append((values, option_string != "--negative"))
        namespace.clicks = clicks


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "segment",
        help="segment an organ or lesion from clicks",
        description="Segment one object from clicks on a PET scan (NIfTI/NRRD/MHA file in SUV, "
                    "or a DICOM PET folder, converted to SUVbw). Writes MASK, "
                    "<stem>_preview.png, <stem>_stats.json and, for DICOM input, <stem>_seg.dcm.",
    )
    parser.add_argument("image", type=Path, help="PET image file or DICOM folder")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output mask (.nii.gz)")
    parser.add_argument("--point", action=_ClickAction, metavar="I,J,K", dest="clicks",
                        help="positive click (voxel index of the image array; repeatable)")
    parser.add_argument("--negative", action=_ClickAction, metavar="I,J,K", dest="clicks",
                        help="negative click (repeatable)")
    parser.add_argument("--world", action="store_true",
                        help="--point/--negative are RAS millimetres instead of voxel indices "
                             "(write negative values as --point=-60,-54,60)")
    parser.add_argument("--prompts", type=Path, metavar="JSON",
                        help="clicks from a JSON file (seganypet 'objects' or autoPET IV layout)")
    parser.add_argument("--box", action="append", default=[], metavar="I0,J0,K0,I1,J1,K1",
                        help="positive box lo..hi (3D, or 2D when lo and hi share one index; "
                             "mm with --world; repeatable; applied before the clicks)")
    parser.add_argument("--scribble", action="append", default=[], type=Path, metavar="JSON",
                        help="scribbles from a JSON file (points, seganypet 'scribbles', or "
                             "autoPET V 'tumor'/'background' stroke voxels; repeatable)")
    parser.add_argument("--lasso", action="append", default=[], type=Path, metavar="JSON",
                        help="lassos (closed polygons on one slice) from a JSON file "
                             "(repeatable)")
    parser.add_argument("--model", default="default",
                        help="model preset name or checkpoint path (default: the shipped model)")
    parser.add_argument("--name", default="object", help="name of the object (label sidecar)")
    add_device_argument(parser)
    parser.add_argument("--candidate", type=int, metavar="K",
                        help="use first-click candidate K instead of the best-scored one")
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--grow", type=positive_int, default=0, metavar="N",
                       help="show the first-click candidate N steps larger (by volume)")
    sizes.add_argument("--shrink", type=positive_int, default=0, metavar="N",
                       help="show the first-click candidate N steps smaller (by volume)")
    parser.add_argument("--max-tiles", type=positive_int, default=32,
                        help="limit of patches per object for large targets (default 32)")
    add_session_rule_arguments(parser)
    parser.add_argument("--no-preview", action="store_true", help="do not write the PNG preview")
    add_scan_arguments(parser)
    parser.set_defaults(handler=run, clicks=[])


def collect_prompts(args: argparse.Namespace) -> list[ObjectPrompts]:
    """Objects to segment, from --prompts and/or --point/--negative."""
    objects: list[ObjectPrompts] = []
    if args.prompts is not None:
        objects.extend(read_prompt_file(args.prompts))
    shapes = [parse_box(text, args.world) for text in args.box]
    shapes += [s for path in args.scribble for s in read_shape_file(path, "scribble")]
    shapes += [s for path in args.lasso for s in read_shape_file(path, "lasso")]
    if args.clicks or shapes:
        make = Click.at_world if args.world else Click
        clicks = [make(parse_triplet(text), positive) for text, positive in args.clicks]
        if not any(c.positive for c in clicks) and not any(s.positive for s in shapes):
            raise InputError("give at least one positive --point or shape (negative prompts "
                             "only refine)")
        objects.insert(0, ObjectPrompts(args.name, clicks, shapes))
    if not objects:
        raise InputError("no clicks: give --point I,J,K (voxel index), --box, --scribble, "
                         "--lasso or --prompts clicks.json")
    check_click_count(sum(len(obj.clicks) for obj in objects), "--point/--negative/--prompts")
    return objects


def _guard(args: argparse.Namespace):
    """Every file segment will write, checked against its inputs before any work."""
    from seganypet.io.labels import sidecar_path
    from seganypet.io.outputs import IMAGE_SUFFIXES, OutputFile, guard_outputs
    from seganypet.segmentation_outputs import output_paths

    guard_outputs([OutputFile(args.output, "-o", IMAGE_SUFFIXES)], [])  # suffix first
    paths = output_paths(args.output, preview=not args.no_preview, dicom_seg=args.image.is_dir())
    files = [args.output, sidecar_path(args.output), paths.preview, paths.stats, paths.dicom_seg]
    guard_outputs([OutputFile(path, "-o") for path in files if path is not None],
                  [args.image, args.prompts, args.model, *args.scribble, *args.lasso])
    return paths


def run(args: argparse.Namespace) -> int:
    from seganypet.segmentation_outputs import write_segmentation_outputs
    from seganypet.session import Session
    from seganypet.session.prompting import apply_prompts

    paths = _guard(args)
    objects = collect_prompts(args)
    check_device(args.device)
    image = read_scan(args.image, args)
    warn_if_blank(image, args.image)
    model = load_cli_model(args.model, args.device)
    session = Session(model, device=args.device, max_tiles=args.max_tiles, **session_rules(args))
    session.set_image(image)
    start = time.perf_counter()
    drawn = apply_prompts(session, objects, args.candidate, args.grow - args.shrink)
    elapsed = time.perf_counter() - start
    stats = write_segmentation_outputs(image, session.label_map, session.label_names, paths, drawn)
    _print_summary(stats, paths, elapsed)
    return 0


def _print_summary(stats: dict, paths, elapsed: float) -> None:
    for row in stats["objects"]:
        print(f"{row['name']}: {row['volume_ml']:.1f} ml, SUVmax {row['suv_max']:.2f}, "
              f"SUVmean {row['suv_mean']:.2f}, SUVpeak {row['suv_peak']:.2f}")
    if not stats["objects"]:
        print("the mask is empty (try another click, or add a positive click inside the target)")
    print(f"segmented in {elapsed:.2f} s")
    for label, path in (("mask", paths.mask), ("preview", paths.preview), ("stats", paths.stats),
                        ("DICOM-SEG", paths.dicom_seg)):
        if path is not None and path.exists():
            print(f"{label:>9}: {path}")
