"""Region statistics for comparing phantoms with real scans (uptake level and noise texture).

The liver statistics follow the PERCIST reference region: a ~3 cm volume well inside the
normal liver (Wahl RL et al. J Nucl Med 2009;50:122S). Texture is summarised by the
coefficient of variation and the neighbour (lag-1) autocorrelation along each axis, which is
high for smooth/correlated noise and near 0 for white noise.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from seganypet.volume import Volume

__all__ = ["box_stats", "deepest_point_mm", "organ_box_stats"]


def _lag1_autocorrelation(region: np.ndarray, axis: int) -> float:
    centred = region - region.mean()
    a = np.moveaxis(centred, axis, 0)
    denom = float(np.sum(centred * centred))
    return float(np.sum(a[1:] * a[:-1]) / denom) if denom > 0 else 0.0


def box_stats(volume: Volume, center_mm: np.ndarray | tuple[float, float, float],
              half_size_mm: float = 15.0) -> dict[str, float]:
    """Mean, std, CoV and lag-1 autocorrelation (along i, j, k) of the voxels whose centres lie
    in the axis-aligned world box ``center ± half_size_mm``."""
    centre = np.asarray(center_mm, dtype=float)
    corners = np.array([[centre + half_size_mm * np.array(s)] for s in
                        np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T])[:, 0]
    idx = volume.world_to_index(corners)
    lo = np.clip(np.ceil(idx.min(axis=0) - 1e-6).astype(int), 0, None)
    hi = np.minimum(np.floor(idx.max(axis=0) + 1e-6).astype(int) + 1, volume.shape)
    region = np.asarray(volume.array[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]], dtype=np.float64)
    if region.size == 0:
        raise ValueError(f"box around {centre.tolist()} mm lies outside the image")
    mean, std = float(region.mean()), float(region.std())
    stats = {"mean": mean, "std": std, "cov": std / mean if mean else float("nan"),
             "voxels": float(region.size)}
    for axis, name in enumerate("ijk"):
        stats[f"autocorr_{name}"] = _lag1_autocorrelation(region, axis)
    return stats


def deepest_point_mm(mask: Volume) -> np.ndarray:
    """RAS mm of the mask voxel farthest from the mask's boundary (in mm)."""
    array = np.asarray(mask.array, dtype=bool)
    if not array.any():
        raise ValueError("empty mask")
    box = ndimage.find_objects(array.astype(np.uint8))[0]
    padded = np.pad(array[box], 1)
    distance = ndimage.distance_transform_edt(padded, sampling=mask.spacing)
    local = np.unravel_index(int(np.argmax(distance)), distance.shape)
    index = np.array([s.start for s in box]) + np.asarray(local) - 1
    return mask.index_to_world(index)


def organ_box_stats(suv: Volume, label: Volume, organ_id: int,
                    half_size_mm: float = 15.0) -> dict[str, float]:
    """``box_stats`` in a box at the deepest point of organ ``organ_id`` of ``label``."""
    centre = deepest_point_mm(label.with_array(label.array == organ_id))
    return {**box_stats(suv, centre, half_size_mm), "center_mm": centre.round(1).tolist()}
