"""Hot spots: connected regions above the detection threshold, described for anatomy rules.

A hot spot is an 18-connected component of ``SUV >= threshold`` (autoPET's connectivity).
Each gets the numbers the physiological-uptake rules and the lesion prompt need: volume,
SUVmax and where it is, its position in the image-derived body frame (height relative to the
liver, distance from the midline, front/back), its extent, and how hollow it is (the
myocardium is a shell around the blood pool).

**Below the threshold: partial volume.** The scanner's blur spreads a lesion smaller than ~3
PSF widths over a larger volume, so its SUVmax falls to a fraction of its true uptake (the
recovery coefficient; ~0.3-0.6 for a 10-15 mm node at 6-9 mm FWHM). A node of true SUV 4-6
in muscle can then peak below the PERCIST level while standing out of its surroundings 4-6
fold. :func:`find_contrast_spots` finds such spots: voxels above a floor (the liver mean: the
clinical "uptake above liver" of Deauville 4) that are ``contrast`` times their local
background, the grey-level opening of the SUV with a ``window_mm`` cube (the tissue level
once every smaller bright object is removed). Only small, compact spots that touch no hot spot
are kept: a large region that never reaches the PERCIST level is not partial-volume affected
(organ, muscle, bowel), an elongated one is tubular (ureter, bowel, muscle), and a spot
touching a hot spot is that spot's blurred shoulder.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cc3d
import numpy as np
from scipy import ndimage

from seganypet.lesions.anatomy import BodyFrame

__all__ = ["ContrastSettings", "HotRegion", "HotSpot", "describe_region", "find_contrast_spots",
           "find_hot_spots", "local_hot_region"]


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
        level: the SUV cut-off it was found at (the threshold, or a contrast spot's floor).
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
    level: float = 0.0


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
              liver_z: float, scan_index, level: float = 0.0) -> HotSpot:
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
        elongation=elongation, width_mm=width, level=level,
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
    described = [_describe(frame, spots, n + 1, box, liver_z, scan_index, threshold)
                 for n, box in enumerate(boxes) if box is not None]
    return spots.astype(np.int32), described


def describe_region(frame: BodyFrame, mask: np.ndarray, liver_z: float, scan_index,
                    label: int = 0, level: float = 0.0) -> HotSpot:
    """The :class:`HotSpot` description of any non-empty RAS bool ``mask`` (e.g. a lesion's
    hot core, to test it against the organ rules on its own)."""
    box = ndimage.find_objects(mask.astype(np.uint8))[0]
    return replace(_describe(frame, mask.astype(np.int32), 1, box, liver_z, scan_index, level),
                   label=label)


def find_contrast_spots(frame: BodyFrame, floor: float, hot: np.ndarray, liver_z: float,
                        scan_index, first_label: int, settings: ContrastSettings
                        ) -> tuple[np.ndarray, list[HotSpot]]:
    """Small compact spots below the threshold that stand out of their local background
    (module docstring), labelled from ``first_label`` on (RAS label map, descriptions).

    Args:
        frame: the scan's body frame.
        floor: least SUV of a spot voxel (the liver mean).
        hot: RAS bool of the hot spots at the threshold (spots touching them are dropped).
        liver_z, scan_index: as for :func:`find_hot_spots`.
        first_label: label of the first contrast spot (after the hot spots' labels).
        settings: contrast, background window, volume and shape limits.
    """
    window = [max(3, round(settings.window_mm / d) | 1) for d in frame.spacing]
    background = ndimage.grey_opening(frame.suv, size=window)
    binary = ((frame.suv >= floor) & (frame.suv >= settings.contrast * background)
              & frame.body & ~hot)
    spots, count = cc3d.connected_components(binary, connectivity=18, return_N=True)
    if not count:
        return np.zeros(frame.suv.shape, np.int32), []
    touching = np.unique(spots[ndimage.binary_dilation(hot) & (spots > 0)])
    voxel_ml = float(np.prod(frame.spacing)) / 1000.0
    sizes = np.bincount(spots.ravel(), minlength=count + 1) * voxel_ml
    out = np.zeros(spots.shape, np.int32)
    described: list[HotSpot] = []
    for n, box in enumerate(ndimage.find_objects(spots)):
        label = n + 1
        if box is None or label in touching or not (
                settings.min_ml <= sizes[label] <= settings.max_ml):
            continue
        spot = _describe(frame, spots, label, box, liver_z, scan_index, floor)
        if spot.elongation > settings.max_elongation:
            continue
        new = first_label + len(described)
        out[box][spots[box] == label] = new
        described.append(replace(spot, label=new))
    return out, described


@dataclass(frozen=True)
class ContrastSettings:
    """Limits of :func:`find_contrast_spots` (module docstring).

    Args:
        contrast: least ratio of SUV to the local background (grey opening).
        window_mm: the opening's cube: larger than the partial-volume-affected lesions.
        min_ml, max_ml: volume range of a spot at the floor.
        max_elongation: largest ratio of principal axes (tubular structures are longer).
        min_peak_contrast: least SUVmax / the median of a 1-3 voxel shell around the spot
            (checked before the spot is prompted): below the threshold a spot must stand out
            of the tissue it lies in as a node does of muscle and fat, not as the hot part of
            a warm organ (bowel, vessels, marrow: peaks 2-3.5 times their surroundings).
    """

    contrast: float = 2.0
    window_mm: float = 30.0
    min_ml: float = 0.3
    max_ml: float = 10.0
    max_elongation: float = 2.5
    min_peak_contrast: float = 4.0


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
