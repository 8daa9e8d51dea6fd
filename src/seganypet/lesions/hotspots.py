"""Hot spots: connected regions above the detection threshold, described for anatomy rules.

A hot spot is an 18-connected component of ``SUV >= threshold`` (autoPET's connectivity).
Each gets the numbers the physiological-uptake rules and the lesion prompt need: volume,
SUVmax and where it is, its position in the image-derived body frame (height relative to the
liver, distance from the midline, front/back), its extent, and how hollow it is (the
myocardium is a shell around the blood pool).
"""

from __future__ import annotations

from dataclasses import dataclass

import cc3d
import numpy as np
from scipy import ndimage

from seganypet.lesions.anatomy import BodyFrame

__all__ = ["HotRegion", "HotSpot", "find_hot_spots", "local_hot_region"]


@dataclass(frozen=True)
class HotSpot:
    """One connected region above the threshold (RAS quantities from the body frame).

    Attributes:
        label: its value in the hot-spot label map (1, 2, ...).
        volume_ml: volume at the threshold.
        suv_max: its maximum; ``max_index`` the scan voxel ``(i, j, k)`` of it.
        height_mm: RAS superior distance of its centroid from the liver prompt.
        lateral_mm: distance of its centroid from the midline (> 0 = patient right).
        posterior_mm: distance of its centroid behind the body's centre in that slice.
        extent_mm: ``(3,)`` bounding-box size along RAS x, y, z.
        hollow: filled volume / volume (1 = solid; the myocardium's shell is > 1).
        elongation: ratio of the largest to the smallest principal axis (mm).
        width_mm: 4 × the SD along the smallest principal axis (~ the thickness).
    """

    label: int
    volume_ml: float
    suv_max: float
    max_index: tuple[int, int, int]
    height_mm: float
    lateral_mm: float
    posterior_mm: float
    extent_mm: tuple[float, float, float]
    hollow: float
    elongation: float
    width_mm: float


def _principal_axes(index: np.ndarray, spacing: np.ndarray) -> tuple[float, float]:
    """(largest / smallest principal SD, 4 × smallest SD) of voxel positions in mm."""
    if len(index) < 4:
        return 1.0, float(4 * spacing.min())
    # A voxel's own extent (uniform, variance d²/12) keeps one-voxel-thin spots from a 0 width.
    cov = np.cov((index * spacing).T) + np.diag(spacing**2 / 12.0)
    sd = np.sqrt(np.clip(np.linalg.eigvalsh(cov), 1e-9, None))
    return float(sd[-1] / sd[0]), float(4 * sd[0])


def _body_centre_y(frame: BodyFrame, z: int) -> float:
    ys = np.nonzero(frame.body[:, :, z].any(axis=0))[0]
    return float(ys.mean()) if ys.size else float(frame.body.shape[1] / 2)


def _describe(frame: BodyFrame, spots: np.ndarray, label: int, box: tuple[slice, ...],
              liver_z: float, scan_index) -> HotSpot:
    inside = spots[box] == label
    values = np.where(inside, frame.suv[box], -np.inf)
    local = np.unravel_index(int(np.argmax(values)), values.shape)
    ras_max = np.array([s.start + p for s, p in zip(box, local)])
    centroid = np.argwhere(inside).mean(axis=0) + np.array([s.start for s in box])
    z = int(np.clip(round(centroid[2]), 0, frame.body.shape[2] - 1))
    filled = ndimage.binary_fill_holes(inside)
    voxel_ml = float(np.prod(frame.spacing)) / 1000.0
    elongation, width = _principal_axes(np.argwhere(inside), frame.spacing)
    return HotSpot(
        label=label, volume_ml=float(inside.sum()) * voxel_ml,
        suv_max=float(frame.suv[tuple(ras_max)]), max_index=scan_index(ras_max),
        height_mm=float((centroid[2] - liver_z) * frame.spacing[2]),
        lateral_mm=float(frame.lateral_mm(centroid[None])[0]),
        posterior_mm=float((_body_centre_y(frame, z) - centroid[1]) * frame.spacing[1]),
        extent_mm=tuple(float((s.stop - s.start) * d) for s, d in zip(box, frame.spacing)),  # type: ignore[arg-type]
        hollow=float(filled.sum()) / max(int(inside.sum()), 1),
        elongation=elongation, width_mm=width,
    )


def find_hot_spots(frame: BodyFrame, threshold: float, liver_z: float, scan_index,
                   min_volume_ml: float) -> tuple[np.ndarray, list[HotSpot]]:
    """Hot spots of the frame's SUV at ``threshold`` (RAS label map, descriptions).

    Args:
        frame: the scan's body frame.
        threshold: SUV cut-off (``>=``).
        liver_z: RAS axial index of the liver prompt (heights are measured from it).
        scan_index: maps a RAS voxel index to the scan's ``(i, j, k)`` (a tuple of ints).
        min_volume_ml: smaller components (noise) are dropped.
    """
    binary = (frame.suv >= threshold) & frame.body
    spots, count = cc3d.connected_components(binary, connectivity=18, return_N=True)
    voxel_ml = float(np.prod(frame.spacing)) / 1000.0
    min_voxels = max(1, int(np.ceil(min_volume_ml / voxel_ml)))
    if count:
        spots = cc3d.dust(spots, threshold=min_voxels, connectivity=18, in_place=True)
        spots, count = cc3d.connected_components(spots > 0, connectivity=18, return_N=True)
    boxes = ndimage.find_objects(spots)
    described = [_describe(frame, spots, n + 1, box, liver_z, scan_index)
                 for n, box in enumerate(boxes) if box is not None]
    return spots.astype(np.int32), described


@dataclass(frozen=True)
class HotRegion:
    """A region around a seed (bool ``mask`` of ``box``), its local background and peak SUV."""

    mask: np.ndarray
    box: tuple[slice, ...]
    background: float
    peak: float

    def full(self, shape: tuple[int, int, int]) -> np.ndarray:
        """The mask pasted into a bool array of the whole scan."""
        out = np.zeros(shape, bool)
        out[self.box] = self.mask
        return out


def local_hot_region(suv: np.ndarray, seed: tuple[int, int, int], fraction: float,
                     floor: float, pad: int) -> HotRegion:
    """The connected region around ``seed`` above ``bg + fraction × (SUVmax − bg)``.

    ``bg`` is the median SUV of the box (``pad`` voxels each way) outside the connected region
    above ``floor`` (the detection threshold) holding the seed. The cut-off is never below
    ``floor``. ``HotRegion.background`` is the median of a 1-3 voxel shell around that region
    (the tissue the spot sits in), for the spot's contrast.
    """
    box = tuple(slice(max(s - pad, 0), min(s + pad + 1, n)) for s, n in zip(seed, suv.shape))
    crop = suv[box]
    local_seed = tuple(s - b.start for s, b in zip(seed, box))
    hot = cc3d.connected_components(crop >= floor, connectivity=18)
    spot = hot == hot[local_seed] if crop[local_seed] >= floor else np.zeros(crop.shape, bool)
    near = ndimage.binary_dilation(spot, iterations=1)
    # The cut's background: the whole box outside the spot (tissue, fat and air alike), which
    # keeps the cut low enough for a heterogeneous tumour; the contrast's background: a shell
    # 1-3 voxels around the spot, the tissue the spot sits in.
    outside = ~near
    shell = ndimage.binary_dilation(near, iterations=2) & ~near
    box_background = float(np.median(crop[outside])) if outside.any() else 0.0
    background = float(np.median(crop[shell])) if shell.any() else box_background
    peak = float(crop[spot].max()) if spot.any() else float(crop[local_seed])
    cut = max(floor, box_background + fraction * (peak - box_background))
    region = cc3d.connected_components(crop >= cut, connectivity=18)
    if crop[local_seed] < cut:
        # The seed is a shoulder voxel below the cut: take the region of the hottest voxel.
        local_seed = np.unravel_index(int(np.argmax(np.where(spot, crop, -np.inf))), crop.shape)
    return HotRegion(region == region[tuple(local_seed)], box, background, peak)
