"""An evaluation manifest of the 20 real sarcoma crops, for ``seganypet evaluate``.

The IBSI crops of ``../shared/data/ibsi_sts_fdg_pet_crops_dev`` (real FDG PET, expert GTVs,
label 1 ``lesion_gtv``), split ``external``. The manifest points into the data folder;
nothing is copied.

    python benchmarks/sarcoma_manifest.py -o runs/sts_crops.jsonl
    seganypet evaluate --manifest runs/sts_crops.jsonl --model default --protocol boxes -o out/
"""

from __future__ import annotations

import argparse
from pathlib import Path

from seganypet.data.manifest import CaseRecord, write_manifest

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ibsi_sts_fdg_pet_crops_dev"


def crop_records(data: Path) -> list[CaseRecord]:
    """One record per ``STS_xxx`` folder holding ``PET_image.nii.gz`` and ``PET_mask.nii.gz``."""
    folders = sorted(p for p in data.glob("STS_*") if (p / "PET_mask.nii.gz").is_file())
    return [CaseRecord(case_id=f.name, image=(f / "PET_image.nii.gz").resolve(),
                       label=(f / "PET_mask.nii.gz").resolve(), label_names={1: "lesion_gtv"},
                       cohort="ibsi-sts", tracer="fdg", split="external", targets=(1,))
            for f in folders]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("-o", "--output", type=Path, default=Path("runs/sts_crops.jsonl"))
    args = parser.parse_args()
    records = crop_records(args.data)
    if not records:
        raise SystemExit(f"no STS_xxx crops with PET_mask.nii.gz in {args.data}")
    print(f"{len(records)} crops -> {write_manifest(records, args.output)}")


if __name__ == "__main__":
    main()
