"""Write a Volume to an image file, choosing the library from the suffix."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from seganypet.errors import InputError
from seganypet.io.itk import write_itk
from seganypet.io.nifti import write_nifti
from seganypet.io.outputs import IMAGE_SUFFIXES
from seganypet.volume import Volume

__all__ = ["write_image"]

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def write_image(volume: Volume, path: str | os.PathLike[str], dtype: np.dtype | type | None = None) -> Path:
    """``.nii``/``.nii.gz`` with nibabel, ``.nrrd``/``.mha`` with SimpleITK; same grid, atomic."""
    path = Path(path)
    if not path.name.lower().endswith(IMAGE_SUFFIXES):
        # SimpleITK would also write .png/.jpg: one 2D slice of a 3D scan, silently.
        raise InputError(f"cannot write {path.name} as a 3D image; give a name ending in "
                         f"{' or '.join(IMAGE_SUFFIXES)}")
    if path.name.lower().endswith(NIFTI_SUFFIXES):
        return write_nifti(volume, path, dtype)
    return write_itk(volume, path, dtype)
