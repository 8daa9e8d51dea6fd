"""RTSTRUCT ROI contours -> a binary mask on an image's grid (expert contours as ground truth).

Each CLOSED_PLANAR contour (LPS mm) is mapped to fractional voxel indices of the reference
grid; its plane must coincide with one slice (k). The polygon is filled with matplotlib's
``Path.contains_points`` at voxel centres: matplotlib is already a dependency, its
even-odd point-in-polygon test is exact for concave outlines, and no rasteriser in the kept
libraries (SimpleITK, scipy) fills polygons. Several contours on one slice are combined by
exclusive-or, the usual RTSTRUCT convention for holes (an inner contour cuts out).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pydicom
from matplotlib.path import Path as PolygonPath
from pydicom.dataset import Dataset

from seganypet.errors import InputError
from seganypet.volume import Volume

__all__ = ["read_rtstruct_mask", "rtstruct_roi_names"]

# A contour plane may sit this far (in slices) from a voxel-centre plane and still be that slice.
_PLANE_TOLERANCE = 0.25


def rtstruct_roi_names(path: str | os.PathLike[str]) -> list[str]:
    """ROI names of an RTSTRUCT file, in file order."""
    ds = _read_rtstruct(Path(path))
    return [str(roi.ROIName) for roi in ds.get("StructureSetROISequence", [])]


def read_rtstruct_mask(path: str | os.PathLike[str], reference: Volume, roi: str) -> Volume:
    """Rasterise ROI ``roi`` of an RTSTRUCT onto ``reference``'s grid.

    Returns:
        uint8 0/1 Volume ``(I, J, K)`` on the reference affine, ``meta["roi"]`` = roi name.
    """
    path = Path(path)
    ds = _read_rtstruct(path)
    number = _roi_number(ds, roi, path)
    contours = _roi_contours(ds, number, roi, path)
    mask = np.zeros(reference.shape, dtype=bool)
    for points_lps in contours:
        _fill_contour(mask, reference, points_lps, roi)
    return Volume(mask.astype(np.uint8), reference.affine.copy(), "label",
                  {"roi": roi, "source": str(path)})


def _read_rtstruct(path: Path) -> Dataset:
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        ds = pydicom.dcmread(path)
    except Exception as exc:  # pydicom raises many types for corrupt files
        raise InputError(f"cannot read {path} as DICOM: {exc}") from exc
    if str(ds.get("Modality", "")) != "RTSTRUCT":
        raise InputError(f"{path} is not an RTSTRUCT (Modality {ds.get('Modality', 'missing')})")
    return ds


def _roi_number(ds: Dataset, roi: str, path: Path) -> int:
    names = {}
    for item in ds.get("StructureSetROISequence", []):
        names[str(item.ROIName)] = int(item.ROINumber)
    if roi not in names:
        raise InputError(f"{path} has no ROI named {roi!r}; ROIs: {', '.join(names) or 'none'}")
    return names[roi]


def _roi_contours(ds: Dataset, number: int, roi: str, path: Path) -> list[np.ndarray]:
    """``(N, 3)`` LPS point arrays of the ROI's closed planar contours."""
    for item in ds.get("ROIContourSequence", []):
        if int(item.ReferencedROINumber) != number:
            continue
        contours = []
        for contour in item.get("ContourSequence", []):
            kind = str(contour.get("ContourGeometricType", "CLOSED_PLANAR"))
            if kind == "POINT":
                continue  # markers carry no area
            if kind not in ("CLOSED_PLANAR", "CLOSEDPLANAR_XOR"):
                raise InputError(f"ROI {roi!r} has {kind} contours; only closed planar contours fill")
            contours.append(np.asarray(contour.ContourData, dtype=np.float64).reshape(-1, 3))
        if contours:
            return contours
    raise InputError(f"ROI {roi!r} in {path} has no contours")


def _fill_contour(mask: np.ndarray, reference: Volume, points_lps: np.ndarray, roi: str) -> None:
    """XOR the polygon's interior into ``mask[:, :, k]`` of its slice (in place)."""
    index = reference.lps_to_index(points_lps)  # (N, 3) fractional (i, j, k)
    k_values = index[:, 2]
    k = int(np.rint(k_values.mean()))
    if np.ptp(k_values) > 2 * _PLANE_TOLERANCE or abs(k_values.mean() - k) > _PLANE_TOLERANCE:
        raise InputError(f"ROI {roi!r} has contours that do not lie on the image's slices "
                         "(drawn on another grid or orientation); resample the image to the "
                         "contours' grid")
    if not 0 <= k < mask.shape[2]:
        return  # contour outside the image's slab
    polygon = PolygonPath(index[:, :2], closed=False)
    low = np.maximum(np.floor(index[:, :2].min(axis=0)).astype(int), 0)
    high = np.minimum(np.ceil(index[:, :2].max(axis=0)).astype(int) + 1, mask.shape[:2])
    if np.any(high <= low):
        return
    ii, jj = np.meshgrid(np.arange(low[0], high[0]), np.arange(low[1], high[1]), indexing="ij")
    centres = np.stack([ii.ravel(), jj.ravel()], axis=1)  # (M, 2) voxel centres of the bbox
    inside = polygon.contains_points(centres).reshape(ii.shape)
    mask[low[0]:high[0], low[1]:high[1], k] ^= inside
