"""SUVpeak: the highest mean SUV in a 1 cm³ sphere placed anywhere in an object.

Voxel-inclusion rule (SUVpeak definitions differ in exactly this; this is ours):

* The sphere is centred on a **voxel centre of the object** (centres are restricted to the
  mask; the sphere itself may reach outside it, as in PERCIST, so a lesion smaller than the
  sphere gets a peak below its maximum - partial-volume behaviour users expect).
* A voxel belongs to the sphere when its **centre** lies within ``radius_mm`` of the sphere
  centre, distances measured in millimetres through the affine, so anisotropic (and
  oblique) voxel grids are honoured.
* The default radius is that of a 1 cm³ sphere, ``(3000 / 4π)^(1/3) = 6.2035`` mm.
* Near the edge of the image only voxels inside the image are averaged (the mean is the
  sum over in-image sphere voxels divided by their count).

The local means are computed for every voxel of the object's bounding box at once with an
FFT convolution (``scipy.signal.fftconvolve``), never with a Python loop over voxels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from seganypet.errors import InputError
from seganypet.quantify.masks import mask_on_grid
from seganypet.volume import Volume

__all__ = [
    "PEAK_RADIUS_MM",
    "PeakResult",
    "local_sphere_means",
    "padded_box",
    "peak_in_box",
    "sphere_kernel",
    "suv_peak",
]

# Radius of a sphere of 1 ml = 1000 mm³.
PEAK_RADIUS_MM = (3000.0 / (4.0 * math.pi)) ** (1.0 / 3.0)

# Distances are compared with this slack so that voxels lying exactly on the sphere
# (e.g. 6 mm away on a 2 mm grid with radius 6) are included despite rounding.
_RADIUS_TOLERANCE_MM = 1e-6


@dataclass(frozen=True)
class PeakResult:
    """SUVpeak of one object.

    Attributes:
        value: the highest sphere mean (image units, e.g. SUVbw).
        index: ``(i, j, k)`` voxel index of the sphere centre that gives it.
        sphere_voxels: number of voxels averaged at that centre (in-image voxels of the sphere).
    """

    value: float
    index: tuple[int, int, int]
    sphere_voxels: int


def sphere_kernel(affine: np.ndarray, radius_mm: float) -> np.ndarray:
    """Boolean ``(2a+1, 2b+1, 2c+1)`` kernel of the voxel offsets whose centres lie within
    ``radius_mm`` of the central voxel centre, distances through ``affine[:3, :3]`` (mm).
    """
    if not radius_mm > 0:
        raise InputError(f"sphere radius must be positive, got {radius_mm} mm")
    linear = np.asarray(affine, dtype=np.float64)[:3, :3]
    # Half-widths along each index axis: the largest offset along axis n of any point within
    # the radius is radius * ||row n of inv(A)||, valid for oblique grids as well.
    half = np.floor(radius_mm * np.linalg.norm(np.linalg.inv(linear), axis=1) + 1e-9).astype(int)
    offsets = np.stack(
        np.meshgrid(*[np.arange(-h, h + 1) for h in half], indexing="ij"), axis=-1
    )  # (2a+1, 2b+1, 2c+1, 3)
    distance_mm = np.linalg.norm(offsets @ linear.T, axis=-1)
    return distance_mm <= radius_mm + _RADIUS_TOLERANCE_MM


def padded_box(
    box: tuple[slice, ...], half: np.ndarray | tuple[int, ...], shape: tuple[int, ...]
) -> tuple[slice, ...]:
    """``box`` grown by ``half`` voxels per axis and clipped to an array of ``shape``."""
    return tuple(
        slice(max(s.start - h, 0), min(s.stop + h, n)) for s, h, n in zip(box, half, shape)
    )


def local_sphere_means(
    image: np.ndarray, kernel: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``image`` over the kernel sphere centred at every voxel.

    Args:
        image: ``(I, J, K)`` values.
        kernel: boolean ``(a, b, c)`` sphere with odd edges (from :func:`sphere_kernel`).

    Returns:
        ``(means, counts)``, both ``(I, J, K)``: the sphere mean at each centre and the number
        of in-image voxels it averaged (zero padding outside the image is divided out).
    """
    weights = kernel.astype(np.float64)
    # The kernel is point-symmetric, so convolution equals correlation here.
    sums = signal.fftconvolve(image.astype(np.float64), weights, mode="same")
    counts = np.rint(signal.fftconvolve(np.ones(image.shape), weights, mode="same"))
    return sums / np.maximum(counts, 1.0), counts.astype(np.int64)


def peak_in_box(values: np.ndarray, inside: np.ndarray, kernel: np.ndarray) -> PeakResult:
    """SUVpeak of the object ``inside`` within a box cut from the image.

    Args:
        values: ``(a, b, c)`` image values of a box that extends at least ``kernel.shape // 2``
            voxels beyond the object on every side, except where it touches the image edge.
        inside: ``(a, b, c)`` boolean object mask in the same box (not empty).
        kernel: boolean sphere from :func:`sphere_kernel`.

    Returns:
        The peak, with ``index`` relative to the box.
    """
    means, counts = local_sphere_means(values, kernel)
    # argmax over object voxels only; ties go to the first voxel in C order.
    candidates = np.where(inside, means, -np.inf)
    local = np.unravel_index(int(np.argmax(candidates)), candidates.shape)
    index = tuple(int(p) for p in local)
    return PeakResult(float(means[local]), index, int(counts[local]))  # type: ignore[arg-type]


def suv_peak(
    image: Volume, mask: Volume | np.ndarray, radius_mm: float = PEAK_RADIUS_MM
) -> PeakResult:
    """SUVpeak of the object ``mask`` in ``image`` (see the module docstring for the rule).

    Args:
        image: SUV volume ``(I, J, K)``.
        mask: ``(I, J, K)`` boolean/0-1 object mask on the same grid (Volume or array).
        radius_mm: sphere radius; default 6.2035 mm (1 cm³).

    Raises:
        InputError: if the mask is empty or not on the image grid.
    """
    mask_array = mask_on_grid(image, mask)
    if not mask_array.any():
        raise InputError("cannot compute SUVpeak of an empty mask")
    kernel = sphere_kernel(image.affine, radius_mm)
    box = ndimage.find_objects(mask_array.astype(np.uint8))[0]
    box = padded_box(box, np.asarray(kernel.shape) // 2, mask_array.shape)
    peak = peak_in_box(np.asarray(image.array)[box], mask_array[box], kernel)
    index = tuple(int(p + s.start) for p, s in zip(peak.index, box))
    return PeakResult(peak.value, index, peak.sphere_voxels)  # type: ignore[arg-type]
