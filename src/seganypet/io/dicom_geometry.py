"""Geometry of a single-frame DICOM image series: slice order and the voxel -> RAS affine.

Slices are sorted by their position along the slice normal (row cosine x column cosine),
never by InstanceNumber or file name. The voxel index is ``(i, j, k)`` = (column, row,
slice), so the affine's columns are the row direction * column spacing, the column
direction * row spacing, and the step between consecutive sorted slices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from seganypet.errors import InputError
from seganypet.volume import RAS_TO_LPS

__all__ = ["SeriesGeometry", "series_geometry"]

# Relative slice-step tolerance: GE stacks wobble by ~0.08 mm of 3.27 mm; a missing slice
# doubles one step and is caught.
_STEP_TOLERANCE = 0.1


@dataclass(frozen=True)
class SeriesGeometry:
    """``order``: dataset indices sorted along the slice normal; ``affine``: (i, j, k) -> RAS mm."""

    order: tuple[int, ...]
    affine: np.ndarray
    shape: tuple[int, int, int]


def series_geometry(datasets: Sequence[Dataset]) -> SeriesGeometry:
    """Sort single-frame slices and build the RAS affine; refuse inconsistent stacks."""
    orientation = _common_value(datasets, "ImageOrientationPatient", 6, atol=1e-4)
    spacing_rc = _common_value(datasets, "PixelSpacing", 2, atol=1e-4)
    rows, columns = _common_size(datasets)
    row_dir, col_dir = orientation[:3], orientation[3:]
    normal = np.cross(row_dir, col_dir)
    positions = np.array([_floats(ds, "ImagePositionPatient", 3) for ds in datasets])
    along = positions @ normal
    order = np.argsort(along, kind="stable")
    step = _slice_step(datasets, positions[order], along[order], normal)
    affine_lps = np.eye(4)
    affine_lps[:3, 0] = row_dir * spacing_rc[1]  # i: along a row, i.e. across columns
    affine_lps[:3, 1] = col_dir * spacing_rc[0]  # j: down the rows
    affine_lps[:3, 2] = step
    affine_lps[:3, 3] = positions[order[0]]
    return SeriesGeometry(tuple(int(i) for i in order), RAS_TO_LPS @ affine_lps,
                          (columns, rows, len(datasets)))


def _slice_step(datasets: Sequence[Dataset], sorted_positions: np.ndarray, sorted_along: np.ndarray,
                normal: np.ndarray) -> np.ndarray:
    """The LPS vector between consecutive slices (thickness along the normal for one slice)."""
    if len(sorted_along) == 1:
        thickness = float(datasets[0].get("SpacingBetweenSlices") or datasets[0].get("SliceThickness") or 1.0)
        return normal * thickness
    gaps = np.diff(sorted_along)
    if np.any(gaps < 1e-3):
        duplicates = int(np.sum(gaps < 1e-3))
        raise InputError(
            f"{duplicates} image(s) share a slice position with another: this looks like a dynamic "
            "or gated series, or several series in one folder; give a folder with one 3D frame"
        )
    mean_gap = (sorted_along[-1] - sorted_along[0]) / (len(sorted_along) - 1)
    if np.max(np.abs(gaps - mean_gap)) > _STEP_TOLERANCE * mean_gap:
        raise InputError(
            f"slices are unevenly spaced (steps {gaps.min():.2f}-{gaps.max():.2f} mm): slices are "
            "missing or the folder mixes series"
        )
    step = (sorted_positions[-1] - sorted_positions[0]) / (len(sorted_positions) - 1)
    if np.linalg.norm(step - normal * mean_gap) > _STEP_TOLERANCE * mean_gap:
        raise InputError("slice positions are sheared relative to the slice normal (gantry tilt); "
                         "resample the series to an orthogonal grid first")
    return step


def _floats(ds: Dataset, keyword: str, count: int) -> np.ndarray:
    value = ds.get(keyword)
    try:
        array = np.asarray([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        array = np.zeros(0)
    if array.shape != (count,) or not np.all(np.isfinite(array)):
        raise InputError(f"{keyword} is missing or malformed in {ds.get('SOPInstanceUID', 'an image')}: "
                         "the series has no usable geometry")
    return array


def _common_value(datasets: Sequence[Dataset], keyword: str, count: int, atol: float) -> np.ndarray:
    values = np.array([_floats(ds, keyword, count) for ds in datasets])
    if not np.allclose(values, values[0], atol=atol):
        raise InputError(f"{keyword} differs between images: the folder mixes series or orientations")
    return values[0]


def _common_size(datasets: Sequence[Dataset]) -> tuple[int, int]:
    sizes = {(int(ds.Rows), int(ds.Columns)) for ds in datasets}
    if len(sizes) != 1:
        raise InputError(f"images have different sizes {sorted(sizes)}: the folder mixes series")
    return sizes.pop()
