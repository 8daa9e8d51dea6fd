"""NIfTI <-> Volume with nibabel. The affine is always kept (sform preferred, as nibabel does)."""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import numpy as np

from seganypet.io.atomic import atomic_path
from seganypet.io.limits import check_header
from seganypet.volume import InvalidVolumeError, Volume

__all__ = ["read_nifti", "write_nifti"]


def read_nifti(path: str | os.PathLike[str], unit: str = "") -> Volume:
    """Read a 3D NIfTI file into a Volume (array in nibabel's (i, j, k) order, float32 or ints).

    A trailing singleton 4th axis is squeezed; anything else that is not 3D is refused.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        img = nib.load(str(path))  # the header only; voxels are read below
    except Exception as exc:  # nibabel raises many types for corrupt/truncated files
        raise InvalidVolumeError(f"cannot read {path} as NIfTI: {exc}") from exc
    check_header(str(path), img.shape, img.get_data_dtype())
    if not (len(img.shape) == 3 or (len(img.shape) == 4 and img.shape[3] == 1)):
        raise InvalidVolumeError(
            f"{path} is a {len(img.shape)}D image of shape {img.shape}; a 3D scan is required"
        )
    try:
        data = np.asanyarray(img.dataobj)
    except Exception as exc:  # truncated or corrupt voxel data
        raise InvalidVolumeError(f"cannot read {path} as NIfTI: {exc}") from exc
    if data.ndim == 4:
        data = data[..., 0]
    scaled = getattr(img.dataobj, "slope", 1.0) != 1.0 or getattr(img.dataobj, "inter", 0.0) != 0.0
    if scaled or np.issubdtype(data.dtype, np.floating):
        data = np.asarray(img.get_fdata(dtype=np.float32)).reshape(data.shape)
        if not np.all(np.isfinite(data)):
            raise InvalidVolumeError(f"{path} contains NaN or infinite values")
    return Volume(np.asarray(data), img.affine, unit)


def write_nifti(volume: Volume, path: str | os.PathLike[str], dtype: np.dtype | type | None = None) -> Path:
    """Write a Volume as NIfTI on its exact grid (sform and qform both set to its affine), atomically."""
    path = Path(path)
    array = volume.array if dtype is None else volume.array.astype(dtype)
    img = nib.Nifti1Image(array, volume.affine)
    img.set_sform(volume.affine, code=1)
    img.set_qform(volume.affine, code=1)
    with atomic_path(path) as tmp:
        nib.save(img, str(tmp))
    return path
