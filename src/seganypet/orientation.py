"""Reorienting arrays to the closest RAS axis order (flips and permutations only) and back.

One helper for everything that needs patient-oriented arrays without resampling: previews,
the phantom gallery, the automatic baseline's whole-scan inference. Built on nibabel's
orientation tools; the grid's affine decides, so LPS, flipped and permuted scans all work.
"""

from __future__ import annotations

import nibabel.orientations as nio
import numpy as np

from seganypet.grid import Grid

__all__ = ["from_ras", "ras_index", "ras_spacing", "scan_index", "to_ras"]


def _ornt(grid: Grid) -> np.ndarray:
    """nibabel orientation ``(3, 2)``: storage axis ``n`` becomes RAS axis ``ornt[n, 0]``,
    flipped when ``ornt[n, 1] < 0``."""
    return nio.io_orientation(grid.affine)


def to_ras(grid: Grid, array: np.ndarray) -> np.ndarray:
    """``array`` on ``grid`` ``(I, J, K)`` reordered to the closest RAS axis order."""
    return nio.apply_orientation(array, _ornt(grid))


def from_ras(grid: Grid, array: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_ras`: an array in RAS order back to the grid's storage order."""
    identity = np.column_stack([np.arange(3), np.ones(3)])
    return np.ascontiguousarray(nio.apply_orientation(array, nio.ornt_transform(identity, _ornt(grid))))


def ras_spacing(grid: Grid) -> np.ndarray:
    """Voxel size ``(3,)`` in mm along the RAS-ordered axes of :func:`to_ras`."""
    return np.asarray(grid.spacing)[_ornt(grid)[:, 0].astype(int).argsort()]


def ras_index(grid: Grid, index: tuple[float, ...] | np.ndarray) -> np.ndarray:
    """A voxel index ``(3,)`` of the grid expressed in :func:`to_ras` order."""
    out = np.zeros(3)
    for src_axis, (dst_axis, flip) in enumerate(_ornt(grid).astype(int)):
        value = float(index[src_axis])
        out[dst_axis] = (grid.shape[src_axis] - 1 - value) if flip < 0 else value
    return out


def scan_index(grid: Grid, ras_index: tuple[float, ...] | np.ndarray) -> np.ndarray:
    """Inverse of :func:`ras_index`: a voxel index ``(3,)`` in RAS order as the grid's ``(i, j, k)``."""
    out = np.zeros(3)
    for src_axis, (dst_axis, flip) in enumerate(_ornt(grid).astype(int)):
        value = float(ras_index[dst_axis])
        out[src_axis] = (grid.shape[src_axis] - 1 - value) if flip < 0 else value
    return out
