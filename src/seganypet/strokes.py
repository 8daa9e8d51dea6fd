"""Simulated user for drawn prompts: autoPET V corrective scribbles and bounding boxes.

The sibling of :mod:`seganypet.clicks` (same conventions: pure functions, masks in, a
:class:`~seganypet.shape.Shape` out, voxel indices ``(i, j, k)``, ``k`` axial).

Scribbles follow the autoPET V simulation (its ``simulate_scribble_from_label``, strategy
``centerline``): for an error region, every axial slice's largest 8-connected component is
found and the slice holding the largest one is drawn on; the stroke is the component's
centre line between its two farthest-apart pixels (a shortest path that keeps away from the
edges), with 10 % cut off at both ends as a person does not draw to the very border. The
under-segmented region (FN) gives a positive stroke, the over-segmented one (FP) a negative
stroke; the longer stroke is drawn, ties go to FN, as in the challenge loop (``fp <= fn``).

Boxes: the target's tight 3D bounding box, or the 2D bounding rectangle on its central
axial slice (through its deepest voxel).
"""

from __future__ import annotations

import cc3d
import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from seganypet.errors import InputError
from seganypet.mask_centre import distance_center
from seganypet.shape import Shape

__all__ = ["box_2d", "box_3d", "centerline", "largest_slice_component", "next_scribble"]

# autoPET V trims the centre line by this fraction at both ends (when it has > 10 pixels).
TRIM_FRACTION = 0.1
_NEIGHBOURS = [(du, dv) for du in (-1, 0, 1) for dv in (-1, 0, 1) if (du, dv) != (0, 0)]


def _bool3d(mask: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(mask)
    if array.ndim != 3:
        raise InputError(f"{what} must be a 3D (I, J, K) array, got shape {array.shape}")
    return array.astype(bool, copy=False)


def largest_slice_component(region: np.ndarray) -> tuple[int, np.ndarray] | None:
    """``(k, component (I, J) bool)``: the largest 8-connected component over all axial
    slices of ``region`` (ties: the lowest slice), or None when ``region`` is empty."""
    region = _bool3d(region, "region")
    best: tuple[int, np.ndarray] | None = None
    best_area = 0
    for k in np.flatnonzero(region.any(axis=(0, 1))):
        labels = cc3d.connected_components(np.ascontiguousarray(region[:, :, k]), connectivity=8)
        counts = np.bincount(labels.ravel())
        counts[0] = 0
        top = int(np.argmax(counts))
        if counts[top] > best_area:
            best, best_area = (int(k), labels == top), int(counts[top])
    return best


def _pixel_graph(component: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, coo_matrix]:
    """Pixels ``(P, 2)`` of a 2D component and their 8-neighbour graph, an edge costing its
    length times the mean of its end pixels' ``cost``."""
    pixels = np.argwhere(component)
    number = -np.ones(component.shape, np.int64)
    number[tuple(pixels.T)] = np.arange(len(pixels))
    rows, cols, weights = [], [], []
    for du, dv in _NEIGHBOURS:
        target = pixels + (du, dv)
        ok = np.all((target >= 0) & (target < component.shape), axis=1)
        ok[ok] = component[tuple(target[ok].T)]
        a, b = np.flatnonzero(ok), number[tuple(target[ok].T)]
        rows.append(a)
        cols.append(b)
        weights.append(np.hypot(du, dv) * 0.5 * (cost[tuple(pixels[a].T)] + cost[tuple(pixels[b].T)]))
    size = len(pixels)
    graph = coo_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(size, size))
    return pixels, graph


def centerline(component: np.ndarray) -> np.ndarray:
    """The ordered ``(M, 2)`` pixel path of a stroke along a 2D component's centre line.

    The ends are the two pixels farthest apart along the component (two geodesic sweeps);
    the path between them minimises the sum of ``1 / distance-to-edge``, so it runs down the
    middle. 10 % is trimmed at both ends of paths longer than 10 pixels.
    """
    component = np.asarray(component, bool)
    if component.sum() == 1:
        return np.argwhere(component)
    depth = ndimage.distance_transform_edt(np.pad(component, 1))[1:-1, 1:-1]
    pixels, plain = _pixel_graph(component, np.ones(component.shape))
    first = int(np.argmax(np.where(np.isfinite(d := dijkstra(plain, indices=0)), d, -1)))
    ends = dijkstra(plain, indices=first)
    last = int(np.argmax(np.where(np.isfinite(ends), ends, -1)))
    _, central = _pixel_graph(component, 1.0 / np.maximum(depth, 1e-3))
    _, previous = dijkstra(central, indices=first, return_predecessors=True)
    path = [last]
    while path[-1] != first and previous[path[-1]] >= 0:
        path.append(int(previous[path[-1]]))
    ordered = pixels[path[::-1]]
    if len(ordered) > 10:
        cut = int(len(ordered) * TRIM_FRACTION)
        ordered = ordered[cut:len(ordered) - cut]
    return ordered


def _stroke(region: np.ndarray, positive: bool) -> Shape | None:
    found = largest_slice_component(region)
    if found is None:
        return None
    k, component = found
    path = centerline(component)
    points = np.column_stack([path, np.full(len(path), k)])
    return Shape.scribble(points, positive, joined=False)


def next_scribble(pred: np.ndarray, target: np.ndarray) -> Shape | None:
    """The autoPET V corrective stroke for ``pred`` against ``target`` (module docstring).

    Returns None when the prediction equals the target (nothing to correct). With an empty
    prediction this is the first, positive stroke on the target's largest axial section.
    """
    pred, target = _bool3d(pred, "prediction"), _bool3d(target, "target")
    if pred.shape != target.shape:
        raise InputError(f"prediction shape {pred.shape} differs from target shape {target.shape}")
    positive = _stroke(target & ~pred, True)
    negative = _stroke(pred & ~target, False)
    if positive is None or negative is None:
        return positive or negative
    return positive if len(negative.points) <= len(positive.points) else negative


def box_3d(target: np.ndarray) -> Shape:
    """The tight 3D bounding box of a non-empty target."""
    target = _bool3d(target, "target")
    if not target.any():
        raise InputError("the target mask is empty: there is nothing to draw a box around")
    voxels = np.argwhere(target)
    return Shape.box(voxels.min(axis=0), voxels.max(axis=0))


def box_2d(target: np.ndarray, spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> Shape:
    """The bounding rectangle of a target on the axial slice through its deepest voxel."""
    target = _bool3d(target, "target")
    if not target.any():
        raise InputError("the target mask is empty: there is nothing to draw a box around")
    k = distance_center(target, spacing)[2]
    pixels = np.argwhere(target[:, :, k])
    (i0, j0), (i1, j1) = pixels.min(axis=0), pixels.max(axis=0)
    return Shape.box((i0, j0, k), (i1, j1, k))
