"""A DICOM PET series folder -> Volume in SUVbw (or SUL), with the conversion recorded.

``Volume.meta["suv"]`` holds the conversion parameters (weight, dose, times, factor, method,
overrides); ``Volume.meta["dicom"]`` the sorted source files and UIDs that DICOM-SEG export
references.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from seganypet.errors import InputError
from seganypet.io.dicom_geometry import series_geometry
from seganypet.io.itk import zyx_to_ijk
from seganypet.io.limits import MAX_PLAUSIBLE_SUV, check_header
from seganypet.io.pet_header import (
    HeaderOverrides,
    PetHeader,
    apply_overrides,
    pet_headers_from_series,
)
from seganypet.io.suv import SuvConversion, sul_ratio, suv_factor
from seganypet.volume import Volume

__all__ = ["read_dicom_files", "read_dicom_pet", "select_series"]

logger = logging.getLogger(__name__)

PET_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.128"


def read_dicom_pet(directory: str | os.PathLike[str], overrides: HeaderOverrides | None = None, *,
                   sul: bool = False, series_uid: str | None = None) -> Volume:
    """Read one PET series from a folder and convert it to SUVbw (``sul=True``: SUL).

    Returns:
        Volume with array ``(I, J, K)`` = (column, row, slice) float32, RAS affine, unit
        ``"SUVbw"`` or ``"SUL"``; ``meta["suv"]`` and ``meta["dicom"]`` as described above.
    """
    directory = Path(directory)
    datasets, paths = select_series(read_dicom_files(directory), series_uid, directory)
    check_header(str(directory), (int(datasets[0].get("Columns", 0) or 0),
                                  int(datasets[0].get("Rows", 0) or 0), len(datasets)), None)
    geometry = series_geometry(datasets)
    datasets = [datasets[i] for i in geometry.order]
    paths = [paths[i] for i in geometry.order]
    headers = [apply_overrides(h, overrides or HeaderOverrides()) for h in pet_headers_from_series(datasets)]
    conversions = _conversions(headers)
    factors = np.array([c.factor for c in conversions])
    suv_meta = conversions[0].as_dict()
    unit = "SUVbw"
    if sul:
        ratio = sul_ratio(headers[0].weight_kg or 0.0, headers[0].height_m or 0.0, headers[0].sex or "")
        factors = factors * ratio
        suv_meta.update(sul_ratio=ratio, height_m=headers[0].height_m, sex=headers[0].sex)
        unit = "SUL"
    if len(set(factors.tolist())) > 1:
        suv_meta["factor_per_slice"] = factors.tolist()
    suv_meta["unit"] = unit
    stack = np.stack([_rescaled_pixels(ds, path) * f for ds, path, f in zip(datasets, paths, factors)])
    array = zyx_to_ijk(stack.astype(np.float32))
    if not np.all(np.isfinite(array)):
        raise InputError(f"{directory} yields NaN or infinite SUV values; the pixel data is corrupt")
    if array.size and float(array.max()) > MAX_PLAUSIBLE_SUV:
        logger.warning("%s: %s max %.4g is implausible (> %g); check the weight, dose and "
                       "injection time used (%s)", directory, unit, float(array.max()),
                       MAX_PLAUSIBLE_SUV, ", ".join(f"{k}={suv_meta.get(k)}" for k in
                                                    ("weight_kg", "injected_dose_bq",
                                                     "decay_time_s")))
    meta = {"suv": suv_meta, "dicom": _dicom_meta(datasets, paths), "source": str(directory)}
    logger.info("read %d PET slices from %s, SUV factor %.6g (%s)", len(datasets), directory,
                factors[0], suv_meta["method"])
    return Volume(array, geometry.affine, unit, meta)


def read_dicom_files(directory: Path) -> list[tuple[Path, Dataset]]:
    """Every DICOM file under ``directory`` (recursively); non-DICOM files are skipped."""
    if not directory.is_dir():
        raise NotADirectoryError(f"not a folder: {directory}")
    found = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        try:
            found.append((path, pydicom.dcmread(path)))
        except InvalidDicomError:
            logger.debug("skipping non-DICOM file %s", path)
        except Exception as exc:  # pydicom raises many types on truncated files
            raise InputError(f"cannot read DICOM file {path}: {exc} (truncated or corrupt?)") from exc
    if not found:
        raise InputError(f"no DICOM files found in {directory}")
    return found


def select_series(files: Sequence[tuple[Path, Dataset]], series_uid: str | None,
                  directory: Path) -> tuple[list[Dataset], list[Path]]:
    """The single PET image series among ``files`` (other objects such as RTSTRUCT are ignored)."""
    series: dict[str, list[tuple[Path, Dataset]]] = defaultdict(list)
    for path, ds in files:
        if "PixelData" in ds:
            series[str(ds.get("SeriesInstanceUID", ""))].append((path, ds))
    pet = {uid: members for uid, members in series.items() if _is_pet(members[0][1])}
    if series_uid is not None:
        pet = {uid: members for uid, members in pet.items() if uid == series_uid}
    if not pet:
        modalities = sorted({str(ds.get("Modality", "?")) for _, ds in files})
        raise InputError(f"{directory} holds no PET image series (Modality {', '.join(modalities)}); "
                         "give the folder of a PET series (Modality PT)")
    if len(pet) > 1:
        raise InputError(f"{directory} holds {len(pet)} PET series ({', '.join(sorted(pet))}); give "
                         "the folder of one series or pass series_uid")
    uid, members = next(iter(pet.items()))
    ignored = len(files) - len(members)
    if ignored:
        logger.info("using PET series %s; ignoring %d other DICOM file(s)", uid, ignored)
    for path, ds in members:
        if int(ds.get("NumberOfFrames", 1) or 1) > 1:
            raise InputError(f"{path} is a multi-frame (Enhanced PET) image, which is not supported; "
                             "export the series as single-frame PET images")
    return [ds for _, ds in members], [path for path, _ in members]


def _is_pet(ds: Dataset) -> bool:
    return str(ds.get("Modality", "")) == "PT" or str(ds.get("SOPClassUID", "")) == PET_SOP_CLASS


def _conversions(headers: Sequence[PetHeader]) -> list[SuvConversion]:
    """One conversion per slice; computed once per distinct header (usually exactly once)."""
    cache: dict[PetHeader, SuvConversion] = {}
    for header in headers:
        if header not in cache:
            cache[header] = suv_factor(header)
    return [cache[header] for header in headers]


def _rescaled_pixels(ds: Dataset, path: Path) -> np.ndarray:
    """``(rows, columns)`` stored * RescaleSlope + RescaleIntercept of this slice (float64)."""
    try:
        stored = ds.pixel_array
    except Exception as exc:  # truncated or undecodable pixel data
        raise InputError(f"cannot decode the pixels of {path}: {exc}") from exc
    if stored.ndim != 2:
        raise InputError(f"{path} holds a {stored.ndim}D pixel array; single-frame slices are required")
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    return stored.astype(np.float64) * slope + intercept


def _dicom_meta(datasets: Sequence[Dataset], paths: Sequence[Path]) -> dict[str, object]:
    first = datasets[0]
    return {
        "files": [str(p.resolve()) for p in paths],  # sorted like the k axis; absolute for SEG export
        "sop_instance_uids": [str(ds.SOPInstanceUID) for ds in datasets],
        "series_instance_uid": str(first.get("SeriesInstanceUID", "")),
        "study_instance_uid": str(first.get("StudyInstanceUID", "")),
        "frame_of_reference_uid": str(first.get("FrameOfReferenceUID", "")),
        "manufacturer": str(first.get("Manufacturer", "")),
    }
