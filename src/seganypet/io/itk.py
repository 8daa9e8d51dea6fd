"""SimpleITK images (NRRD, MHA/MHD, ...) <-> Volume.

SimpleITK and DICOM pixel stacks are ``(z, y, x)`` = ``(k, j, i)``; ``zyx_to_ijk`` is the one
place that order is turned into the package's ``(i, j, k)`` (and back for writing). ITK's
geometry is LPS; the Volume affine is RAS, so both conversions go through ``RAS_TO_LPS``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from seganypet.io.atomic import atomic_path
from seganypet.io.limits import check_header
from seganypet.volume import RAS_TO_LPS, InvalidVolumeError, Volume

__all__ = ["ijk_to_zyx", "read_itk", "sitk_to_volume", "volume_to_sitk", "write_itk", "zyx_to_ijk"]


def zyx_to_ijk(array: np.ndarray) -> np.ndarray:
    """``(K, J, I)`` slice stack (SimpleITK / DICOM order) -> ``(I, J, K)`` voxel-index order."""
    return np.ascontiguousarray(np.transpose(array, (2, 1, 0)))


def ijk_to_zyx(array: np.ndarray) -> np.ndarray:
    """``(I, J, K)`` -> ``(K, J, I)``, the inverse of ``zyx_to_ijk``."""
    return np.ascontiguousarray(np.transpose(array, (2, 1, 0)))


def sitk_to_volume(image: sitk.Image, unit: str = "", source: str = "image") -> Volume:
    """A 3D scalar SimpleITK image -> Volume (values kept, geometry LPS -> RAS)."""
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InvalidVolumeError(f"{source} has {image.GetNumberOfComponentsPerPixel()} values per "
                                 "voxel (colour or vector image); a scalar 3D scan is required")
    if image.GetDimension() == 4 and image.GetSize()[3] == 1:
        image = image[:, :, :, 0]
    if image.GetDimension() != 3:
        raise InvalidVolumeError(f"{source} is a {image.GetDimension()}D image of size "
                                 f"{image.GetSize()}; a 3D scan is required")
    direction = np.asarray(image.GetDirection(), dtype=np.float64).reshape(3, 3)
    affine_lps = np.eye(4)
    affine_lps[:3, :3] = direction @ np.diag(image.GetSpacing())
    affine_lps[:3, 3] = image.GetOrigin()
    array = zyx_to_ijk(sitk.GetArrayFromImage(image))
    return Volume(array, RAS_TO_LPS @ affine_lps, unit)


def volume_to_sitk(volume: Volume, dtype: np.dtype | type | None = None) -> sitk.Image:
    """Volume -> SimpleITK image on the same world grid (LPS geometry)."""
    array = volume.array if dtype is None else volume.array.astype(dtype)
    image = sitk.GetImageFromArray(ijk_to_zyx(array))
    affine_lps = RAS_TO_LPS @ volume.affine
    spacing = np.linalg.norm(affine_lps[:3, :3], axis=0)
    image.SetSpacing(tuple(float(s) for s in spacing))
    image.SetDirection(tuple(float(v) for v in (affine_lps[:3, :3] / spacing).ravel()))
    image.SetOrigin(tuple(float(v) for v in affine_lps[:3, 3]))
    return image


def read_itk(path: str | os.PathLike[str], unit: str = "") -> Volume:
    """Read NRRD / MHA / MHD (anything SimpleITK reads) as a float32 or integer Volume."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        reader = sitk.ImageFileReader()
        reader.SetFileName(str(path))
        reader.ReadImageInformation()  # the header only, to check the size first
        check_header(str(path), reader.GetSize(), _numpy_dtype(reader.GetPixelID()),
                     reader.GetNumberOfComponents())
        image = reader.Execute()
    except RuntimeError as exc:  # SimpleITK reports corrupt files as RuntimeError
        first_line = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
        raise InvalidVolumeError(f"cannot read {path} as an image: {first_line}") from exc
    volume = sitk_to_volume(image, unit, source=str(path))
    array = volume.array
    if np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32, copy=False)
        if not np.all(np.isfinite(array)):
            raise InvalidVolumeError(f"{path} contains NaN or infinite values")
    return Volume(array, volume.affine, unit)


def _numpy_dtype(pixel_id: int) -> np.dtype | None:
    """The element type of a SimpleITK pixel id (complex ids map to numpy complex)."""
    if pixel_id in (sitk.sitkComplexFloat32, sitk.sitkComplexFloat64):
        return np.dtype(np.complex64)
    try:
        return np.dtype(sitk.GetArrayViewFromImage(sitk.Image([1, 1], pixel_id)).dtype)
    except (RuntimeError, TypeError):
        return None


def write_itk(volume: Volume, path: str | os.PathLike[str], dtype: np.dtype | type | None = None) -> Path:
    """Write a Volume with SimpleITK (format from the suffix: .nrrd, .mha, ...), atomically."""
    path = Path(path)
    if path.suffix.lower() in (".mhd", ".hdr"):
        # Two-file formats name their data file after the temporary file; refuse them.
        raise InvalidVolumeError(f"cannot write {path.name}: use a single-file format (.mha, .nrrd, .nii.gz)")
    with atomic_path(path) as tmp:
        sitk.WriteImage(volume_to_sitk(volume, dtype), str(tmp), useCompression=True)
    return path
