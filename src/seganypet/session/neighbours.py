"""A hotter neighbour beside the click, and the clicked structure's own territory.

A node touching the bladder, a kidney or the heart has a neighbour far hotter than itself:
every isocontour of the local SUVmax (which within 10 mm is the neighbour's) is the neighbour,
and the model's masks there take it in (x20-x90 the node on lesions inserted into real scans,
``benchmarks/hybrid_lesions.py``). Uptake alone says where the node ends: between the click and
the neighbour lies the neighbour's steep edge. A marker-controlled watershed on the gradient
magnitude (the textbook split of touching objects of different intensity; no valley between
them is needed, unlike a watershed on the intensity, and touching objects blurred by the PSF
often have none) divides the first patch into the click's territory and the neighbour's.
The split is trusted only where the clicked part faces its own territory over most of its
surface (:meth:`Territory.faces_own_side`): a node touches the bladder on one side, while a
"territory" that is a pocket enclosed by hotter uptake is the cooler part of one heterogeneous
tumour, not a structure of its own (v1 of the rule cut 10 of 20 real sarcomas to such pockets).

The neighbour is every component of voxels hotter than ``HOTTER`` (1.5) times the clicked
structure's own peak (the smoothed SUVmax within ``OWN_PEAK_MM`` of the click) that lies **to one
side** of the click: its centroid is farther from the click than half its RMS radius. A hot rim
around a cold click (a necrotic tumour) surrounds the click and is not a neighbour, so such
tumours keep their rim. Both constants were declared in docs/results.md before measuring.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cc3d
import numpy as np
from scipy import ndimage

from seganypet.quantify.peak import sphere_kernel
from seganypet.session.safety_net import BoxMask, mask_shells, region_over, zero_padded
from seganypet.volume import Volume

__all__ = ["HOTTER", "OWN_PEAK_MM", "HotterNeighbours", "Territory", "clicked_territory",
           "hotter_neighbours"]

HOTTER = 1.5
OWN_PEAK_MM = 5.0
_LEVELS = 4095  # gradient quantisation for scipy's watershed (uint16 input)


@dataclass(frozen=True)
class HotterNeighbours:
    """Hotter structures to one side of a click, and the box they were found in.

    Attributes:
        lo: ``(3,)`` first voxel of the box (the first patch's extent).
        values: ``(a, b, c)`` float32 SUV of the box.
        markers: ``(a, b, c)`` int16 watershed markers: 2 the neighbours' hot cores, 1 the
            click's ball of ``OWN_PEAK_MM``, 0 elsewhere.
        own_peak: SUV, the clicked structure's peak (smoothed, within ``OWN_PEAK_MM``).
    """

    lo: np.ndarray
    values: np.ndarray
    markers: np.ndarray
    own_peak: float

    @property
    def box(self) -> tuple[np.ndarray, np.ndarray]:
        """``(lo, hi)`` voxel bounds of the box."""
        return self.lo, self.lo + np.asarray(self.values.shape)


@dataclass(frozen=True)
class Territory:
    """The click's side of the watershed against a hotter neighbour.

    Attributes:
        neighbours: the hotter neighbours and the box they were found in.
        inside: ``(a, b, c)`` bool, the click's territory within the box.
    """

    neighbours: HotterNeighbours
    inside: np.ndarray

    @property
    def lo(self) -> np.ndarray:
        """``(3,)`` first voxel of the box (the first patch's extent)."""
        return self.neighbours.lo

    @property
    def box(self) -> tuple[np.ndarray, np.ndarray]:
        """``(lo, hi)`` voxel bounds of the box."""
        return self.neighbours.box

    @property
    def own_peak(self) -> float:
        """SUV, the clicked structure's peak (smoothed, within ``OWN_PEAK_MM``)."""
        return self.neighbours.own_peak

    @cached_property
    def core(self) -> np.ndarray:
        """``(a, b, c)`` bool, the neighbour's hot core (its watershed marker)."""
        return self.neighbours.markers == 2

    def _over(self, lo: np.ndarray, shape: tuple[int, ...], field: np.ndarray) -> np.ndarray:
        """``field`` (the box's ``inside`` or ``core``) over the voxel box ``[lo, lo + shape)``,
        False outside this territory's box."""
        return region_over(field, self.lo, lo, shape)

    def clip(self, mask: BoxMask) -> BoxMask:
        """``mask`` restricted to the click's territory (outside the box counts as outside)."""
        if mask.voxels == 0:
            return mask
        return BoxMask.cropped(mask.array & self._over(mask.lo, mask.array.shape, self.inside),
                               mask.lo)

    def share_outside(self, mask: BoxMask) -> float:
        """Share of ``mask``'s voxels in the neighbour's territory (0 for an empty mask)."""
        if mask.voxels == 0:
            return 0.0
        return 1.0 - float(self.clip(mask).voxels) / mask.voxels

    def core_share(self, mask: BoxMask) -> float:
        """Share of the neighbour's hot core that ``mask`` holds."""
        core = self._over(mask.lo, mask.array.shape, self.core)
        return float((core & mask.array).sum()) / max(int(self.core.sum()), 1)

    def faces_own_side(self, mask: BoxMask) -> float:
        """Share of ``mask``'s outer one-voxel shell (6-connected) in the click's territory;
        shell voxels outside the box count as outside it."""
        if mask.voxels == 0:
            return 0.0
        lo, grown = mask.lo - 1, zero_padded(mask.array, 1)
        _, outer = mask_shells(grown)
        own = outer & self._over(lo, grown.shape, self.inside)
        return float(own.sum()) / max(int(outer.sum()), 1)

    def own_side_step(self, image: Volume, mask: BoxMask) -> float:
        """Mean SUV of ``mask``'s inner shell minus that of its outer-shell voxels in the click's
        territory (the surface against the neighbour left out): the uptake edge the clicked
        part has against its own surroundings; -inf for an empty mask. The territory lies within
        the image, so its outer-shell voxels do too."""
        if mask.voxels == 0:
            return float("-inf")
        lo, grown = mask.lo - 1, zero_padded(mask.array, 1)
        inner, outer = mask_shells(grown)
        own = outer & self._over(lo, grown.shape, self.inside)
        values = region_over(image.array, np.zeros(3, int), lo, grown.shape)  # 0 off the image
        outside = float(values[own].astype(np.float64).mean()) if own.any() else 0.0
        return float(values[inner].astype(np.float64).mean()) - outside


def _ball_offsets(image: Volume, radius_mm: float) -> np.ndarray:
    """``(N, 3)`` voxel offsets whose centres lie within ``radius_mm`` of the central voxel."""
    kernel = sphere_kernel(image.affine, radius_mm)
    return np.argwhere(kernel) - np.asarray(kernel.shape) // 2


def _to_one_side(coords: np.ndarray, click: np.ndarray, spacing: np.ndarray) -> bool:
    """Whether the voxels ``coords (N, 3)`` lie to one side of ``click`` rather than around it."""
    mm = coords * spacing
    centroid = mm.mean(axis=0)
    spread = float(np.sqrt(np.mean(np.sum((mm - centroid) ** 2, axis=1))))
    return float(np.linalg.norm(centroid - click * spacing)) > 0.5 * spread


def hotter_neighbours(image: Volume, seed: tuple[int, int, int],
                      box: tuple[np.ndarray, np.ndarray]) -> HotterNeighbours | None:
    """Components hotter than ``HOTTER`` times the click's own peak lying to one side of
    ``seed`` (``(i, j, k)``) within ``box`` (``(lo, hi)``, the first patch's extent), or None
    when there is none."""
    lo, hi = (np.asarray(b, int) for b in box)
    spacing = np.abs(np.asarray(image.spacing, float))
    values = np.asarray(image.array[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]], np.float32)
    smooth = ndimage.gaussian_filter(values, 1.0)
    click = np.asarray(seed) - lo
    ball = click + _ball_offsets(image, OWN_PEAK_MM)
    ball = ball[np.all((ball >= 0) & (ball < smooth.shape), axis=1)]
    own_peak = float(smooth[tuple(ball.T)].max())
    if own_peak <= 0:
        return None
    hot = smooth > HOTTER * own_peak
    if not hot.any():
        return None
    labels = cc3d.connected_components(hot.astype(np.uint8), connectivity=26)
    markers = np.zeros(smooth.shape, np.int16)
    for label, extent in enumerate(ndimage.find_objects(labels), start=1):
        part = labels[extent] == label
        coords = np.argwhere(part) + [s.start for s in extent]
        if _to_one_side(coords, click, spacing):
            markers[extent][part] = 2
    if not (markers == 2).any():
        return None
    markers[tuple(ball.T)] = np.where(hot[tuple(ball.T)], markers[tuple(ball.T)], 1)
    return HotterNeighbours(lo, values, markers, own_peak)


def clicked_territory(image: Volume, seed: tuple[int, int, int],
                      box: tuple[np.ndarray, np.ndarray],
                      focus: tuple[np.ndarray, np.ndarray] | None = None,
                      neighbours: HotterNeighbours | None = None) -> Territory | None:
    """The click's territory against a hotter neighbour within ``box``, or None without one.

    Args:
        image: SUV volume ``(I, J, K)``.
        seed: ``(i, j, k)`` voxel of the click.
        box: ``(lo, hi)`` voxel bounds (the first patch's extent): the neighbour and its hot
            core are found here.
        focus: ``(lo, hi)`` bounds of the watershed, within ``box`` (default all of it); the
            territory is empty outside. The watershed is the costly step (0.12 s on the 0.8 M
            voxels of a whole-body patch box), and the caller needs it only around its mask.
        neighbours: :func:`hotter_neighbours` of the same click and box, if already found.
    """
    if neighbours is None:
        neighbours = hotter_neighbours(image, seed, box)
    if neighbours is None:
        return None
    window = _window(neighbours.box, focus)
    inside = np.zeros(neighbours.values.shape, bool)
    inside[window] = _clicked_basin(neighbours.values[window], neighbours.markers[window])
    return Territory(neighbours, inside)


def _clicked_basin(values: np.ndarray, markers: np.ndarray) -> np.ndarray:
    """The click's basin (marker 1) of the marker-controlled watershed on the gradient magnitude
    of ``values (a, b, c)``."""
    gradient = ndimage.gaussian_gradient_magnitude(values, 1.0)
    scaled = np.rint(gradient / max(float(gradient.max()), 1e-6) * _LEVELS).astype(np.uint16)
    return ndimage.watershed_ift(scaled, markers) == 1


def _window(box: tuple[np.ndarray, np.ndarray],
            focus: tuple[np.ndarray, np.ndarray] | None) -> tuple[slice, slice, slice]:
    """Slices of ``focus`` (clipped to ``box``) in the box's own coordinates."""
    lo, hi = (np.asarray(b, int) for b in box)
    if focus is None:
        return tuple(slice(0, int(n)) for n in hi - lo)  # type: ignore[return-value]
    start = np.clip(np.asarray(focus[0], int), lo, hi) - lo
    stop = np.clip(np.asarray(focus[1], int), lo, hi) - lo
    return tuple(slice(int(a), int(b)) for a, b in zip(start, stop))  # type: ignore[return-value]
