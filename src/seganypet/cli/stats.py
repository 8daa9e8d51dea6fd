"""``seganypet stats IMAGE LABELS``: SUV statistics of every object of a label map."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from seganypet.errors import InputError

__all__ = ["read_names", "register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stats",
        help="SUVmax/mean/std/peak, volume, TLG of every label (optionally per lesion component)",
        description="SUV statistics of every object of a label map on a PET image: voxel count, "
        "volume (ml), SUVmax, SUVmean, SUV std, SUVpeak (1 cm³ sphere), TLG. With --liver-label, "
        "the PERCIST liver reference and a measurability flag per object.",
    )
    parser.add_argument("image", type=Path,
                        help="PET: a DICOM series folder (converted to SUVbw) or an SUV image file "
                        "(.nii/.nii.gz/.nrrd/.mha)")
    parser.add_argument("labels", type=Path, help="label map on the image grid (NIfTI/NRRD/MHA, "
                        "DICOM-SEG, or an RTSTRUCT with --roi)")
    parser.add_argument("--roi", help="ROI name to rasterise when LABELS is an RTSTRUCT")
    parser.add_argument("--names", type=Path, help='label names JSON: {"1": "liver", ...} '
                        "(default: names stored with the label map, e.g. its .json sidecar)")
    parser.add_argument("-o", "--output", type=Path,
                        help="write stats.csv or stats.json (default: print a table)")
    parser.add_argument("--liver-label", type=int, help="label id of the liver (PERCIST reference)")
    parser.add_argument("--components", action="store_true",
                        help="also report every connected component (lesion table) and totals")
    parser.add_argument("--connectivity", type=int, default=18, choices=(6, 18, 26),
                        help="voxel neighbourhood of the components (default 18)")
    parser.set_defaults(handler=run)


def read_names(path: Path) -> dict[int, str]:
    """Label names from ``{"1": "liver"}`` or a sidecar ``{"labels": {"1": "liver"}}``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("labels"), dict):
            data = data["labels"]
        return {int(k): str(v) for k, v in data.items()}
    except (ValueError, AttributeError, TypeError, RecursionError) as exc:
        raise InputError(f"{path} is not a label-name JSON like {{\"1\": \"liver\"}} ({exc})") from None


def _read_inputs(args: argparse.Namespace):
    from seganypet.io.read import read_label_map, read_pet

    image = read_pet(args.image)
    labels = read_label_map(args.labels, reference=image, roi=args.roi)
    names = read_names(args.names) if args.names else dict(labels.meta.get("label_names") or {})
    return image, labels, names


def _print_table(report: dict) -> None:
    header = f"{'label':>6} {'name':<20} {'comp':>4} {'voxels':>8} {'ml':>9} {'max':>8} " \
             f"{'mean':>8} {'std':>8} {'peak':>8} {'TLG':>10}"
    print(header)
    for region in report["objects"] + report.get("components", []):
        print(f"{region['label']:>6} {region['name'][:20]:<20} {region['component']:>4} "
              f"{region['voxel_count']:>8} {region['volume_ml']:>9.2f} {region['suv_max']:>8.3f} "
              f"{region['suv_mean']:>8.3f} {region['suv_std']:>8.3f} {region['suv_peak']:>8.3f} "
              f"{region['tlg']:>10.2f}")
    reference = report.get("liver_reference")
    if reference:
        print(f"PERCIST liver reference: mean {reference['mean']:.3f}, SD {reference['sd']:.3f}, "
              f"threshold {reference['threshold']:.3f}")


def run(args: argparse.Namespace) -> int:
    from seganypet.io.outputs import OutputFile, guard_outputs
    from seganypet.quantify.report import stats_report, write_report

    if args.output is not None:
        guard_outputs([OutputFile(args.output, "-o", (".csv", ".json"))],
                      [args.image, args.labels, args.names])
    image, labels, names = _read_inputs(args)
    report = stats_report(image, labels, names, liver_label=args.liver_label,
                          components=args.components, connectivity=args.connectivity)
    if args.output is None:
        _print_table(report)
    else:
        write_report(report, args.output)
        print(f"wrote {args.output} ({len(report['objects'])} objects)")
    return 0
