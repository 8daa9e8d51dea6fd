"""How a box, a scribble or a lasso becomes a prompt for a points + mask-prompt model.

The shipped models were trained on clicks and on their own previous low-res logits as the
dense prompt; they have no box or stroke embedding. A drawn shape is therefore turned into
the two kinds of input they know, plus a hard rule on the result:

* **points**: a box gives one click at its centre (the centre of the rectangle for a 2D box);
  a scribble one click at its middle (``MAX_STROKE_CLICKS`` spreads more along it, one per
  ~15 mm); a lasso one click at the deepest point of its filled polygon (``MAX_LASSO_CLICKS``
  spreads more, one per 4 cm²). The clicks carry the shape's sign and are stored with the
  object's other clicks (they also seed ``keep_clicked_components``). More clicks per shape
  made the shipped model worse: a first stroke gave median Dice 0.897 / 0.867 / 0.696 (phantom
  lesions / organs / sarcoma crops) with one click, 0.708 / 0.788 / 0.754 with up to 3 and
  0.708 / 0.775 / 0.660 with up to 6; a lasso tracing a sarcoma's largest axial section 0.715
  with one click, 0.590 with up to 3; in the 5-step autoPET V scribble loop one click per
  negative stroke gave median AUC-Dice 0.799 / 0.786 (phantoms / sarcoma crops) against
  0.754 / 0.748 with up to 3 (clicks on a thin leak's rim shrank the whole object).
* **dense prompt**: before the decode, every tile's previous low-res logits are overwritten
  where the object's shapes say something for sure: ``+8`` on positive scribbles and lasso
  fills, ``-8`` on negative ones, inside a negative box, outside a positive 3D box and, on
  its slice, outside a positive 2D box (a confident previous prediction is what the decoder
  saw during click training).
* **constraints**: the same regions are imposed on the full-resolution mask after every
  decode, in drawing order (a later shape wins where two overlap), then components without a
  positive click are dropped again. So a negative scribble that cuts a leak off the object
  removes the cut-off part, and a positive box bounds the object.

A shape is one undo step. Nothing here runs for objects without shapes, so clicks (and the
``sam-med3d`` golden numbers) are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from seganypet.click import Click
from seganypet.errors import InputError
from seganypet.postprocess import keep_components_with_seeds
from seganypet.preprocess import PatchGrid
from seganypet.session.state import ObjectState
from seganypet.shape import Shape, ShapeRegion, shape_region
from seganypet.volume import Volume

if TYPE_CHECKING:
    from seganypet.session.session import Session

__all__ = ["Constraint", "add_shape", "constrain_mask", "constraints_of", "prompt_points"]

# Same magnitude as a user mask prompt (seganypet.session.decoding.PROMPT_MASK_LOGIT).
SURE_LOGIT = 8.0
# One click per this many mm of stroke, at most this many (each click is one more token).
STROKE_MM_PER_CLICK = 15.0
MAX_STROKE_CLICKS = 1
MAX_LASSO_CLICKS = 1
# One interior click of a lasso per this much filled area (mm^2).
LASSO_MM2_PER_CLICK = 400.0


@dataclass(frozen=True)
class Constraint:
    """Voxels whose label a shape fixes: ``region`` (or everything outside it when
    ``outside``) becomes ``value``."""

    region: ShapeRegion
    value: bool
    outside: bool = False


def _slice_outside_rectangle(shape: Shape, region: ShapeRegion,
                             image_shape: tuple[int, int, int]) -> ShapeRegion:
    """The slice of a 2D box minus its rectangle (the object is inside it on that slice)."""
    axis = shape.slice_axis
    lo = np.zeros(3, np.int64)
    lo[axis] = region.lo[axis]
    size = list(image_shape)
    size[axis] = 1
    crop = np.ones(size, bool)
    inner = tuple(slice(int(region.lo[a] - lo[a]), int(region.lo[a] - lo[a] + region.crop.shape[a]))
                  for a in range(3))
    crop[inner] = False
    return ShapeRegion(lo, crop)


def constraints_of(shape: Shape, image_shape: tuple[int, int, int]) -> list[Constraint]:
    """What a voxel-index shape fixes on an image of ``image_shape`` (module docstring)."""
    region = shape_region(shape, image_shape)
    if shape.kind != "box" or not shape.positive:
        return [Constraint(region, shape.positive)]
    if shape.slice_axis is None:
        return [Constraint(region, False, outside=True)]
    return [Constraint(_slice_outside_rectangle(shape, region, image_shape), False)]


def _stroke_path(shape: Shape, region: ShapeRegion) -> np.ndarray:
    """The stroke as an ordered ``(M, 3)`` path: the polyline itself, or the stroke's voxels
    ordered along their main direction (an autoPET V stroke is an unordered voxel list)."""
    if shape.joined:
        return shape.array
    voxels = np.argwhere(region.crop) + region.lo
    centred = voxels - voxels.mean(axis=0)
    direction = np.linalg.svd(centred, full_matrices=False)[2][0] if len(voxels) > 1 else np.ones(3)
    return voxels[np.argsort(centred @ direction, kind="stable")].astype(np.float64)


def _along_stroke(path: np.ndarray, spacing: np.ndarray, limit: int) -> list[np.ndarray]:
    """Points spread evenly along a path (at the middles of equal-length pieces)."""
    steps = np.linalg.norm(np.diff(path, axis=0) * spacing, axis=1) if len(path) > 1 else np.zeros(0)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    count = int(np.clip(np.ceil(arc[-1] / STROKE_MM_PER_CLICK), 1, limit))
    wanted = (np.arange(count) + 0.5) / count * arc[-1]
    return [np.array([np.interp(w, arc, path[:, d]) for d in range(3)]) for w in wanted]


def _inside_lasso(region: ShapeRegion, axis: int, spacing: np.ndarray) -> list[np.ndarray]:
    """Clicks inside a lasso: its deepest voxel (in-plane mm from the outline), then voxels of
    the fill's inner half spread by farthest-point sampling, one per ``LASSO_MM2_PER_CLICK``."""
    plane = np.squeeze(region.crop, axis=axis)
    other = [a for a in range(3) if a != axis]
    distance = ndimage.distance_transform_edt(np.pad(plane, 1), sampling=spacing[other])[1:-1, 1:-1]
    deepest = np.unravel_index(int(np.argmax(distance)), plane.shape)
    area = float(plane.sum() * np.prod(spacing[other]))
    count = int(np.clip(area // LASSO_MM2_PER_CLICK, 1, MAX_LASSO_CLICKS))
    inner = np.argwhere(distance >= 0.5 * distance.max())
    chosen = [np.asarray(deepest)]
    while len(chosen) < min(count, len(inner)):
        gaps = np.min([np.linalg.norm((inner - c) * spacing[other], axis=1) for c in chosen], axis=0)
        chosen.append(inner[int(np.argmax(gaps))])
    return [region.lo + np.insert(c, axis, 0) for c in chosen]


def prompt_points(shape: Shape, spacing: tuple[float, float, float],
                  image_shape: tuple[int, int, int]) -> list[Click]:
    """The clicks a voxel-index shape gives the decoder (module docstring), in voxel indices."""
    region = shape_region(shape, image_shape)
    spacing_array = np.asarray(spacing, np.float64)
    if shape.kind == "box":
        points = [region.lo + (np.asarray(region.crop.shape) - 1) / 2.0]
    elif shape.kind == "lasso":
        points = _inside_lasso(region, shape.slice_axis, spacing_array)  # type: ignore[arg-type]
    else:
        points = _along_stroke(_stroke_path(shape, region), spacing_array, MAX_STROKE_CLICKS)
    # The decoder sees points on the voxel they fall in: round so the click is a real voxel.
    return [Click(tuple(float(v) for v in np.rint(p)), shape.positive) for p in points]


def _low_res_hits(constraint: Constraint, low: PatchGrid, volume: Volume) -> np.ndarray:
    """Which low-res voxels ``(L, L, L)`` of a tile the constraint covers.

    A low-res voxel is covered when its centre falls in the region (or outside it, for an
    ``outside`` constraint) or, for thin regions such as strokes, when a region voxel falls in
    it (a 1-voxel stroke is narrower than a low-res voxel and would be missed by centres).
    """
    region = constraint.region
    exact = low.centres_in(volume.grid)  # (3, L, L, L) fractional image indices
    if constraint.outside:
        # Only low-res voxels wholly outside the box: a coarse voxel straddling its face would
        # pull the object's border inwards by half a low-res voxel.
        half = 0.5 * np.asarray(low.spacing) / np.asarray(volume.spacing)
        box_lo = region.lo - 0.5 - half
        box_hi = region.lo + np.asarray(region.crop.shape) - 0.5 + half
        shape = np.asarray(volume.shape)[:, None, None, None]
        in_box = np.all((exact >= box_lo[:, None, None, None])
                        & (exact <= box_hi[:, None, None, None]), axis=0)
        in_scan = np.all((exact >= -0.5) & (exact <= shape - 0.5), axis=0)
        return ~in_box & in_scan
    centres = np.rint(exact).astype(np.int64)
    rel = centres - region.lo[:, None, None, None]
    within = np.all((rel >= 0) & (rel < np.asarray(region.crop.shape)[:, None, None, None]), axis=0)
    covered = np.zeros(within.shape, bool)
    covered[within] = region.crop[tuple(r[within] for r in rel)]
    voxels = np.argwhere(region.crop) + region.lo
    local = np.rint(volume.grid.index_in(low, voxels)).astype(np.int64)
    keep = np.all((local >= 0) & (local < low.size), axis=1)
    covered[tuple(local[keep].T)] = True
    return covered


def _paint_tiles(obj: ObjectState, volume: Volume, low_res_size: int) -> None:
    """Write the object's shapes into every tile's previous logits (its next mask prompt)."""
    constraints = [c for s in obj.shapes for c in constraints_of(s, volume.shape)]
    for tile in obj.tiles.values():
        low = tile.grid.coarsened(low_res_size)
        logits = (np.zeros((low_res_size,) * 3, np.float32) if tile.logits is None
                  else tile.logits.copy())
        for constraint in constraints:
            logits[_low_res_hits(constraint, low, volume)] = SURE_LOGIT if constraint.value else -SURE_LOGIT
        tile.logits = logits


def constrain_mask(mask: np.ndarray, obj: ObjectState, volume: Volume, keep_clicked: bool
                   ) -> np.ndarray:
    """The object's full-resolution ``(I, J, K)`` uint8 mask with its shapes imposed.

    Returns ``mask`` itself when the object has no shapes.
    """
    if not obj.shapes:
        return mask
    out = mask.astype(bool)
    for shape in obj.shapes:
        for constraint in constraints_of(shape, volume.shape):
            if constraint.outside:
                inside = constraint.region.full(volume.shape)
                out = (out | ~inside) if constraint.value else (out & inside)
            else:
                view = out[constraint.region.slices]
                view[constraint.region.crop] = constraint.value
    if keep_clicked and out.any():
        seeds = [tuple(round(float(v)) for v in c.index) for c in obj.clicks if c.positive]
        out = keep_components_with_seeds(out, seeds)  # type: ignore[arg-type]
    return out.astype(np.uint8)


def add_shape(session: Session, shape: Shape) -> Volume:
    """Add a drawn shape to the session's current object (one undo step); returns the mask.

    Raises:
        InputError: for a world shape that cannot be converted, a point outside the image, or
            a negative shape on an object that has no positive prompt yet.
    """
    volume = session._require_image()
    shape = shape.on_grid(volume.grid)
    clicks = prompt_points(shape, volume.spacing, volume.shape)
    obj = session.current
    if not shape.positive and not any(c.positive for c in obj.clicks) and obj.prompt_mask is None:
        raise InputError(f"a negative {shape.kind} needs an object to correct: start it with a "
                         "positive click or shape")
    session._push_undo()
    obj = session.current
    if not obj.tiles:
        # A fresh object starts as the model was trained: one click alone (with its candidate
        # masks); the rest of the shape then refines that mask, as corrective clicks would.
        # Decoding all of a box's or a stroke's prompts at once from nothing was worse
        # (8 sarcoma crops, median Dice: 2D box 0.74 vs 0.79, scribble 0.62 vs 0.70).
        first = clicks.pop(len(clicks) // 2)
        obj.clicks.append(first)
        session._update(obj, new_click=first)
    obj.clicks.extend(clicks)
    obj.shapes.append(shape)
    if not obj.tiles:  # the first click decoded to nothing
        session._anchor(obj)
    _paint_tiles(obj, volume, session._decoder.low_res_size)
    session._update(obj, new_click=(clicks or obj.clicks)[0])
    return session.mask
