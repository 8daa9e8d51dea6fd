"""The body outline: head, neck, torso, thighs and arms, each a fat shell around muscle.

The torso and thighs are stacks of super-ellipses whose half-axes are interpolated along z
from a few control points; that is one broadcast over the grid (no per-slice loop) and gives
a smooth, realistic outline (flatter sides than an ellipse, as in a real trunk).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seganypet.data.shapes import Capsule, Ellipsoid, RasGrid, capsule_mask, ellipsoid_mask

__all__ = ["BodyOutline", "render_body"]

# Super-ellipse exponent of torso and thigh cross-sections (2 = ellipse).
_SUPERELLIPSE = 2.5


@dataclass(frozen=True)
class BodyOutline:
    """Body surface of one subject, world mm.

    Args:
        torso: ``(P, 5)`` control points ``z, half_width, half_depth, x_centre, y_centre``,
            sorted by decreasing z.
        legs: ``(Q, 4)`` control points ``z, half_width, half_depth, |x| of each thigh centre``.
        head, neck, arms: solids (arms as capsule segments); ``bones``: humeri inside the arms.
        fat_mm: subcutaneous fat thickness.
    """

    torso: np.ndarray
    legs: np.ndarray
    head: Ellipsoid
    neck: Capsule
    arms: tuple[Capsule, ...]
    bones: tuple[Capsule, ...]
    fat_mm: float

    @property
    def z_range_mm(self) -> tuple[float, float]:
        top = float(self.head.center[2] + self.head.radii[2])
        return float(self.legs[-1, 0]), top


def _profile(points: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Interpolate control-point columns at heights ``z`` ``(K,)`` -> ``(K, C-1)``; 0 outside."""
    order = np.argsort(points[:, 0])
    zs = points[order, 0]
    cols = [np.interp(z, zs, points[order, c], left=0.0, right=0.0) for c in range(1, points.shape[1])]
    return np.stack(cols, axis=1).astype(np.float32)


def _section_mask(grid: RasGrid, ks: slice, half_w: np.ndarray, half_d: np.ndarray,
                  xc: np.ndarray, yc: np.ndarray) -> np.ndarray:
    """Super-ellipse cross-sections for slices ``ks``; ``(I, J, len(ks))`` bool."""
    x = grid.axis(0)[:, None, None]
    y = grid.axis(1)[None, :, None]
    w = np.maximum(half_w, 1e-3)[None, None, :]
    d = np.maximum(half_d, 1e-3)[None, None, :]
    rx = np.abs(x - xc[None, None, :]) / w
    ry = np.abs(y - yc[None, None, :]) / d
    inside = rx ** _SUPERELLIPSE + ry ** _SUPERELLIPSE <= 1.0
    return inside & ((half_w > 0) & (half_d > 0))[None, None, :]


def _slab(grid: RasGrid, points: np.ndarray) -> tuple[slice, np.ndarray] | None:
    """Slices of the grid spanned by the control points and the profile at those slices."""
    z = grid.axis(2)
    keep = np.flatnonzero((z >= points[:, 0].min()) & (z <= points[:, 0].max()))
    if keep.size == 0:
        return None
    ks = slice(int(keep[0]), int(keep[-1]) + 1)
    return ks, _profile(points, z[ks])


def _paint_trunk(labels: np.ndarray, grid: RasGrid, body: BodyOutline, value: int, inset: float) -> None:
    found = _slab(grid, body.torso)
    if found is None:
        return
    ks, p = found
    mask = _section_mask(grid, ks, p[:, 0] - inset, p[:, 1] - inset, p[:, 2], p[:, 3])
    labels[:, :, ks][mask] = value


def _paint_legs(labels: np.ndarray, grid: RasGrid, body: BodyOutline, value: int, inset: float) -> None:
    found = _slab(grid, body.legs)
    if found is None:
        return
    ks, p = found
    for side in (1.0, -1.0):
        mask = _section_mask(grid, ks, p[:, 0] - inset, p[:, 1] - inset, side * p[:, 2],
                             np.zeros_like(p[:, 2]))
        labels[:, :, ks][mask] = value


def _paint_solids(labels: np.ndarray, grid: RasGrid, body: BodyOutline, value: int, inset: float) -> None:
    head_scale = max(1.0 - inset / float(np.min(body.head.radii)), 0.1)
    found = [ellipsoid_mask(grid, body.head, scale=head_scale)]
    found += [capsule_mask(grid, c, radius_offset=-inset) for c in (body.neck, *body.arms)]
    for item in found:
        if item is not None:
            box, mask = item
            labels[box][mask] = value


def render_body(grid: RasGrid, body: BodyOutline, *, muscle: int, fat: int, bone: int) -> np.ndarray:
    """``(I, J, K)`` uint8: ``fat`` in the outer shell, ``muscle`` inside, humeri as ``bone``."""
    labels = np.zeros(grid.shape, dtype=np.uint8)
    # Fat everywhere first, then muscle inset by the fat thickness (head skin: a thin 4 mm layer).
    for value, inset in ((fat, 0.0), (muscle, body.fat_mm)):
        _paint_trunk(labels, grid, body, value, inset)
        _paint_legs(labels, grid, body, value, inset)
        _paint_solids(labels, grid, body, value, min(inset, 4.0) if inset else 0.0)
    for humerus in body.bones:
        found = capsule_mask(grid, humerus)
        if found is not None:
            box, mask = found
            labels[box][mask & (labels[box] == muscle)] = bone
    return labels
