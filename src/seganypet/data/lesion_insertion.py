"""Insert synthetic lesions into a real PET scan: real background texture, known truth.

Hybrid lesion insertion is the usual way to get ground truth on real PET backgrounds: real
scans with expert masks are few, and no phantom generator has real anatomy, real tracer
texture and real reconstruction noise at once. The lesion's true uptake ``u`` replaces the
background inside its support, seen through the scanner's resolution, and the added counts
bring their own noise:

    I' = I + G_psf * (obj * (u - S(I))) + sd(a) * n

``S(I)`` is the image smoothed over about one voxel (the local background without its noise),
``G_psf`` a Gaussian of the scanner's FWHM, ``a`` the added activity (positive part), ``n``
unit noise correlated over ``noise_fwhm_mm``. Exact for a uniform background; where a lesion
overlaps an organ it displaces the organ's activity, as a real node displaces tissue. ``u`` is
solved so that the image's peak inside the lesion equals the requested SUVmax before the added
noise, partial-volume loss included (a small lesion needs a larger ``u``), because issue-style
descriptions of real lesions give the measured SUVmax, not the true uptake.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from seganypet.data.fields import correlated_noise
from seganypet.data.scanner import REFERENCE_NOISE_COV, REFERENCE_VOXEL_MM3
from seganypet.data.shapes import Ellipsoid, RasGrid, ellipsoid_mask, rotation_matrix
from seganypet.quantify.peak import padded_box
from seganypet.volume import Volume

__all__ = ["InsertedLesion", "insert_lesion", "lesion_solid", "touching_centres"]

_FWHM_TO_SIGMA = 1.0 / 2.3548


@dataclass(frozen=True)
class InsertedLesion:
    """One scan with one inserted lesion.

    Attributes:
        image: the scan with the lesion, same grid and affine as the input.
        truth: ``(I, J, K)`` bool, the lesion's support (its true extent, before blurring).
        uptake: the true SUV ``u`` inside the lesion.
        suv_max: the image's peak inside ``truth`` (noise included).
    """

    image: Volume
    truth: np.ndarray
    uptake: float
    suv_max: float

    @property
    def volume_ml(self) -> float:
        return float(self.truth.sum() * self.image.voxel_volume_ml)


def _index_grid(image: Volume) -> RasGrid:
    """A grid in voxel-index mm (``index * |spacing|``): shapes keep their size and proportions
    on any affine, and the truth lands on the image's own voxels."""
    return RasGrid(image.shape, tuple(abs(float(s)) for s in image.spacing), (0.0, 0.0, 0.0))


def lesion_solid(rng: np.random.Generator, centre_mm: np.ndarray, volume_ml: float,
                 deform_sd: float = 0.05) -> Ellipsoid:
    """A smooth, mildly irregular ellipsoid of about ``volume_ml`` at ``centre_mm``.

    Aspect ratios ``exp(0.15 N(0, 1))`` at constant volume and a random orientation, as the
    phantom generator's lesions; the radial modulation is clipped at +-0.2 so the surface
    never folds.
    """
    radius = (3.0 * volume_ml * 1000.0 / (4.0 * np.pi)) ** (1.0 / 3.0)
    aspect = np.exp(0.15 * rng.standard_normal(3))
    aspect /= np.prod(aspect) ** (1.0 / 3.0)
    return Ellipsoid(np.asarray(centre_mm, float), radius * aspect,
                     rotation_matrix(rng.uniform(0.0, np.pi, 3)),
                     np.clip(deform_sd * rng.standard_normal(9), -0.2, 0.2))


def _solve_uptake(base: np.ndarray, gain: np.ndarray, inside: np.ndarray, suv_max: float) -> float:
    """The ``u`` with ``max(base + u * gain)`` over ``inside`` equal to ``suv_max``.

    The peak is a maximum of increasing affine functions of ``u`` (``gain >= 0``), so it is
    increasing and convex in ``u``; bisection on a bracket that grows until it holds the answer.
    """
    base, gain = base[inside], gain[inside]
    lo, hi = 0.0, max(float(suv_max), 1.0)
    while np.max(base + hi * gain) < suv_max:
        hi *= 2.0
        if hi > 1e6:
            raise ValueError("the lesion cannot reach the requested SUVmax (no support inside?)")
    if np.max(base + lo * gain) >= suv_max:
        return lo
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.max(base + mid * gain) < suv_max else (lo, mid)
    return 0.5 * (lo + hi)


def insert_lesion(image: Volume, solid: Ellipsoid, suv_max: float, rng: np.random.Generator, *,
                  psf_fwhm_mm: float = 6.5, noise_cov: float = REFERENCE_NOISE_COV,
                  noise_fwhm_mm: float = 6.0) -> InsertedLesion:
    """Insert the lesion ``solid`` (in voxel-index mm, ``index * |spacing|``) into ``image``.

    Args:
        image: SUV volume ``(I, J, K)``; never modified.
        solid: the lesion's shape, e.g. from :func:`lesion_solid`.
        suv_max: the image's peak SUV inside the lesion before the added noise.
        rng: noise source.
        psf_fwhm_mm: scanner resolution (clinical whole-body FDG: 5-8 mm).
        noise_cov: noise CoV of a uniform SUV-2 region at a 4 mm voxel (the phantom
            generator's convention, scaled to the image's voxel); 0 adds no noise.
        noise_fwhm_mm: spatial correlation of that noise.
    Raises:
        ValueError: if the solid covers no voxel of the image.
    """
    grid = _index_grid(image)
    found = ellipsoid_mask(grid, solid)
    if found is None or not found[1].any():
        raise ValueError("the lesion covers no voxel of the image")
    sigma = psf_fwhm_mm * _FWHM_TO_SIGMA / np.asarray(grid.spacing)
    box = padded_box(found[0], (np.ceil(4.0 * sigma) + 2).astype(int), image.shape)
    _, obj = ellipsoid_mask(grid, solid, box=box)
    values = np.asarray(image.array[box], np.float64)
    background = ndimage.gaussian_filter(values, 1.0, mode="nearest")  # sigma one voxel
    gain = ndimage.gaussian_filter(obj.astype(np.float64), sigma, mode="nearest")
    displaced = ndimage.gaussian_filter(obj * background, sigma, mode="nearest")
    uptake = _solve_uptake(values - displaced, gain, obj, suv_max)
    added = uptake * gain - displaced
    if noise_cov > 0:
        voxel_mm3 = float(np.prod(grid.spacing))
        # sd of a count-limited image grows as sqrt(SUV): sd(2) = cov * 2 at the reference voxel
        scale = noise_cov * np.sqrt(REFERENCE_VOXEL_MM3 / voxel_mm3) * np.sqrt(2.0)
        noise = correlated_noise(values.shape, grid.spacing, noise_fwhm_mm, rng)
        added = added + scale * np.sqrt(np.maximum(added, 0.0)) * noise
    out = np.array(image.array, dtype=np.float32, copy=True)
    out[box] = np.maximum(values + added, 0.0).astype(np.float32)
    truth = np.zeros(image.shape, bool)
    truth[box] = obj
    return InsertedLesion(image.with_array(out), truth, float(uptake), float(out[box][obj].max()))


def touching_centres(image: Volume, radius_mm: float, *, hot_suv: float = 2.5,
                     max_centre_suv: float = 2.0, body_suv: float = 0.3,
                     k_range: tuple[int, int] | None = None,
                     exclude: np.ndarray | None = None) -> np.ndarray:
    """Voxels where a lesion of ``radius_mm`` would touch physiological uptake.

    A voxel qualifies when it lies in the body (smoothed SUV >= ``body_suv``), below
    ``max_centre_suv`` (not inside an organ of high uptake), at ``radius_mm`` (+- one voxel)
    from the nearest voxel of smoothed SUV >= ``hot_suv`` (the lesion's surface then meets that
    uptake: salivary glands and tonsils, heart, kidneys, bladder, bowel), within ``k_range``
    slices and farther than ``radius_mm`` + 10 mm from ``exclude`` (an existing lesion).

    Returns:
        ``(N, 3)`` int voxel indices, in C order.
    """
    spacing = np.abs(np.asarray(image.spacing, float))
    smooth = ndimage.gaussian_filter(np.asarray(image.array, np.float32), 1.0)
    hot = smooth >= hot_suv
    if not hot.any():
        return np.zeros((0, 3), int)
    to_hot = ndimage.distance_transform_edt(~hot, sampling=spacing)
    ok = (smooth >= body_suv) & (smooth < max_centre_suv) & (np.abs(to_hot - radius_mm) <= spacing.max())
    if k_range is not None:
        ok[:, :, :k_range[0]] = False
        ok[:, :, k_range[1]:] = False
    if exclude is not None and exclude.any():
        ok &= ndimage.distance_transform_edt(~exclude.astype(bool), sampling=spacing) > radius_mm + 10.0
    return np.argwhere(ok)
