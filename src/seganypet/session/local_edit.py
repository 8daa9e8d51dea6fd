"""A corrective click edits the shown mask near the click, not the whole object.

Why: given one corrective click, the shipped model redraws the whole object. Measured on the
phantom splits (three clicks at the centre of the largest error, docs/results.md): a negative
click on a 20 ml leak beside a brain mask halved the brain (1288 -> 645 ml, Dice 0.99 -> 0.67),
a positive click on the rim of a 1 ml lesion gave 6 ml (0.83 -> 0.25), and every later click
also drops the shown first mask's image resolution for the 6 mm grid of the model's logits.
Interactive tools that refine only a focus region around the click (FocalClick, Chen et al.,
CVPR 2022) were built for the same failure.

The rule. Let ``M`` be the mask shown before the click at ``p`` and ``N`` the model's new mask.

* a **negative** click inside ``M`` that ``N`` obeys (``p`` not in ``N``): the removal ``M \\ N``;
  a **positive** click outside ``M`` that ``N`` obeys: the addition ``N \\ M``;
* of that change, the 26-connected component that holds ``p``,
* within ``K x d`` of the click, where ``d`` is the size of the error the click marks, read
  from the shown mask alone: for a negative click its depth inside ``M`` (distance to the
  nearest voxel outside ``M``), for a positive click its distance to ``M``. A click at the
  middle of a thin leak or a thin missed rim is close to the mask's edge, so its edit is small;
  a click deep inside a wrong organ, or far from a mask that caught only a core, is far from
  it, so its edit is large (up to the model's whole change). ``K = 3`` allows an error region
  three times as long as it is deep (chosen from that geometry, not fitted);
* except that a negative click in the bulk of ``M`` (its depth at least half that of ``M``'s
  deepest voxel: the user rejects what is shown, not its fringe) applies the model's whole
  removal component: a first mask that is the wrong organ is removed by one click;
* the shown mask becomes ``M`` plus (or minus) that edit; the model's changes elsewhere are
  dropped.

When the model did not obey the click (or the click is not corrective: a positive click
already inside ``M``), its new mask is shown as before. Only point clicks after the first
are edited this way; boxes, scribbles and lassos keep their own rules
(:mod:`seganypet.session.shapes`).
"""

from __future__ import annotations

from collections.abc import Sequence

import cc3d
import numpy as np
from scipy import ndimage

from seganypet.preprocess import PatchGrid, sample_volume
from seganypet.session.candidates import mask_box_volume
from seganypet.session.decoding import PROMPT_MASK_LOGIT
from seganypet.session.safety_net import BoxMask
from seganypet.volume import Volume

__all__ = ["BULK_DEPTH", "EDIT_EXTENT", "edit_near_click", "prompt_after_edit"]

# Edit radius per unit of the error's size at the click (see the module docstring).
EDIT_EXTENT = 3.0
# A negative click at least this deep, relative to the shown mask's deepest voxel, is in the
# mask's bulk: the model's whole removal holding it is applied.
BULK_DEPTH = 0.5


def edit_near_click(shown: np.ndarray, decoded: np.ndarray, index: tuple[float, float, float],
                    positive: bool, spacing: tuple[float, float, float],
                    anchors: Sequence[tuple[float, float, float]] = ()) -> BoxMask | None:
    """The shown mask after a corrective click, edited only near the click.

    Args:
        shown: ``(I, J, K)`` mask shown before the click (bool or 0/1).
        decoded: ``(I, J, K)`` the model's mask after the click, same grid.
        index: the click, voxel index ``(i, j, k)`` of the image array.
        positive: the click's sign.
        spacing: voxel size in mm along ``(i, j, k)``.
        anchors: voxels that may lie deep in the shown mask (the object's positive clicks): the
            depth of one deeper than the bulk test asks decides it without a distance
            transform of the whole mask (same answer, ~10 ms less on an organ).

    Returns:
        The edited mask in the box of ``shown | decoded`` (which holds all of it), or None when
        the rule does not apply (the decoded mask stands).
    """
    p = tuple(round(float(v)) for v in index)
    if not all(0 <= p[d] < shown.shape[d] for d in range(3)):
        return None
    inside_shown, inside_decoded = bool(shown[p]), bool(decoded[p])
    corrective = (not inside_shown and inside_decoded) if positive else \
        (inside_shown and not inside_decoded)
    if not corrective or not shown.any():
        return None
    lo, hi = _union_box(shown, decoded)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    old, new = shown[box].astype(bool), decoded[box].astype(bool)
    local = tuple(int(v) for v in np.asarray(p) - lo)
    change = (new & ~old) if positive else (old & ~new)
    component = _component_at(change, local)
    size_mm = _distance_to_mask(old, local, spacing) if positive else \
        _depth_in_mask(old, local, spacing)
    edit = _within(component, local, EDIT_EXTENT * size_mm, spacing)
    if not positive and edit.sum() < component.sum() \
            and _in_bulk(old, size_mm, spacing, [tuple(round(float(v)) - int(a) for v, a in
                                                 zip(anchor, lo)) for anchor in anchors]):
        edit = component  # a click in the bulk of the shown mask rejects the bulk
    return BoxMask(lo, (old | edit) if positive else (old & ~edit))


def _union_box(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Voxel box ``[lo, hi)`` of the union of two non-empty masks' boxes."""
    boxes = [box for box in (BoxMask.cropped(a), BoxMask.cropped(b)) if box.array.size]
    lo = np.min([m.lo for m in boxes], axis=0)
    hi = np.max([m.lo + np.asarray(m.array.shape) for m in boxes], axis=0)
    return lo.astype(np.int64), hi.astype(np.int64)


def _component_at(mask: np.ndarray, point: tuple[int, int, int]) -> np.ndarray:
    """The 26-connected component of ``mask`` holding ``point`` (bool, same shape)."""
    labels = cc3d.connected_components(mask.astype(np.uint8), connectivity=26)
    return labels == labels[point]


def _distance_to_mask(mask: np.ndarray, point: tuple[int, int, int],
                      spacing: tuple[float, float, float]) -> float:
    """Distance in mm from ``point`` (outside ``mask``) to the nearest voxel of ``mask``."""
    return _nearest_voxel(mask, True, point, spacing, np.inf)


def _depth_in_mask(mask: np.ndarray, point: tuple[int, int, int],
                   spacing: tuple[float, float, float]) -> float:
    """Distance in mm from ``point`` (inside ``mask``) to the nearest voxel outside it; the
    layer just beyond the box counts as outside (the masks' box holds all of ``mask``)."""
    p, step = np.asarray(point), np.asarray(spacing, np.float64)
    beyond = float(min(((p + 1) * step).min(), ((np.asarray(mask.shape) - p) * step).min()))
    return _nearest_voxel(mask, False, point, spacing, beyond)


def _in_bulk(mask: np.ndarray, depth_mm: float, spacing: tuple[float, float, float],
             anchors: list[tuple[int, ...]]) -> bool:
    """Whether a click ``depth_mm`` deep is at least ``BULK_DEPTH`` x as deep as the deepest
    voxel of ``mask``; an anchor inside the mask that is deeper than ``depth_mm / BULK_DEPTH``
    answers no at once (the deepest voxel is at least as deep as any)."""
    for anchor in anchors:
        inside = all(0 <= anchor[d] < mask.shape[d] for d in range(3)) and mask[anchor]
        if inside and _depth_in_mask(mask, anchor, spacing) > depth_mm / BULK_DEPTH:
            return False
    return depth_mm >= BULK_DEPTH * _deepest(mask, spacing)


def _deepest(mask: np.ndarray, spacing: tuple[float, float, float]) -> float:
    """Largest depth in mm of a voxel of ``mask`` (the box's outside counts as outside)."""
    return float(ndimage.distance_transform_edt(np.pad(mask, 1), sampling=spacing).max())


def _nearest_voxel(mask: np.ndarray, value: bool, point: tuple[int, int, int],
                   spacing: tuple[float, float, float], limit: float) -> float:
    """Smallest distance in mm from ``point`` to a voxel where ``mask == value``, or ``limit``
    if that is smaller. Searched in growing windows around the point (the answer is usually a
    few voxels away; a whole liver's box costs ~5 ms): a window of half-width ``r`` voxels is
    final once its best is within ``(r + 1) x`` the finest spacing, nearer than anything
    outside it, or once it covers the whole box."""
    p, step = np.asarray(point), np.asarray(spacing, np.float64)
    shape = np.asarray(mask.shape)
    radius = 4
    while True:
        lo, hi = np.maximum(p - radius, 0), np.minimum(p + radius + 1, shape)
        window = mask[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        found = np.argwhere(window if value else ~window) + lo
        best = min(limit, _nearest(found, point, spacing)) if len(found) else limit
        if best <= (radius + 1) * step.min() or ((lo == 0).all() and (hi == shape).all()):
            return best
        radius *= 2


def _nearest(points: np.ndarray, point: tuple[int, int, int],
             spacing: tuple[float, float, float]) -> float:
    """Smallest distance in mm from ``point`` to ``points`` ``(N, 3)`` voxel indices."""
    offsets = (points - np.asarray(point)) * np.asarray(spacing, np.float64)
    return float(np.sqrt(np.min(np.einsum("ij,ij->i", offsets, offsets))))


def _within(mask: np.ndarray, point: tuple[int, int, int], radius_mm: float,
            spacing: tuple[float, float, float]) -> np.ndarray:
    """The voxels of ``mask`` within ``radius_mm`` of ``point`` (bool, same shape)."""
    out = np.zeros(mask.shape, bool)
    voxels = np.argwhere(mask)
    offsets = (voxels - np.asarray(point)) * np.asarray(spacing, np.float64)
    near = np.einsum("ij,ij->i", offsets, offsets) <= radius_mm ** 2
    out[tuple(voxels[near].T)] = True
    return out


def prompt_after_edit(volume: Volume, grid: PatchGrid, logits: np.ndarray, shown: BoxMask,
                      overridden: BoxMask) -> np.ndarray:
    """A tile's next mask prompt ``(L, L, L)`` once an edit was shown.

    The model's own logits wherever the shown mask is the model's; where the edit overrode the
    model (``overridden``: voxels where the shown mask differs from the decoded one; a low-res
    voxel whose trilinear sample touches one of them), the shown mask sampled as a confident
    prompt (``+-PROMPT_MASK_LOGIT``), as an isocontour is
    (:func:`seganypet.session.candidates.shown_logits`). So the next click starts from what
    the user saw. Only the low-res voxels near ``overridden`` are sampled (a whole 64^3 grid
    twice cost 7 ms of a 60 ms click); the others cannot touch it.
    """
    low = grid.coarsened(logits.shape[-1])
    # Trilinear sampling at index x reads voxels floor(x) and floor(x) + 1: a sample touches the
    # box [lo, hi) only for x in [lo - 1, hi), which box_covering's half-voxel margins enclose.
    first = overridden.lo - 1
    last = overridden.lo + np.asarray(overridden.array.shape)
    lo, hi = volume.grid.box_covering(low, first, last)
    if overridden.voxels == 0 or np.any(hi <= lo):
        return logits
    near = low.sub_box(lo, hi)
    touched = sample_volume(mask_box_volume(volume, overridden), near) > 0
    if not touched.any():
        return logits
    fraction = sample_volume(mask_box_volume(volume, shown), near)
    prompt = ((2.0 * fraction - 1.0) * PROMPT_MASK_LOGIT).astype(np.float32)
    out = np.array(logits, np.float32)  # a copy: tile logits are read-only (session.state)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    out[box] = np.where(touched, prompt, out[box])
    return out
