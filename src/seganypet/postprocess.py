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

from seganypet.grid import Grid
from seganypet.preprocess import PatchGrid
from seganypet.volume import Volume

__all__ = [
    "LogitTile",
    "keep_components_with_seeds",
    "merge_logits",
    "paste_mask",
]


@dataclass(frozen=True, eq=False)
class LogitTile:
    """Low-res logits ``(L, L, L)`` float32 on ``grid`` (a :class:`PatchGrid` with ``size == L``)."""

    grid: PatchGrid
    logits: np.ndarray


def positive_bbox_in_volume(tile: LogitTile, volume: Volume, threshold: float = 0.0
                            ) -> tuple[np.ndarray, np.ndarray] | None:
    """Voxel box of ``volume`` outside which the tile's interpolated logits are all <= threshold.

    Linear interpolation is a convex combination of the neighbouring cells, so a voxel can
    only exceed the threshold next to a cell that does: the cells above it, grown by one.
    """
    cells = np.argwhere(tile.logits > threshold)
    if cells.size == 0:
        return None
    lo_idx = np.maximum(cells.min(0) - 1, 0).astype(float)
    hi_idx = np.minimum(cells.max(0) + 1, tile.grid.size - 1).astype(float)
    return tile.grid.box_covering(volume.grid, lo_idx, hi_idx)


@lru_cache(maxsize=8)
def _importance_profile(size: int) -> np.ndarray:
    """1D Gaussian profile of the importance map (sigma = size / 8, max 1), ``(size,)``."""
    axis = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    profile = np.exp(-0.5 * (axis / (0.125 * size)) ** 2)
    return (profile / profile.max()).astype(np.float32)


@lru_cache(maxsize=8)
def _importance_map(size: int) -> np.ndarray:
    """Gaussian importance map of a cube of ``size``, max 1, floored at 1e-3 of the max.

    The same definition as MONAI's ``compute_importance_map(mode="gaussian",
    sigma_scale=0.125)`` (sigma = size / 8, centred on the cube); written out here because
    importing MONAI costs ~3 s, which would dominate a CLI click.
    """
    profile = _importance_profile(size)
    weights = profile[:, None, None] * profile[None, :, None] * profile[None, None, :]
    return np.maximum(weights, _MIN_WEIGHT)


# Floor of the importance weights: keeps every covered voxel's weight positive.
_MIN_WEIGHT = 1e-3


def _axis_permutation(box_to_tile: np.ndarray) -> np.ndarray | None:
    """For an axis-aligned box->tile map (scaling, flips, axis permutation: every scan whose
    axes are along RAS/LPS), ``perm[t]`` = the box axis that tile axis ``t`` follows."""
    lin = box_to_tile[:3, :3]
    nonzero = np.abs(lin) > 1e-9 * np.abs(lin).max()
    if not (np.all(nonzero.sum(axis=1) == 1) and np.all(nonzero.sum(axis=0) == 1)):
        return None
    return nonzero.argmax(axis=1)


def _linear_weights(coords: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear-interpolation matrix ``(n, size)`` (edge clamped) and inside flags ``(n,)``."""
    inside = (coords >= -0.5) & (coords <= size - 0.5)
    clamped = np.clip(coords, 0.0, size - 1.0)
    low = np.floor(clamped).astype(int)
    high = np.minimum(low + 1, size - 1)
    frac = (clamped - low).astype(np.float32)
    matrix = np.zeros((coords.size, size), np.float32)
    rows = np.arange(coords.size)
    np.add.at(matrix, (rows, low), 1.0 - frac)
    np.add.at(matrix, (rows, high), frac)
    return matrix, inside


def _sample_separable(tile: LogitTile, box: Grid, perm: np.ndarray, box_to_tile: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trilinear logits, weights and inside mask at the box voxels, as three 1D passes.

    Exactly the values of the generic path (trilinear interpolation of a grid is separable),
    at a fraction of the cost: a click on a whole-body scan re-pastes ~10^6 voxels.
    """
    size = tile.grid.size
    mats, flags, profiles = [], [], []
    for t in range(3):
        n = np.arange(box.shape[perm[t]], dtype=np.float64)
        coords = box_to_tile[t, perm[t]] * n + box_to_tile[t, 3]
        matrix, inside = _linear_weights(coords, size)
        mats.append(matrix)
        flags.append(inside)
        profiles.append(matrix @ _importance_profile(size))
    # Only the tile cells some box voxel interpolates from take part (the matrices are zero
    # elsewhere): a small object's box reads a few cells of the 64^3 logits, not all of them.
    used = [np.flatnonzero(m.any(axis=0)) for m in mats]
    cells = tuple(slice(u[0], u[-1] + 1) if u.size else slice(0, 0) for u in used)
    mats = [m[:, c] for m, c in zip(mats, cells)]
    logits = tile.logits[cells].astype(np.float32, copy=False)
    # Three BLAS contractions, one per tile axis: (i,j,k) -> (a,j,k) -> (a,k,b) -> (a,b,c).
    values = np.tensordot(mats[0], logits, axes=(1, 0))
    values = np.tensordot(values, mats[1], axes=(1, 1))
    values = np.tensordot(values, mats[2], axes=(1, 1))
    weights = np.maximum(profiles[0][:, None, None] * profiles[1][None, :, None]
                         * profiles[2][None, None, :], _MIN_WEIGHT)
    inside = flags[0][:, None, None] & flags[1][None, :, None] & flags[2][None, None, :]
    order = np.argsort(perm)  # result axis t is box axis perm[t]
    return values.transpose(order), weights.transpose(order), inside.transpose(order)


def _sample_generic(tile: LogitTile, box: Grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trilinear logits and weights at the box voxels inside the tile, for any affine."""
    coords = box.centres_in(tile.grid)
    size = tile.grid.size
    inside = tile.grid.contains_index(np.moveaxis(coords, 0, -1))
    values = np.zeros(box.shape, np.float32)
    weights = np.zeros(box.shape, np.float32)
    if inside.any():
        pts = coords[:, inside]
        values[inside] = ndimage.map_coordinates(tile.logits.astype(np.float32, copy=False), pts,
                                                 order=1, mode="nearest", prefilter=False)
        weights[inside] = ndimage.map_coordinates(_importance_map(size), pts, order=1,
                                                  mode="nearest", prefilter=False)
    return values, weights, inside


def merge_logits(tiles: list[LogitTile], box: Grid, fill: float = -20.0) -> np.ndarray:
    """Weighted-mean logits of all tiles at the box's voxel centres, ``box.shape`` float32.

    A voxel covered by no tile gets ``fill`` (a confident "background").
    Inside a tile, logits are interpolated trilinearly with edge clamping, the same values
    ``F.interpolate(..., mode="trilinear", align_corners=False)`` gives on the patch grid.
    """
    total = np.zeros(box.shape, np.float32)
    weight = np.zeros(box.shape, np.float32)
    for tile in tiles:
        box_to_tile = box.index_map(tile.grid)
        perm = _axis_permutation(box_to_tile)
        if perm is None:
            values, w, inside = _sample_generic(tile, box)
        else:
            values, w, inside = _sample_separable(tile, box, perm, box_to_tile)
        w = np.where(inside, w, 0.0).astype(np.float32)
        total += w * values
        weight += w
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
    # A weighted mean of tiles exceeds the threshold only where some tile does, so the work
    # is limited to the union of the tiles' positive boxes (not their whole cubes).
    boxes = [b for b in (positive_bbox_in_volume(t, volume, threshold) for t in tiles) if b]
    if not boxes:
        zero = np.zeros(3, int)
        return np.zeros((0, 0, 0), np.uint8), zero, zero
    lo = np.min([b[0] for b in boxes], axis=0)
    hi = np.max([b[1] for b in boxes], axis=0)
    if np.any(hi <= lo):
        return np.zeros((0, 0, 0), np.uint8), lo, lo
    logits = merge_logits(tiles, volume.grid.sub_box(lo, hi))
    return (logits > threshold).astype(np.uint8), lo, hi
