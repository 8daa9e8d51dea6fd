"""From patch logits back to the scan: merging overlapping patches and pasting onto any grid.

Each model patch produces low-resolution logits ``(L, L, L)`` on a world-aligned
:class:`~seganypet.preprocess.PatchGrid`. A :class:`LogitTile` pairs them with that grid.
Several tiles (the sliding-window extension of a large target) are merged by a weighted
mean of logits, the weights being MONAI's Gaussian importance map, so patch borders — where
the model sees the least context — count least. Values are sampled directly at the target
voxel centres through the composed affines (one trilinear interpolation, no intermediate
128³ upsampling), which is what makes paste-back exact for any orientation and spacing.

Why not ``monai.inferers.sliding_window_inference``: it scans a fixed regular grid over the
whole image with one predictor call per window; here windows are added one by one where the
mask reaches a patch border, each with its own prompts, so only the importance map is reused.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cc3d
import numpy as np
from scipy import ndimage

from seganypet.preprocess import PatchGrid
from seganypet.volume import Volume

__all__ = [
    "GridBox",
    "LogitTile",
    "keep_components_with_seeds",
    "merge_logits",
    "paste_mask",
    "volume_box",
]


@dataclass(frozen=True, eq=False)
class LogitTile:
    """Low-res logits ``(L, L, L)`` float32 on ``grid`` (a :class:`PatchGrid` with ``size == L``)."""

    grid: PatchGrid
    logits: np.ndarray


@dataclass(frozen=True, eq=False)
class GridBox:
    """A box of voxels of some grid: index -> RAS ``affine`` of voxel (0,0,0) of the box, ``shape``."""

    affine: np.ndarray
    shape: tuple[int, int, int]


def volume_box(volume: Volume, lo: np.ndarray | None = None, hi: np.ndarray | None = None) -> GridBox:
    """The sub-box ``[lo, hi)`` of a volume's grid (the whole grid by default)."""
    lo = np.zeros(3, int) if lo is None else np.asarray(lo, int)
    hi = np.asarray(volume.shape) if hi is None else np.asarray(hi, int)
    affine = volume.affine.copy()
    affine[:3, 3] = volume.index_to_world(lo)
    return GridBox(affine, tuple(int(v) for v in hi - lo))  # type: ignore[arg-type]


def tile_bbox_in_volume(tile: LogitTile, volume: Volume) -> tuple[np.ndarray, np.ndarray]:
    """Voxel box ``[lo, hi)`` of ``volume`` covering the tile's cube, clipped to the volume."""
    edge = tile.grid.size - 0.5
    corners = np.array([[a, b, c] for a in (-0.5, edge) for b in (-0.5, edge) for c in (-0.5, edge)])
    idx = volume.world_to_index(tile.grid.index_to_world(corners))
    lo = np.clip(np.floor(idx.min(0)).astype(int), 0, volume.shape)
    hi = np.clip(np.ceil(idx.max(0)).astype(int) + 1, 0, volume.shape)
    return lo, hi


@lru_cache(maxsize=8)
def _importance_map(size: int) -> np.ndarray:
    """Gaussian importance map of a cube of ``size``, max 1, floored at 1e-3 of the max.

    The same definition as MONAI's ``compute_importance_map(mode="gaussian",
    sigma_scale=0.125)`` (sigma = size / 8, centred on the cube); written out here because
    importing MONAI costs ~3 s, which would dominate a CLI click.
    """
    axis = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    profile = np.exp(-0.5 * (axis / (0.125 * size)) ** 2)
    weights = profile[:, None, None] * profile[None, :, None] * profile[None, None, :]
    return np.maximum(weights / weights.max(), 1e-3).astype(np.float32)


def _tile_coords(tile: LogitTile, box: GridBox) -> np.ndarray:
    """Fractional tile indices of every box voxel centre, ``(3, *box.shape)``."""
    box_to_tile = np.linalg.inv(tile.grid.affine) @ box.affine
    lin, off = box_to_tile[:3, :3], box_to_tile[:3, 3]
    axes = [np.arange(n, dtype=np.float64) for n in box.shape]
    return (
        lin[:, 0, None, None, None] * axes[0][None, :, None, None]
        + lin[:, 1, None, None, None] * axes[1][None, None, :, None]
        + lin[:, 2, None, None, None] * axes[2][None, None, None, :]
        + off[:, None, None, None]
    )


def merge_logits(tiles: list[LogitTile], box: GridBox, fill: float = -20.0) -> np.ndarray:
    """Weighted-mean logits of all tiles at the box's voxel centres, ``box.shape`` float32.

    A voxel covered by no tile gets ``fill`` (a confident "background").
    Inside a tile, logits are interpolated trilinearly with edge clamping, the same values
    ``F.interpolate(..., mode="trilinear", align_corners=False)`` gives on the patch grid.
    """
    total = np.zeros(box.shape, np.float32)
    weight = np.zeros(box.shape, np.float32)
    for tile in tiles:
        coords = _tile_coords(tile, box)
        size = tile.grid.size
        inside = np.all((coords >= -0.5) & (coords <= size - 0.5), axis=0)
        if not inside.any():
            continue
        pts = coords[:, inside]
        values = ndimage.map_coordinates(tile.logits.astype(np.float32, copy=False), pts,
                                         order=1, mode="nearest", prefilter=False)
        w = ndimage.map_coordinates(_importance_map(size), pts, order=1, mode="nearest",
                                    prefilter=False)
        total[inside] += w * values
        weight[inside] += w
    covered = weight > 0
    out = np.full(box.shape, fill, np.float32)
    out[covered] = total[covered] / weight[covered]
    return out


def keep_components_with_seeds(mask: np.ndarray, seeds: list[tuple[int, int, int]]) -> np.ndarray:
    """Keep the 26-connected components of ``mask`` that contain a seed voxel.

    When no seed lies inside the mask the mask is returned unchanged (the model's answer is
    kept rather than erased).
    """
    if not mask.any() or not seeds:
        return mask
    labels = cc3d.connected_components(mask.astype(np.uint8), connectivity=26)
    keep = {int(labels[s]) for s in seeds if labels[s] > 0}
    if not keep:
        return mask
    return np.isin(labels, list(keep))


def paste_mask(tiles: list[LogitTile], volume: Volume, threshold: float = 0.0
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binary mask of the merged tiles on the volume's grid, computed only in their bounding box.

    Returns:
        ``(mask_box uint8, lo, hi)``: the mask inside the voxel box ``[lo, hi)`` of the volume.
    """
    if not tiles:
        zero = np.zeros(3, int)
        return np.zeros((0, 0, 0), np.uint8), zero, zero
    boxes = [tile_bbox_in_volume(t, volume) for t in tiles]
    lo = np.min([b[0] for b in boxes], axis=0)
    hi = np.max([b[1] for b in boxes], axis=0)
    logits = merge_logits(tiles, volume_box(volume, lo, hi))
    return (logits > threshold).astype(np.uint8), lo, hi
