"""An anatomical frame derived from the PET image alone: body outline, axial midline, RAS axes.

Lesion mode needs to know "where is the patient's right", "which way is the head" and "how
far from the midline" without any atlas or fixed box. Everything here comes from the image:

* the scan is viewed in the closest RAS axis order (flips/permutations only, nibabel's
  orientation tools), so array axis 0 runs towards the patient's right, 1 posterior -> anterior and
  2 inferior -> superior whatever the file's orientation;
* the **body** is the largest connected region of the lightly smoothed SUV above a floor
  (a quarter of the median smoothed uptake of the tissue, at least 0.1): fat has SUV ~0.3,
  air ~0, so the outline is stable across tracers; holes (lungs) are filled slice by slice;
* the **midline** of every axial slice is the body's centroid along right-left there.

Arrays in a :class:`BodyFrame` are in the canonical (RAS) order; :meth:`BodyFrame.to_scan`
maps any of them back onto the scan's own array order.
"""

from __future__ import annotations

from dataclasses import dataclass

import cc3d
import numpy as np
from scipy import ndimage

from seganypet import orientation
from seganypet.errors import InputError
from seganypet.grid import Grid
from seganypet.volume import Volume

__all__ = ["BodyFrame", "body_frame"]

# SUV below which nothing is tissue, whatever the tracer (air/outside the body is ~0).
_MIN_BODY_SUV = 0.1


@dataclass(frozen=True)
class BodyFrame:
    """The image-derived frame of one scan (canonical RAS array order).

    Attributes:
        suv: ``(X, Y, Z)`` SUV in RAS order (axis 0 -> right, 1 -> anterior, 2 -> superior).
        spacing: ``(3,)`` voxel size in mm along those axes.
        body: ``(X, Y, Z)`` bool body mask (holes filled per axial slice).
        midline: ``(Z,)`` right-left index of the body centroid per axial slice (NaN where no body).
        tissue_median: median SUV of the body (the background uptake level).
    """

    suv: np.ndarray
    spacing: np.ndarray
    body: np.ndarray
    midline: np.ndarray
    tissue_median: float
    grid: Grid  # the scan's grid, which decides the reorientation

    def to_ras(self, array: np.ndarray) -> np.ndarray:
        """A scan-order ``(I, J, K)`` array in this frame's RAS order."""
        return orientation.to_ras(self.grid, array)

    def to_scan(self, array: np.ndarray) -> np.ndarray:
        """A RAS-order array back in the scan's ``(I, J, K)`` order (C-contiguous copy)."""
        return orientation.from_ras(self.grid, array)

    def scan_index(self, ras_index: np.ndarray) -> tuple[int, int, int]:
        """A RAS voxel index ``(3,)`` of this frame as the scan's ``(i, j, k)``."""
        index = orientation.scan_index(self.grid, np.asarray(ras_index).astype(int))
        return tuple(int(v) for v in index)  # type: ignore[return-value]

    def lateral_mm(self, index: np.ndarray) -> np.ndarray:
        """Signed distance (mm) of RAS voxel indices ``(N, 3)`` from the midline; > 0 = patient right
        (RAS+: x grows towards the patient's right)."""
        index = np.atleast_2d(index)
        z = np.clip(np.rint(index[:, 2]).astype(int), 0, self.midline.size - 1)
        return (index[:, 0] - self.midline[z]) * self.spacing[0]


def _body_mask(smooth: np.ndarray) -> tuple[np.ndarray, float]:
    tissue = smooth[smooth > _MIN_BODY_SUV]
    if tissue.size == 0:
        raise InputError("the image holds no uptake above SUV 0.1; is it in SUV?")
    floor = max(_MIN_BODY_SUV, 0.25 * float(np.median(tissue)))
    body = cc3d.largest_k(smooth > floor, k=1, connectivity=6) > 0
    # Lungs and bowel gas are holes inside the outline: fill them in every axial slice.
    for z in range(body.shape[2]):
        if body[:, :, z].any():
            body[:, :, z] = ndimage.binary_fill_holes(body[:, :, z])
    return body, float(np.median(smooth[body]))


def _midline(body: np.ndarray) -> np.ndarray:
    counts = body.sum(axis=(0, 1)).astype(np.float64)
    x = np.arange(body.shape[0], dtype=np.float64)[:, None, None]
    weighted = (body * x).sum(axis=(0, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, weighted / counts, np.nan)


def body_frame(image: Volume) -> BodyFrame:
    """The :class:`BodyFrame` of a whole-body SUV scan ``(I, J, K)``.

    Raises:
        InputError: when the image holds no tissue-level uptake.
    """
    suv = orientation.to_ras(image.grid, np.asarray(image.array, dtype=np.float32))
    spacing = orientation.ras_spacing(image.grid)
    smooth = ndimage.gaussian_filter(suv, 1.0)
    body, median = _body_mask(smooth)
    return BodyFrame(suv=suv, spacing=spacing, body=body, midline=_midline(body),
                     tissue_median=median, grid=image.grid)
