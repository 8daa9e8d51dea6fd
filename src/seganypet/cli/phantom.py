"""``seganypet phantom OUTDIR --cases N --seed S``: write synthetic whole-body PET cases.

Each case gets ``<id>_SUV.nii.gz`` (SUVbw), ``<id>_label.nii.gz`` (organ ids 1-18, lesions
101+), ``<id>.json`` (label names, organ ids, lesion instances with kind/diameter/contrast, all
parameters) and a line in ``manifest.jsonl``. With ``--lq-fraction F`` that fraction of cases
also gets a simulated low-quality label ``<id>_label_LQ.nii.gz``, which the manifest then uses
(quality ``LQ``; the exact label stays referenced in ``meta.hq_label`` for evaluation).
``--voxel-mm``, ``--psf-mm``, ``--count-level`` and ``--attenuation-bias on|off`` force scanner
settings that are otherwise drawn per case (a shifted domain for external evaluation); the
forced values are recorded as ``scanner_shift`` in the case JSON and the manifest meta.
``--from-labels SEG [--ct CT]`` synthesises PET from an existing organ label map instead.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from seganypet.cli._options import add_output_folder_argument, add_seed_argument, output_folder

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "phantom",
        help="generate synthetic whole-body PET phantoms (SUV + labels + manifest)",
        description="Generate synthetic whole-body FDG/PSMA PET cases with organ and lesion "
        "labels. Deterministic: the same --seed gives the same files.",
    )
    add_output_folder_argument(parser, "output folder (created if needed)")
    parser.add_argument("--cases", type=int, default=4, help="number of cases (default 4)")
    add_seed_argument(parser, "random seed")
    parser.add_argument("--tracer", choices=("fdg", "psma", "mixed"), default="fdg")
    parser.add_argument("--mode", choices=("realistic", "randomized"), default="realistic",
                        help="literature-typical phantoms, or domain-randomised ones for training")
    parser.add_argument("--lq-fraction", type=float, default=0.0, metavar="F",
                        help="fraction of cases given a simulated low-quality label (0..1)")
    parser.add_argument("--voxel-mm", type=float, metavar="MM",
                        help="isotropic voxel size (default: drawn per case, 2-5 mm)")
    parser.add_argument("--small", action="store_true", help="coarse 8 mm voxels (fast, for tests)")
    parser.add_argument("--psf-mm", type=float, metavar="MM",
                        help="reconstructed resolution, Gaussian FWHM in mm (default: drawn, 4-8)")
    parser.add_argument("--count-level", type=float, metavar="X",
                        help="relative counts, 1 = clinical reference; noise ~ 1/sqrt(X) "
                        "(default: drawn)")
    parser.add_argument("--attenuation-bias", choices=("on", "off"),
                        help="force the PET/MR-style attenuation-correction bias (lungs, bone) "
                        "on or off (default: drawn per case)")
    parser.add_argument("--lesions", type=int, metavar="N", help="lesion draws per case")
    parser.add_argument("--whole-body", action="store_true", help="no axial cropping")
    parser.add_argument("--val-fraction", type=float, default=0.2,
                        help="fraction of cases in the val split (default 0.2)")
    parser.add_argument("--gallery", type=Path, metavar="PNG",
                        help="also write a PNG of coronal MIPs with label outlines")
    parser.add_argument("--reference", type=Path, metavar="NIFTI",
                        help="real SUV image shown first in the gallery (e.g. STS_001)")
    parser.add_argument("--from-labels", type=Path, metavar="NIFTI",
                        help="instead of generating bodies, synthesise PET from this organ label "
                        "map (TotalSegmentator v2 ids); each case is a new uptake/noise draw")
    parser.add_argument("--ct", type=Path, metavar="NIFTI",
                        help="with --from-labels: CT on the same grid, to split fat from muscle")
    parser.set_defaults(handler=run)


def _check(args: argparse.Namespace) -> None:
    from seganypet.errors import InputError

    if args.cases < 1:
        raise InputError("--cases must be at least 1")
    if args.lesions is not None and args.lesions < 0:
        raise InputError(f"--lesions must be 0 or more, got {args.lesions}")
    for name in ("lq_fraction", "val_fraction"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            raise InputError(f"--{name.replace('_', '-')} must lie between 0 and 1")
    if args.voxel_mm is not None and not 0.5 <= args.voxel_mm <= 20:
        raise InputError("--voxel-mm must lie between 0.5 and 20")
    for name in ("reference", "from_labels", "ct"):
        path = getattr(args, name)
        if path is not None and not path.is_file():
            raise InputError(f"--{name.replace('_', '-')} {path} is not a file")
    if args.ct is not None and args.from_labels is None:
        raise InputError("--ct only makes sense with --from-labels")
    for name in ("psf_mm", "count_level"):
        value = getattr(args, name)
        if value is not None and not value > 0:  # "not >" also rejects NaN
            raise InputError(f"--{name.replace('_', '-')} must be positive, got {value}")
    forced = (args.psf_mm, args.count_level, args.attenuation_bias)
    if args.from_labels is not None and any(v is not None for v in forced):
        raise InputError("--psf-mm, --count-level and --attenuation-bias apply to generated "
                         "phantoms, not to --from-labels")


def _scanner_shift(args: argparse.Namespace) -> dict[str, float | bool]:
    """The scanner settings forced on the command line, named as in ``PhantomConfig``
    (recorded in each case's info and manifest meta, so a shifted domain is self-describing)."""
    shift = {"voxel_mm": args.voxel_mm, "psf_fwhm_mm": args.psf_mm,
             "count_level": args.count_level,
             "attenuation_bias": None if args.attenuation_bias is None
             else args.attenuation_bias == "on"}
    return {k: v for k, v in shift.items() if v is not None}


def _generated_source(args: argparse.Namespace):
    """``make(rng) -> PhantomCase`` for generated bodies; forced scanner settings are added to
    the info as ``scanner_shift``."""
    import dataclasses

    import numpy as np

    from seganypet.data.phantom import PhantomCase, PhantomConfig, generate_case

    shift = _scanner_shift(args)
    forced = {k: v for k, v in shift.items() if k != "voxel_mm"}  # voxel_mm is passed below
    config = PhantomConfig(tracer=args.tracer, mode=args.mode, voxel_mm=args.voxel_mm,
                           small=args.small, n_lesions=args.lesions, whole_body=args.whole_body,
                           **forced)

    def make(rng: np.random.Generator) -> PhantomCase:
        case = generate_case(rng, config)
        if not shift:
            return case
        return dataclasses.replace(case, info={**case.info, "scanner_shift": shift})

    return make


def _case_source(args: argparse.Namespace):
    """``make(rng) -> PhantomCase``: a generated body, or PET synthesised from a label map."""
    import numpy as np

    from seganypet.data.phantom import PhantomCase

    if args.from_labels is None:
        return _generated_source(args)

    from seganypet.data.label_to_pet import label_to_pet
    from seganypet.data.uptake import TRACERS
    from seganypet.io.nifti import read_nifti

    labels = read_nifti(args.from_labels)
    ct = None if args.ct is None else read_nifti(args.ct)

    def make(rng: np.random.Generator) -> PhantomCase:
        tracer = args.tracer if args.tracer != "mixed" else str(rng.choice(TRACERS))
        suv, organs, info = label_to_pet(labels, rng, tracer=tracer, ct=ct,
                                         randomized=args.mode == "randomized")
        return PhantomCase(suv, organs.with_array(organs.array.astype(np.uint8)),
                           {**info, "lesions": [], "source_labels": str(args.from_labels)})

    return make


def _guard(args: argparse.Namespace, plan) -> None:
    from seganypet.data.dataset_writer import case_files
    from seganypet.io.outputs import OutputFile, OutputFolder, guard_outputs

    outputs: list = [OutputFolder(args.output, "-o", tuple(case_files(plan)))]
    if args.gallery is not None:
        outputs.append(OutputFile(args.gallery, "--gallery", (".png",)))
    guard_outputs(outputs, [args.reference, args.from_labels, args.ct])


def run(args: argparse.Namespace) -> int:
    from seganypet.data.dataset_writer import DatasetPlan, write_dataset
    from seganypet.data.gallery import Panel, save_gallery
    from seganypet.data.manifest import write_manifest
    from seganypet.io.nifti import read_nifti

    args.output = output_folder(args)
    _check(args)
    source = "label2pet" if args.from_labels else "phantom"
    plan = DatasetPlan(args.cases, args.seed, f"{source}-{args.mode}", args.val_fraction,
                       args.lq_fraction)
    _guard(args, plan)
    records, panels = [], []
    for record, case in write_dataset(_case_source(args), args.output, plan):
        records.append(record)
        print(f"{record.case_id}: {case.info['tracer']} {case.suv.shape} "
              f"{len(case.info['lesions'])} lesion(s), quality {record.quality}")
        if args.gallery is not None and len(panels) < 6:
            # PSMA kidneys/glands are ~5x hotter than FDG organs: widen the grey scale.
            vmax = 15.0 if case.info["tracer"] == "psma" else 8.0
            panels.append(Panel(f"{record.case_id} ({case.info['tracer']})", case.suv, case.label,
                                vmax))
    manifest = write_manifest(records, args.output / "manifest.jsonl")
    print(f"wrote {len(records)} case(s) and {manifest}")
    if args.gallery is not None:
        if args.reference is not None:
            panels.insert(0, Panel(f"{args.reference.name.split('.')[0]} (real)",
                                   read_nifti(args.reference)))
        print(f"wrote {save_gallery(panels, args.gallery)}")
    return 0
