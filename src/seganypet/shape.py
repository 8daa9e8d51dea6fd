"""Drawn prompts: a box, a scribble or a lasso, given as voxel indices or RAS millimetres.

The sibling of :mod:`seganypet.click` for prompts that cover more than one voxel. Used by the
prompt files, the CLI, the session (which turns a shape into model prompts, see
:mod:`seganypet.session.shapes`) and the simulated users of the evaluation protocols.

* **box** ``(lo, hi)``: the voxels ``lo..hi`` (inclusive, rounded) of a 3D box; when ``lo`` and
  ``hi`` share one coordinate it is a 2D box (a rectangle) on that slice.
* **scribble**: an ``(N, 3)`` polyline, consecutive points joined by straight segments, on a
  slice or through the volume (``joined=False``: the points are the stroke's voxels
  themselves, unordered, as in the autoPET V scribble files).
* **lasso**: a closed polygon ``(N >= 3, 3)`` whose points all lie on one slice (they share
  one rounded coordinate); the polygon and its inside are the lasso's voxels.

Malformed shapes raise :class:`~seganypet.errors.InputError` with one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np

from seganypet.errors import InputError
from seganypet.grid import Grid

__all__ = ["MAX_SHAPE_POINTS", "SHAPE_KINDS", "Shape", "ShapeKind", "ShapeRegion", "shape_region"]

ShapeKind = Literal["box", "scribble", "lasso"]
SHAPE_KINDS: tuple[str, ...] = ("box", "scribble", "lasso")
# A hand-drawn stroke has tens to hundreds of vertices; an autoPET V stroke lists its voxels
# (a few hundred). The limit bounds rasterisation time and the size of an undo snapshot.
MAX_SHAPE_POINTS = 20_000


def _as_points(points: object, kind: str) -> np.ndarray:
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"a {kind} needs an (N, 3) list of numbers, got {points!r:.60}") from None
    if array.size == 0:
        raise InputError(f"the {kind} is empty: it needs at least one point")
    if array.ndim != 2 or array.shape[1] != 3:
        raise InputError(f"a {kind} needs (N, 3) points (i, j, k), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise InputError(f"the {kind} has a non-finite coordinate (NaN or infinity)")
    if len(array) > MAX_SHAPE_POINTS:
        raise InputError(f"the {kind} has {len(array)} points; at most {MAX_SHAPE_POINTS} are "
                         "accepted")
    return array


@dataclass(frozen=True)
class Shape:
    """A drawn prompt (see the module docstring for the three kinds).

    Args:
        kind: ``"box"``, ``"scribble"`` or ``"lasso"``.
        points: ``(N, 3)`` voxel indices ``(i, j, k)``, or RAS mm when ``world``; a box is
            ``(lo, hi)``.
        positive: foreground (True) or background (False).
        world: the points are RAS millimetres (convert once with :meth:`on_grid`).
        joined: scribbles only: consecutive points are joined by segments (a polyline);
            False = the points are the stroke's voxels.
        object_name: the object the shape belongs to, when known.
    """

    kind: str
    points: tuple[tuple[float, float, float], ...]
    positive: bool = True
    world: bool = False
    joined: bool = True
    object_name: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SHAPE_KINDS:
            raise InputError(f"unknown shape {self.kind!r}; use one of {SHAPE_KINDS}")
        array = _as_points(self.points, self.kind)
        object.__setattr__(self, "points", tuple(tuple(float(v) for v in p) for p in array))
        object.__setattr__(self, "positive", bool(self.positive))
        if self.kind == "box":
            if len(array) != 2:
                raise InputError(f"a box needs two corners (lo, hi), got {len(array)} points")
            if not self.world and np.any(array[0] > array[1]):
                raise InputError(f"box lo {tuple(array[0].tolist())} is above hi "
                                 f"{tuple(array[1].tolist())} on some axis; give lo <= hi")
        if self.kind == "lasso":
            if len(array) < 3:
                raise InputError(f"a lasso needs at least 3 points, got {len(array)}")
            if not self.world:
                _ = self.slice_axis  # raises when the points are not on one slice

    # ------------------------------------------------------------------ constructors
    @classmethod
    def box(cls, lo: object, hi: object, positive: bool = True, world: bool = False) -> Shape:
        """A 3D box (or a 2D box when ``lo`` and ``hi`` share one coordinate)."""
        return cls("box", (tuple(np.ravel(lo)), tuple(np.ravel(hi))), positive, world)  # type: ignore[arg-type]

    @classmethod
    def scribble(cls, points: object, positive: bool = True, world: bool = False,
                 joined: bool = True) -> Shape:
        """A polyline (``joined``) or a set of stroke voxels."""
        return cls("scribble", points, positive, world, joined)  # type: ignore[arg-type]

    @classmethod
    def lasso(cls, points: object, positive: bool = True, world: bool = False) -> Shape:
        """A closed polygon on one slice, filled."""
        return cls("lasso", points, positive, world)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ geometry
    @property
    def array(self) -> np.ndarray:
        """The points as a float ``(N, 3)`` array."""
        return np.asarray(self.points, np.float64)

    @property
    def slice_axis(self) -> int | None:
        """The axis the shape lies across (a 2D box, a lasso), else None.

        Raises:
            InputError: for a lasso whose points do not share one rounded coordinate.
        """
        rounded = np.rint(self.array)
        flat = [axis for axis in range(3) if np.all(rounded[:, axis] == rounded[0, axis])]
        if self.kind == "lasso" and not flat:
            raise InputError("a lasso must lie on one slice: its points share no i, j or k index")
        if self.kind == "scribble" or not flat:
            return None
        # A lasso on a line of voxels is flat on two axes: the last one (axial k first) wins.
        return flat[-1]

    def on_grid(self, grid: Grid) -> Shape:
        """This shape in voxel indices of ``grid`` (world shapes converted here, once).

        A world box becomes the index-space box spanned by its two corners (on an oblique grid,
        the box of the converted corners, not the rotated world box).
        """
        if not self.world:
            return self
        index = grid.index_of(self.array)
        if self.kind == "box":
            index = np.stack([index.min(axis=0), index.max(axis=0)])
        if self.kind == "lasso":
            # A slice drawn in mm lands within rounding of one index: snap that axis exactly.
            spread = np.ptp(index, axis=0)
            axis = int(np.argmin(spread))
            if spread[axis] < 0.5:
                index[:, axis] = np.rint(np.median(index[:, axis]))
        return Shape(self.kind, index, self.positive, False, self.joined, self.object_name)  # type: ignore[arg-type]

    def check_inside(self, shape: tuple[int, int, int]) -> None:
        """Raise InputError when a point lies outside an image of ``shape`` voxels."""
        if self.world:
            raise InputError(f"this {self.kind} is in world millimetres; convert it with on_grid")
        array = self.array
        outside = np.any((array < -0.5) | (array > np.asarray(shape) - 0.5), axis=1)
        if outside.any():
            first = tuple(round(v, 2) for v in array[int(np.argmax(outside))].tolist())
            raise InputError(f"{self.kind} point {first} is outside the image (shape {shape}); "
                             "points are voxel indices (i, j, k) of the array")


@dataclass(frozen=True)
class ShapeRegion:
    """The voxels a shape covers, as a boolean crop at a voxel offset of the image.

    ``lo (3,)`` int: the crop's first voxel; ``crop (a, b, c)`` bool. A 3D box is all True.
    """

    lo: np.ndarray
    crop: np.ndarray

    @property
    def slices(self) -> tuple[slice, slice, slice]:
        return tuple(slice(int(l), int(l) + n) for l, n in zip(self.lo, self.crop.shape))  # type: ignore[return-value]

    def full(self, shape: tuple[int, int, int]) -> np.ndarray:
        """The region as a boolean array of the image ``shape``."""
        out = np.zeros(shape, bool)
        out[self.slices] = self.crop
        return out


def _segment_voxels(points: np.ndarray) -> np.ndarray:
    """Voxels ``(M, 3)`` int on the polyline through ``points`` (a quarter-voxel walk)."""
    if len(points) == 1:
        return np.rint(points).astype(np.int64)
    parts = []
    for a, b in pairwise(points):
        steps = max(1, int(np.ceil(4 * np.max(np.abs(b - a)))))
        t = np.linspace(0.0, 1.0, steps + 1)[:, None]
        parts.append(a + t * (b - a))
    return np.unique(np.rint(np.concatenate(parts)).astype(np.int64), axis=0)


def _polygon_inside(u: np.ndarray, v: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd rule: which pixel centres ``(u, v)`` (same shape) lie inside ``polygon (N, 2)``."""
    inside = np.zeros(u.shape, bool)
    for (u1, v1), (u2, v2) in zip(polygon, np.roll(polygon, -1, axis=0)):
        crosses = (v1 > v) != (v2 > v)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = u1 + (v - v1) * (u2 - u1) / (v2 - v1)
        inside ^= crosses & (u < at)
    return inside


def _region_of_voxels(voxels: np.ndarray, extra: np.ndarray | None = None) -> ShapeRegion:
    lo = voxels.min(axis=0)
    crop = np.zeros(tuple(voxels.max(axis=0) - lo + 1), bool)
    crop[tuple((voxels - lo).T)] = True
    if extra is not None:
        crop |= extra
    return ShapeRegion(lo, crop)


def shape_region(shape: Shape, image_shape: tuple[int, int, int]) -> ShapeRegion:
    """The voxels of a voxel-index shape that lies inside an image of ``image_shape``.

    Raises:
        InputError: for a world shape, or one with a point outside the image.
    """
    shape.check_inside(image_shape)
    points = shape.array
    upper = np.asarray(image_shape) - 1
    if shape.kind == "box":
        lo = np.clip(np.rint(points[0]), 0, upper).astype(np.int64)
        hi = np.clip(np.rint(points[1]), 0, upper).astype(np.int64)
        return ShapeRegion(lo, np.ones(tuple(hi - lo + 1), bool))
    if shape.kind == "scribble" and not shape.joined:
        return _region_of_voxels(np.clip(np.rint(points), 0, upper).astype(np.int64))
    closed = np.concatenate([points, points[:1]]) if shape.kind == "lasso" else points
    outline = np.clip(_segment_voxels(closed), 0, upper)
    if shape.kind == "scribble":
        return _region_of_voxels(outline)
    axis = shape.slice_axis
    other = [a for a in range(3) if a != axis]
    lo = outline.min(axis=0)
    size = outline.max(axis=0) - lo + 1
    u, v = np.meshgrid(np.arange(size[other[0]]) + lo[other[0]],
                       np.arange(size[other[1]]) + lo[other[1]], indexing="ij")
    fill = _polygon_inside(u, v, points[:, other])
    return _region_of_voxels(outline, np.expand_dims(fill, axis))  # type: ignore[arg-type]
