"""``seganypet lesions SCAN -o OUTDIR``: every lesion of a whole-body scan, automatically."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from seganypet.cli._options import add_device_argument, check_device, load_cli_model
from seganypet.cli._scan_input import add_scan_arguments, read_scan
from seganypet.errors import InputError

__all__ = ["parse_threshold", "register", "run", "settings_from_args"]


def parse_threshold(text: str) -> float | None:
    """``auto`` -> None (PERCIST from the automatic liver); otherwise a positive SUV."""
    if text.strip().lower() == "auto":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither 'auto' nor an SUV") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"--threshold {text} must be a finite SUV > 0")
    return value


def add_lesion_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of lesion mode shared by ``lesions``, ``batch --task lesions`` and ``evaluate``."""
    from seganypet.lesions.organs import PHYSIOLOGICAL_ORGANS

    parser.add_argument("--threshold", type=parse_threshold, default=None, metavar="auto|SUV",
                        help="hot-spot threshold: 'auto' = PERCIST 1.5 x liver mean + 2 SD with "
                             "the liver found automatically (default), or a fixed SUV")
    parser.add_argument("--exclude-organs", nargs="*", default=list(PHYSIOLOGICAL_ORGANS),
                        choices=PHYSIOLOGICAL_ORGANS, metavar="ORGAN",
                        help="physiological uptake to suppress (default: all of "
                             f"{', '.join(PHYSIOLOGICAL_ORGANS)}; give none to keep everything)")
    parser.add_argument("--model", default="default",
                        help="model preset name or checkpoint path (default: the shipped model)")


def settings_from_args(args: argparse.Namespace):
    from seganypet.lesions import LesionSettings

    return LesionSettings(threshold=args.threshold, exclude_organs=tuple(args.exclude_organs))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lesions",
        help="find every lesion of a whole-body PET scan (automatic prompts, correctable)",
        description="Hot spots above the PERCIST liver threshold (or a fixed SUV), physiological "
                    "uptake (brain, heart, kidneys, ureters, bladder, salivary glands, stomach) suppressed, "
                    "one model prompt per remaining spot guarded by the hot spot itself. Writes "
                    "lesions.nii.gz, lesions.csv, summary.json, organs.nii.gz and preview.png.",
    )
    parser.add_argument("image", type=Path, help="PET image file (SUV) or DICOM PET folder")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    add_lesion_arguments(parser)
    add_device_argument(parser)
    parser.add_argument("--no-preview", action="store_true", help="do not write preview.png")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_scan_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from seganypet.lesions import find_lesions, write_lesion_outputs

    if args.output.exists() and not args.output.is_dir():
        raise InputError(f"-o {args.output} is a file; give an output folder")
    device = check_device(args.device)
    settings = settings_from_args(args)
    image = read_scan(args.image, args)
    model = load_cli_model(args.model, device)
    start = time.perf_counter()
    result = find_lesions(image, model, settings, progress=not args.no_progress, device=device)
    paths = write_lesion_outputs(image, result, args.output, preview=not args.no_preview)
    elapsed = time.perf_counter() - start
    count = int(result.labels.array.max())
    print(f"{count} lesion(s), SUV threshold {result.threshold:.2f} ({result.threshold_source}), "
          f"organs suppressed: {', '.join(sorted(set(result.organ_names.values()))) or 'none'}; "
          f"{elapsed:.1f} s")
    for kind, path in paths.items():
        print(f"{kind:>8}: {path}")
    return 0
