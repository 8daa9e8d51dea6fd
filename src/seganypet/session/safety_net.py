"""A safety net from the image itself: isocontour candidates of a first click, and a boundary
score that judges any mask (the model's or an isocontour) from the scan alone.

The model's first-click candidates can all collapse to one scale, or to the wrong one (an
organ-sized mask on a compact hot lesion). Isocontours at several fractions of the local
SUVmax around the click span lesion to organ scale by construction, and on a hot lesion one
of them is the classical tool's answer. They join the model's candidates; which one is shown
is decided in :mod:`seganypet.session.candidates`.

The boundary score of a mask is its *step*: the mean SUV of its inner boundary shell minus the
mean SUV of its outer shell (one voxel each, 6-connected), in SUV. A mask whose surface lies on
the steepest uptake edge around it has the largest step: a leak into lower uptake moves the
surface to a flat, cold region, a mask inside the object puts both shells on the plateau.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from seganypet.quantify.delineation import isocontour_family
from seganypet.volume import Volume

__all__ = ["FRACTIONS", "BoundaryStep", "BoxMask", "binary_opening_by_shifts", "boundary_step",
           "isocontour_candidates", "mask_shells", "region_over", "zero_padded"]

# Fractions of the local SUVmax, largest first (smallest mask first): 0.41 is the EANM
# isocontour; 0.3 reaches organ scale on a homogeneous organ; 0.7 a lesion's hot core.
FRACTIONS = (0.7, 0.6, 0.5, 0.41, 0.3)


@dataclass
class BoxMask:
    """A binary mask stored in its voxel box ``[lo, lo + array.shape)`` of the image.

    Attributes:
        lo: ``(3,)`` int, first voxel of the box.
        array: ``(a, b, c)`` bool.
    """

    lo: np.ndarray
    array: np.ndarray

    @cached_property
    def voxels(self) -> int:
        """Voxels in the mask (cached: the selection rule asks often; the array never changes)."""
        return int(self.array.sum())

    def full(self, shape: tuple[int, int, int]) -> np.ndarray:
        """The mask on the whole image grid, uint8 ``shape``."""
        out = np.zeros(shape, np.uint8)
        hi = self.lo + np.asarray(self.array.shape)
        out[self.lo[0]:hi[0], self.lo[1]:hi[1], self.lo[2]:hi[2]] = self.array
        return out

    @staticmethod
    def cropped(mask: np.ndarray, lo: np.ndarray | None = None) -> BoxMask:
        """The tight box of ``mask`` (bool, placed at ``lo`` in the image; default origin)."""
        lo = np.zeros(3, int) if lo is None else np.asarray(lo, int)
        # One pass over the whole mask (along its last, contiguous axis), then the last axis's
        # extent within the box of the first two: ~3x faster than three projections of the
        # whole mask (it runs on every click, e.g. for the undo snapshot).
        plane = mask.any(axis=2)
        if not plane.any():
            return BoxMask(lo.copy(), np.zeros((0, 0, 0), bool))
        rows, cols = np.flatnonzero(plane.any(axis=1)), np.flatnonzero(plane.any(axis=0))
        slab = mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        depth = np.flatnonzero(slab.any(axis=(0, 1)))
        start = np.array([rows[0], cols[0], depth[0]])
        stop = np.array([rows[-1] + 1, cols[-1] + 1, depth[-1] + 1])
        array = mask[start[0]:stop[0], start[1]:stop[1], start[2]:stop[2]].astype(bool)
        return BoxMask(lo + start, array)


@dataclass(frozen=True)
class BoundaryStep:
    """Uptake on both sides of a mask's surface (SUV): ``inner`` and ``outer`` shell means."""

    inner: float
    outer: float

    @property
    def step(self) -> float:
        """``inner - outer``: how sharply uptake drops across the surface."""
        return self.inner - self.outer

    @property
    def contrast(self) -> float:
        """``(inner - outer) / inner``, scale-free (0 when the inner shell is not positive)."""
        return self.step / self.inner if self.inner > 0 else 0.0


def boundary_step(image: Volume, mask: BoxMask) -> BoundaryStep:
    """Mean SUV of the inner and outer one-voxel shells of ``mask`` (outer clipped to the image).

    Raises:
        ValueError: on an empty mask (it has no surface).
    """
    if mask.voxels == 0:
        raise ValueError("an empty mask has no boundary")
    shape = np.asarray(image.shape)
    lo = np.maximum(mask.lo - 1, 0)
    hi = np.minimum(mask.lo + np.asarray(mask.array.shape) + 1, shape)
    values = image.array[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]  # a view: only shells convert
    inside = region_over(mask.array, mask.lo, lo, values.shape)
    inner, outer = mask_shells(inside)
    return BoundaryStep(float(values[inner].astype(np.float64).mean()),
                        float(values[outer].astype(np.float64).mean()) if outer.any() else 0.0)


def region_over(array: np.ndarray, array_lo: np.ndarray | tuple[int, ...], lo: np.ndarray,
                shape: tuple[int, ...]) -> np.ndarray:
    """``array`` (its first voxel at ``array_lo``) over the voxel box ``[lo, lo + shape)``,
    zero (False) where the two boxes do not overlap; same dtype as ``array``."""
    out = np.zeros(tuple(int(n) for n in shape), array.dtype)
    start = np.maximum(lo, array_lo)
    stop = np.minimum(np.asarray(lo) + np.asarray(shape), np.asarray(array_lo) + np.asarray(array.shape))
    if np.all(stop > start):
        out[tuple(slice(int(a - b), int(c - b)) for a, c, b in zip(start, stop, lo))] = \
            array[tuple(slice(int(a - t), int(c - t)) for a, c, t in zip(start, stop, array_lo))]
    return out


def zero_padded(array: np.ndarray, width: int | tuple[int, int, int]) -> np.ndarray:
    """``np.pad(array, width)`` with zeros (``width`` voxels each side, per axis), without
    np.pad's per-call overhead (~0.1 ms, paid dozens of times per first click)."""
    widths = np.broadcast_to(np.asarray(width, int), (3,))
    out = np.zeros(tuple(int(n + 2 * w) for n, w in zip(array.shape, widths)), array.dtype)
    out[tuple(slice(int(w), int(w + n)) for w, n in zip(widths, array.shape))] = array
    return out


def mask_shells(inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inner and outer one-voxel shells (6-connected) of the bool mask ``inside (a, b, c)``.

    The same as ``inside & ~binary_erosion(inside, border_value=0)`` and
    ``binary_dilation(inside) & ~inside``, from six shifted views (ndimage's generic
    structuring-element loop is ~5x slower, and this runs for every first-click candidate).
    Voxels outside the array count as outside the mask, so a mask touching the image border
    keeps an inner shell there (no outer one: the scan does not say what lies beyond).
    """
    padded = zero_padded(inside, 1)
    centre = (slice(1, -1),) * 3
    all_in, any_in = inside.copy(), np.zeros_like(inside)
    for axis in range(3):
        for start in (0, 2):
            view = list(centre)
            view[axis] = slice(start, start + inside.shape[axis])
            neighbour = padded[tuple(view)]
            all_in &= neighbour
            any_in |= neighbour
    return inside & ~all_in, any_in & ~inside


def binary_opening_by_shifts(inside: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``ndimage.binary_opening(inside, kernel)`` for a small symmetric odd-sized ``kernel``
    (a :func:`~seganypet.quantify.peak.sphere_kernel`), from shifted views as
    :func:`mask_shells`: ndimage's generic loop is ~5x slower on the few offsets of a ball of
    one or two voxels. Outside the array counts as outside the mask, as in ndimage."""
    half = np.asarray(kernel.shape) // 2
    offsets = np.argwhere(kernel) - half
    width = tuple(int(h) for h in half)

    def shifted(array: np.ndarray, offset: np.ndarray) -> np.ndarray:
        return array[tuple(slice(int(h + o), int(h + o + n))
                           for h, o, n in zip(half, offset, inside.shape))]

    padded = zero_padded(inside, width)
    eroded = np.ones(inside.shape, bool)
    for offset in offsets:
        eroded &= shifted(padded, offset)
    padded = zero_padded(eroded, width)
    opened = np.zeros(inside.shape, bool)
    for offset in offsets:
        opened |= shifted(padded, offset)
    return opened


def isocontour_candidates(image: Volume, seed: tuple[int, int, int],
                          box: tuple[np.ndarray, np.ndarray],
                          fractions: tuple[float, ...] = FRACTIONS
                          ) -> tuple[float, list[tuple[float, BoxMask]]]:
    """Distinct isocontour masks of the local SUVmax around ``seed`` that contain it.

    Args:
        image: SUV volume ``(I, J, K)``.
        seed: ``(i, j, k)`` voxel of the click.
        box: ``(lo, hi)`` voxel bounds searched (the first patch's extent in the session: the
            region the model's own candidates cover).
        fractions: relative thresholds, largest first.
    Returns:
        ``(suv_max, pairs)``: the local SUVmax (within 10 mm of the seed) and ``(fraction,
        mask)`` pairs, smallest mask first; a fraction whose mask equals the previous one's
        (same voxel count: the family is nested) is left out.
    """
    suv_max, masks = isocontour_family(image, seed, fractions, box=box)
    out: list[tuple[float, BoxMask]] = []
    for fraction, region in zip(fractions, masks):
        if not region.any():
            continue
        candidate = BoxMask.cropped(region, box[0])
        if out and out[-1][1].voxels == candidate.voxels:
            continue
        out.append((fraction, candidate))
    return suv_max, out
