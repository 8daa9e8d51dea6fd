"""Build the evaluation splits of docs/results.md: internal, external (shifted domain), STS_001.

Every split is a manifest (``seganypet.data.manifest``) whose targets are liver, kidneys,
spleen, heart, brain, bladder and the lesions >= 10 mm (``seganypet.evaluation.targets``):

* ``internal.jsonl`` (split ``test``): realistic phantoms from the training distribution,
  FDG + PSMA drawn per case, the scanner drawn as usual, on a seed training never uses (the
  model card's, so its cases are the card's cases).
* ``external.jsonl`` (split ``external``): the same anatomy generator in a shifted domain.
  Every case has the PET/MR-style attenuation bias forced on, a coarser resolution
  (``EXTERNAL_PSF_MM``) and fewer counts (``EXTERNAL_COUNT_LEVEL``); odd cases are PSMA, even
  ones FDG; cases 2, 3, 6, 7, ... (``n % 4 in (2, 3)``) also get isotropic
  ``EXTERNAL_VOXEL_MM`` voxels, the others keep the drawn scanner grid. Each case is one
  ``seganypet phantom`` call with ``--seed <external seed + n>``; ``external_shifts.json`` lists
  every case's shift and exact command, and each record's ``meta.scanner_shift`` repeats it.
* ``internal_lesions.jsonl`` / ``external_lesions.jsonl``: the same cases with only their
  lesion targets, to score lesion-specialised models (``lesion_finetune``).
* ``sts001.jsonl`` (split ``external``): the real STS_001 thigh GTV, when ``--shared`` holds
  ``sts001_wholebody_fdg_pet``; the manifest points into ``--shared``, nothing is copied.

    python benchmarks/evaluation_splits.py                      # runs/splits, 6 + 6 cases
    python benchmarks/evaluation_splits.py --small --out /tmp/splits --cases 2   # smoke run
    seganypet evaluate --manifest runs/splits/external.jsonl --model default -o results/external
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from seganypet.cli import main as cli
from seganypet.data.manifest import CaseRecord, read_manifest, write_manifest
from seganypet.evaluation.targets import evaluation_records, sts001_record

# The shifted scanner of the external split: outside the realistic draws (PSF 4-8 mm, count
# level log-normal around 1 with sd 0.4, so 0.35 is ~2.6 sd below) yet still clinical-looking.
EXTERNAL_PSF_MM = 9.0
EXTERNAL_COUNT_LEVEL = 0.35
EXTERNAL_VOXEL_MM = 4.0
# With --small the phantoms have 8 mm voxels; the voxel shift then goes coarser still.
SMALL_EXTERNAL_VOXEL_MM = 10.0


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/splits"), help="output folder")
    parser.add_argument("--cases", type=int, default=6, help="phantoms per split (default 6)")
    parser.add_argument("--internal-seed", type=int, default=424242,
                        help="held-out seed of the internal split (the model card's)")
    parser.add_argument("--external-seed", type=int, default=515151,
                        help="first seed of the external split (case n uses seed + n)")
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2]
                        / "shared" / "data", help="folder with sts001_wholebody_fdg_pet/")
    parser.add_argument("--small", action="store_true",
                        help="8 mm phantoms (10 mm for the voxel shift): a quick smoke run")
    return parser.parse_args()


def external_shift(n: int, small: bool = False) -> dict[str, Any]:
    """The domain shift of external case ``n`` (tracer + forced scanner settings)."""
    coarse_grid = n % 4 in (2, 3)  # pairs, so the voxel shift is balanced over the tracers
    voxel = SMALL_EXTERNAL_VOXEL_MM if small else EXTERNAL_VOXEL_MM
    return {"tracer": "psma" if n % 2 else "fdg", "attenuation_bias": True,
            "psf_fwhm_mm": EXTERNAL_PSF_MM, "count_level": EXTERNAL_COUNT_LEVEL,
            "voxel_mm": voxel if coarse_grid else None}


def _phantom_argv(folder: Path, seed: int, shift: dict[str, Any], small: bool) -> list[str]:
    """``seganypet phantom`` arguments of one external case."""
    argv = ["phantom", str(folder), "--cases", "1", "--seed", str(seed), "--mode", "realistic",
            "--tracer", shift["tracer"], "--attenuation-bias",
            "on" if shift["attenuation_bias"] else "off",
            "--psf-mm", str(shift["psf_fwhm_mm"]), "--count-level", str(shift["count_level"])]
    if shift["voxel_mm"] is not None:
        argv += ["--voxel-mm", str(shift["voxel_mm"])]
    return argv + (["--small"] if small else [])


def _run_phantom(argv: list[str]) -> None:
    code = cli(argv)
    if code != 0:
        raise SystemExit(f"seganypet {' '.join(argv)} failed with exit code {code}")


def build_internal(out: Path, cases: int, seed: int, small: bool) -> Path:
    """Held-out realistic phantoms (tracer mixed, default scanner draws) -> internal.jsonl."""
    folder = out / "internal"
    _run_phantom(["phantom", str(folder), "--cases", str(cases), "--seed", str(seed),
                  "--tracer", "mixed", "--mode", "realistic"] + (["--small"] if small else []))
    return write_manifest(evaluation_records(folder / "manifest.jsonl"), out / "internal.jsonl")


def build_external(out: Path, cases: int, seed: int, small: bool) -> Path:
    """Shifted-domain phantoms, one ``seganypet phantom`` call per case -> external.jsonl and
    external_shifts.json."""
    folder = out / "external"
    generated: list[CaseRecord] = []
    shifts: dict[str, dict[str, Any]] = {}
    for n in range(cases):
        shift = external_shift(n, small)
        argv = _phantom_argv(folder, seed + n, shift, small)
        _run_phantom(argv)
        # Each call rewrites external/manifest.jsonl with its one case; collect them all.
        record = read_manifest(folder / "manifest.jsonl")[0]
        generated.append(record)
        shifts[record.case_id] = {**shift, "seganypet": argv}
    write_manifest(generated, folder / "manifest.jsonl")
    (out / "external_shifts.json").write_text(json.dumps(
        {"description": "per external case: tracer and forced scanner settings (voxel_mm null: "
                        "drawn as in training); 'seganypet' is the exact command",
         "cases": shifts}, indent=1) + "\n")
    return write_manifest(evaluation_records(folder / "manifest.jsonl", split="external"),
                          out / "external.jsonl")


def build_sts001(out: Path, shared: Path) -> Path | None:
    """The real STS_001 thigh GTV -> sts001.jsonl, or None without the shared data."""
    record = sts001_record(shared)
    return None if record is None else write_manifest([record], out / "sts001.jsonl")


def write_lesion_manifest(manifest: Path, out: Path) -> Path:
    """The cases of ``manifest`` that have lesion targets, with only those targets kept."""
    records = []
    for record in read_manifest(manifest):
        lesions = tuple(t for t in record.target_ids if record.label_names[t].startswith("lesion"))
        if lesions:
            records.append(dataclasses.replace(record, targets=lesions))
    return write_manifest(records, out)


def main() -> None:
    args = _parse()
    if args.cases < 1:
        raise SystemExit("--cases must be at least 1")
    args.out.mkdir(parents=True, exist_ok=True)
    manifests = {"internal": build_internal(args.out, args.cases, args.internal_seed, args.small),
                 "external": build_external(args.out, args.cases, args.external_seed, args.small),
                 "sts001": build_sts001(args.out, args.shared)}
    for name, path in manifests.items():
        if path is None:
            print(f"{name}: skipped ({args.shared / 'sts001_wholebody_fdg_pet'} not found)")
        else:
            targets = sum(len(r.target_ids) for r in read_manifest(path))
            print(f"{name}: {path} ({len(read_manifest(path))} case(s), {targets} target(s))")
    for name in ("internal", "external"):
        lesions = write_lesion_manifest(manifests[name], args.out / f"{name}_lesions.jsonl")
        print(f"{name}, lesion targets only (for lesion models): {lesions}")
    print(f"external shifts: {args.out / 'external_shifts.json'}")


if __name__ == "__main__":
    main()
