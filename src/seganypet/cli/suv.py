"""``seganypet suv DICOM_DIR -o suv.nii.gz``: convert a DICOM PET series to SUVbw (or SUL)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from seganypet.cli._scan_input import add_scan_arguments, read_scan
from seganypet.errors import InputError
from seganypet.volume import Volume

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "suv",
        help="convert a DICOM PET series to an SUVbw (or SUL) NIfTI and print the parameters",
        description="Convert a DICOM PET series folder to SUV by the QIBA vendor-neutral rules "
        "(BQML, Philips CNTS, GML; START/ADMIN decay correction) and print the conversion "
        "parameters. Options replace missing or wrong header values.",
    )
    parser.add_argument("dicom_dir", type=Path, help="folder holding one PET series")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output .nii.gz/.nrrd/.mha")
    add_scan_arguments(parser)
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the parameters as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from seganypet.io.atomic import atomic_path
    from seganypet.io.outputs import IMAGE_SUFFIXES, OutputFile, guard_outputs
    from seganypet.io.write import write_image

    if not args.dicom_dir.is_dir():
        raise InputError(f"{args.dicom_dir} is not a folder; `seganypet suv` converts a DICOM PET "
                         "series folder")
    outputs = [OutputFile(args.output, "-o", IMAGE_SUFFIXES)]
    if args.json is not None:
        outputs.append(OutputFile(args.json, "--json", (".json",)))
    if args.json is not None and args.json.resolve() == args.output.resolve():
        raise InputError("--json and -o name the same file")
    guard_outputs(outputs, [args.dicom_dir])
    volume = read_scan(args.dicom_dir, args)
    write_image(volume, args.output)
    params = volume.meta["suv"]
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(params, indent=2) + "\n", encoding="utf-8")
    _print_parameters(volume, args.output)
    return 0


def _print_parameters(volume: Volume, output: Path) -> None:
    params = volume.meta["suv"]
    rows = [
        ("unit", params.get("unit")),
        ("method", params.get("method")),
        ("decay correction", params.get("decay_correction")),
        ("weight (kg)", params.get("weight_kg")),
        ("injected dose (MBq)", _scaled(params.get("injected_dose_bq"), 1e-6)),
        ("half-life (s)", params.get("half_life_s")),
        ("injection time", params.get("injection_datetime")),
        ("scan time", f"{params.get('scan_datetime')} ({params.get('scan_time_source')})"
         if params.get("scan_datetime") else None),
        ("uptake time (min)", _scaled(params.get("decay_time_s"), 1 / 60)),
        ("decayed dose (MBq)", _scaled(params.get("decayed_dose_bq"), 1e-6)),
        ("SUV factor (per Bq/ml)", params.get("factor")),
        ("SUL / SUVbw ratio", params.get("sul_ratio")),
        ("overridden", ", ".join(params.get("overrides") or []) or "nothing"),
        (f"{volume.unit} max", f"{float(volume.array.max()):.3f}"),
    ]
    for name, value in rows:
        if value is not None:
            print(f"{name:>24}: {value}")
    print(f"wrote {output} ({volume.shape[0]}x{volume.shape[1]}x{volume.shape[2]}, "
          f"{' x '.join(f'{s:.3g}' for s in volume.spacing)} mm)")


def _scaled(value: float | None, scale: float) -> str | None:
    return None if value is None else f"{value * scale:.6g}"
