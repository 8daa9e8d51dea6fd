"""Tiny synthetic PET cases for the evaluation tests (SUV image + label map + manifest)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seganypet.data.manifest import CaseRecord, write_manifest
from seganypet.io.nifti import write_nifti
from seganypet.volume import Volume

LIVER, LESION = 1, 2
LESION_SUV, LIVER_SUV = 8.0, 2.0


def tiny_case(rng: np.random.Generator, shape=(24, 22, 18), spacing=(4.0, 4.0, 3.0),
              lesion_centre=(16, 11, 9)) -> tuple[Volume, Volume]:
    """A 2.0-SUV "liver" box and an 8-SUV spherical lesion (radius 9 mm) on a ~0.5-SUV
    background with a little noise (kept below 2.5 so the SUV >= 2.5 rule isolates the lesion).

    Returns:
        ``(suv_image, label_map)`` on one anisotropic grid.
    """
    affine = np.diag([*spacing, 1.0])
    labels = np.zeros(shape, dtype=np.uint8)
    labels[2:9, 3:12, 3:12] = LIVER
    mm = np.stack(np.indices(shape), axis=-1) * np.asarray(spacing)
    lesion = np.linalg.norm(mm - np.asarray(lesion_centre) * np.asarray(spacing), axis=-1) <= 9.0
    labels[lesion] = LESION
    suv = 0.5 + 0.05 * rng.standard_normal(shape)
    suv[labels == LIVER] = LIVER_SUV
    suv[labels == LESION] = LESION_SUV
    return Volume(suv.astype(np.float32), affine, "SUVbw"), Volume(labels, affine, "label")


def write_tiny_manifest(folder: Path, rng: np.random.Generator) -> Path:
    """Two tiny cases (different lesion positions) and their manifest in ``folder``."""
    records = []
    for n, centre in enumerate([(16, 11, 9), (15, 14, 10)], start=1):
        image, labels = tiny_case(rng, lesion_centre=centre)
        write_nifti(image, folder / f"case{n}_suv.nii.gz")
        write_nifti(labels, folder / f"case{n}_label.nii.gz")
        records.append(CaseRecord(
            case_id=f"case{n}", image=folder / f"case{n}_suv.nii.gz",
            label=folder / f"case{n}_label.nii.gz",
            label_names={LIVER: "liver", LESION: "lesion"}, cohort="phantom", tracer="fdg",
            split="test", quality="HQ",
        ))
    return write_manifest(records, folder / "manifest.jsonl")
