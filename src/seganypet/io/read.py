"""One entry point per kind of input: ``read_pet`` for scans, ``read_label_map``/``read_mask`` for masks.

File formats are chosen from the path: a folder is a DICOM series; ``.nii``/``.nii.gz`` go
through nibabel; ``.nrrd``/``.nhdr``/``.mha``/``.mhd`` through SimpleITK; a single DICOM
file as a mask is a DICOM-SEG or an RTSTRUCT.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, time
from pathlib import Path

import numpy as np
import pydicom

from seganypet.errors import InputError
from seganypet.io.dicom import read_dicom_pet
from seganypet.io.grid import reorient_to
from seganypet.io.itk import read_itk
from seganypet.io.labels import label_dtype, read_label_names
from seganypet.io.limits import MAX_PLAUSIBLE_SUV
from seganypet.io.nifti import read_nifti
from seganypet.io.pet_header import HeaderOverrides
from seganypet.io.rtstruct import read_rtstruct_mask
from seganypet.volume import Volume

__all__ = ["read_image_file", "read_label_map", "read_mask", "read_pet"]

logger = logging.getLogger(__name__)

_NIFTI = (".nii", ".nii.gz")
_ITK = (".nrrd", ".nhdr", ".mha", ".mhd")


def read_pet(path: str | os.PathLike[str], *, weight_kg: float | None = None, dose_bq: float | None = None,
             injection_time: time | datetime | None = None, half_life_s: float | None = None,
             height_m: float | None = None, sex: str | None = None, sul: bool = False,
             series_uid: str | None = None, unit: str = "SUVbw") -> Volume:
    """Read a PET scan as a Volume ``(I, J, K)`` float32 in SUV.

    A DICOM folder is converted to SUVbw (``sul=True``: SUL) by the QIBA rules; the keyword
    values replace missing or wrong header tags and are recorded in ``meta["suv"]``. An image
    file (NIfTI/NRRD/MHA) is taken to hold ``unit`` already (autoPET-style ``SUV.nii.gz``).
    """
    path = Path(path)
    if path.is_dir():
        overrides = HeaderOverrides(weight_kg=weight_kg, dose_bq=dose_bq, injection_time=injection_time,
                                    half_life_s=half_life_s, height_m=height_m, sex=sex)
        return read_dicom_pet(path, overrides, sul=sul, series_uid=series_uid)
    given = {"weight_kg": weight_kg, "dose_bq": dose_bq, "injection_time": injection_time,
             "half_life_s": half_life_s, "height_m": height_m, "sex": sex}
    ignored = sorted(name for name, value in given.items() if value is not None)
    if ignored or sul:
        logger.warning("%s is an image file, already in %s: %s ignored (they apply to DICOM input)",
                       path, unit, ", ".join(ignored + ["sul"] * sul))
    volume = read_image_file(path, unit)
    array = volume.array.astype(np.float32, copy=False)
    if np.nanmax(array) > MAX_PLAUSIBLE_SUV:
        logger.warning("%s has values up to %.4g, implausible for %s: is it in Bq/ml? Convert the "
                       "DICOM series with `seganypet suv` instead", path, float(array.max()), unit)
    meta = {"suv": {"method": "from file", "unit": unit}, "source": str(path)}
    return Volume(array, volume.affine, unit, meta)


def read_image_file(path: str | os.PathLike[str], unit: str = "") -> Volume:
    """A NIfTI / NRRD / MHA file as a Volume (values unchanged)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    name = path.name.lower()
    if name.endswith(_NIFTI):
        return read_nifti(path, unit)
    if name.endswith(_ITK):
        return read_itk(path, unit)
    raise InputError(f"{path}: unsupported image format; give a DICOM series folder or a "
                     ".nii/.nii.gz/.nrrd/.mha file")


def read_label_map(path: str | os.PathLike[str], reference: Volume | None = None,
                   roi: str | None = None) -> Volume:
    """Read integer labels (NIfTI/NRRD/MHA + JSON sidecar, DICOM-SEG, or RTSTRUCT ``roi``).

    With ``reference`` the result is on the reference grid (re-indexed exactly, never
    resampled; InputError when the grids differ). RTSTRUCT needs ``reference`` and ``roi``.
    ``meta["label_names"]`` maps label id -> name.
    """
    path = Path(path)
    if path.is_file() and _dicom_modality(path) is not None:
        return _read_dicom_labels(path, _dicom_modality(path), reference, roi)
    volume = read_image_file(path, "label")
    dtype = label_dtype(volume.array)
    labels = Volume(volume.array.astype(dtype), volume.affine, "label",
                    {"label_names": read_label_names(path), "source": str(path)})
    return labels if reference is None else reorient_to(labels, reference)


def read_mask(path: str | os.PathLike[str], reference: Volume | None = None,
              roi: str | None = None) -> Volume:
    """Like ``read_label_map`` but binary: uint8 1 wherever any label is present."""
    labels = read_label_map(path, reference, roi)
    return labels.with_array((labels.array != 0).astype(np.uint8), unit="label")


def _dicom_modality(path: Path) -> str | None:
    """The Modality of a DICOM file, or None when it is not DICOM."""
    if path.name.lower().endswith(_NIFTI + _ITK):
        return None
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["Modality"])
    except Exception:  # noqa: BLE001 -- not DICOM (or unreadable): the image readers report it
        return None
    return str(ds.get("Modality", ""))


def _read_dicom_labels(path: Path, modality: str | None, reference: Volume | None,
                       roi: str | None) -> Volume:
    if modality == "SEG":
        # Imported here: highdicom costs ~0.4 s to import and only SEG files need it.
        from seganypet.io.dicom_seg import read_dicom_seg

        return read_dicom_seg(path, reference)
    if modality == "RTSTRUCT":
        if reference is None or roi is None:
            raise InputError(f"{path} is an RTSTRUCT: give the image it was drawn on and the ROI "
                             "name to rasterise it")
        mask = read_rtstruct_mask(path, reference, roi)
        return Volume(mask.array, mask.affine, "label", {"label_names": {1: roi}, "source": str(path)})
    raise InputError(f"{path} is a DICOM {modality or 'file'}, not a mask; give a DICOM-SEG, "
                     "an RTSTRUCT or a NIfTI/NRRD/MHA label map")
