"""PERCIST 1.0 liver reference: a 3 cm sphere in the liver and the measurability threshold.

PERCIST places a 3 cm diameter sphere in normal right-lobe liver and calls a lesion
measurable when its SULpeak >= 1.5 × liver mean + 2 × liver SD (Wahl et al. 2009; ECOSYSTEM.md
§3.2). PERCIST uses SUL (lean-body-mass SUV); this module works in the image's own unit, so
pass a SUL image to follow PERCIST to the letter.

Automatic placement (documented because readers place it by eye):

* The sphere centre is the **deepest liver voxel**: the one farthest (in mm, Euclidean
  distance transform with the voxel spacing) from any non-liver voxel; ties go to the first
  voxel in C order. In a whole-liver mask this lands in the bulky right lobe, away from the
  edges, which is what the rule asks for. A user-chosen centre may be passed instead.
* The sphere holds the voxels whose centres lie within 15 mm of the centre (anisotropic
  spacing honoured, as for SUVpeak), **intersected with the liver mask**, so a liver too thin
  for the sphere still gives a reference (``fits_inside`` is then False).
* The SD is the population SD (``ddof = 0``), as for the region statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from seganypet.errors import InputError
from seganypet.quantify.masks import mask_on_grid
from seganypet.quantify.peak import padded_box, sphere_kernel
from seganypet.volume import Volume

__all__ = ["LIVER_SPHERE_DIAMETER_MM", "LiverReference", "deepest_voxel", "liver_reference"]

LIVER_SPHERE_DIAMETER_MM = 30.0


@dataclass(frozen=True)
class LiverReference:
    """The PERCIST liver reference.

    Attributes:
        mean, sd: mean and population SD of the image in the liver sphere.
        threshold: ``1.5 * mean + 2 * sd``, the minimum measurable lesion peak.
        centre_index: ``(i, j, k)`` sphere centre; ``centre_mm`` the same in RAS mm.
        voxel_count: voxels averaged (sphere ∩ liver ∩ image).
        fits_inside: True when the whole sphere lies inside the liver mask.
    """

    mean: float
    sd: float
    threshold: float
    centre_index: tuple[int, int, int]
    centre_mm: tuple[float, float, float]
    voxel_count: int
    fits_inside: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "mean": self.mean, "sd": self.sd, "threshold": self.threshold,
            "centre_index": list(self.centre_index), "centre_mm": list(self.centre_mm),
            "voxel_count": self.voxel_count, "fits_inside": self.fits_inside,
        }


def deepest_voxel(image: Volume, mask: np.ndarray) -> tuple[tuple[int, int, int], float]:
    """The mask voxel farthest from the mask's outside, and that distance in mm.

    Args:
        image: gives the voxel spacing.
        mask: non-empty boolean ``(I, J, K)`` mask on the image grid.
    """
    box = padded_box(ndimage.find_objects(mask.astype(np.uint8))[0], (1, 1, 1), mask.shape)
    # Pad by one background voxel so that a mask touching the image edge still has an outside.
    crop = np.pad(mask[box], 1)
    depth = ndimage.distance_transform_edt(crop, sampling=image.spacing)
    local = np.unravel_index(int(np.argmax(depth)), depth.shape)
    index = tuple(int(p - 1 + s.start) for p, s in zip(local, box))
    return index, float(depth[local])  # type: ignore[return-value]


def _sphere_mask(image: Volume, centre: tuple[int, int, int], radius_mm: float) -> np.ndarray:
    """Boolean ``(I, J, K)`` mask of the voxels whose centres lie within ``radius_mm`` of ``centre``."""
    kernel = sphere_kernel(image.affine, radius_mm)
    half = np.asarray(kernel.shape) // 2
    out = np.zeros(image.shape, dtype=bool)
    lo = np.asarray(centre) - half
    target = tuple(slice(max(a, 0), min(a + k, n)) for a, k, n in zip(lo, kernel.shape, image.shape))
    source = tuple(slice(t.start - a, t.stop - a) for t, a in zip(target, lo))
    out[target] = kernel[source]
    return out


def liver_reference(
    image: Volume,
    liver: Volume | np.ndarray,
    centre: tuple[int, int, int] | None = None,
    diameter_mm: float = LIVER_SPHERE_DIAMETER_MM,
) -> LiverReference:
    """PERCIST liver reference of ``image`` from a liver mask (see the module docstring).

    Args:
        image: SUV (or SUL) volume ``(I, J, K)``.
        liver: boolean ``(I, J, K)`` liver mask on the image grid.
        centre: sphere centre ``(i, j, k)``; default the deepest liver voxel.
        diameter_mm: sphere diameter (30 mm in PERCIST).

    Raises:
        InputError: if the liver mask is empty or the centre lies outside the liver.
    """
    liver_mask = mask_on_grid(image, liver)
    if not liver_mask.any():
        raise InputError("the liver mask is empty; check the liver label id (--liver-label)")
    depth_index, _ = deepest_voxel(image, liver_mask)
    if centre is None:
        centre = depth_index
    elif not (image.contains_index(centre) and liver_mask[tuple(centre)]):
        raise InputError(f"liver sphere centre {tuple(centre)} is not a liver voxel")
    sphere = _sphere_mask(image, tuple(int(c) for c in centre), diameter_mm / 2.0)  # type: ignore[arg-type]
    values = np.asarray(image.array, dtype=np.float64)[sphere & liver_mask]
    mean, sd = float(values.mean()), float(values.std())
    return LiverReference(
        mean=mean, sd=sd, threshold=1.5 * mean + 2.0 * sd,
        centre_index=tuple(int(c) for c in centre),  # type: ignore[arg-type]
        centre_mm=tuple(float(v) for v in image.index_to_world(centre)),  # type: ignore[arg-type]
        voxel_count=int(values.size),
        fits_inside=bool(not np.any(sphere & ~liver_mask)),
    )
