"""Scanner and acquisition effects: field of view, voxel grid, attenuation bias, PSF, noise.

Order of operations, as in a real scanner + reconstruction: true activity -> (PET/MR)
attenuation-correction bias -> smooth multiplicative bias -> resolution (Gaussian PSF, which
also gives the partial-volume effect at the voxel size) -> count-dependent, spatially
correlated noise -> non-negativity (OSEM images are non-negative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from seganypet.data.anatomy import Anatomy
from seganypet.data.fields import correlated_noise, smooth_field
from seganypet.data.organs import ORGAN_IDS
from seganypet.data.shapes import RasGrid

__all__ = [
    "REFERENCE_NOISE_COV",
    "REFERENCE_VOXEL_MM3",
    "ScannerParams",
    "acquisition_grid",
    "apply_scanner",
    "sample_scanner",
]

# Axial / transaxial noise correlation: slices are reconstructed from many oblique lines of
# response but the clinical post-filter is mostly transaxial, so real scans are less correlated
# between slices than within them (STS_001 liver: lag-1 autocorrelation 0.33 axially vs ~0.45).
_AXIAL_NOISE_CORRELATION = 0.5
# Noise CoV in a uniform SUV-2 region (liver) for a 4x4x4 mm voxel at the reference count
# level; clinical whole-body FDG (EARL-compliant OSEM) shows ~10-15 % in the liver.
REFERENCE_NOISE_COV = 0.14
REFERENCE_VOXEL_MM3 = 64.0
_INPLANE_MM = (2.0, 2.73, 3.0, 3.27, 3.65, 4.0, 4.07, 4.69)  # common clinical matrices
_SLICE_MM = (2.0, 2.03, 2.79, 3.0, 3.27, 4.0, 5.0)


@dataclass(frozen=True)
class ScannerParams:
    """Acquisition and reconstruction of one case.

    Args:
        voxel_mm: output voxel size along i, j, k.
        psf_fwhm_mm: isotropic resolution (Gaussian FWHM) of the reconstructed image.
        count_level: relative counts (dose x time x sensitivity); noise std ~ 1/sqrt(count_level).
        noise_correlation_mm: FWHM of the spatial correlation of the noise.
        lung_ac_factor, bone_ac_factor: multiplicative attenuation-correction bias in lungs and
            in bone/marrow (PET/MR-style; 1 = none). MR-based AC that ignores bone
            underestimates uptake in and near bone by 10-30 %.
        bias_field: std of the log of a smooth multiplicative field (0 = none).
        fov_mm: transaxial field of view (square).
        axial_range_mm: ``(z_low, z_high)`` world mm covered, or None for the whole body.
        noise: False gives the noise-free (PSF-only) image.
    """

    voxel_mm: tuple[float, float, float] = (4.0, 4.0, 4.0)
    psf_fwhm_mm: float = 6.0
    count_level: float = 1.0
    noise_correlation_mm: float = 6.0
    lung_ac_factor: float = 1.0
    bone_ac_factor: float = 1.0
    bias_field: float = 0.0
    fov_mm: float = 600.0
    axial_range_mm: tuple[float, float] | None = None
    noise: bool = True

    @property
    def noise_cov(self) -> float:
        """Noise CoV of a uniform SUV-2 region at this voxel size and count level."""
        voxel = float(np.prod(self.voxel_mm))
        return REFERENCE_NOISE_COV * np.sqrt(REFERENCE_VOXEL_MM3 / voxel) / np.sqrt(self.count_level)


def _axial_range(rng: np.random.Generator, anatomy: Anatomy, randomized: bool) -> tuple[float, float]:
    """Vertex (or skull base) to mid-thigh, as in oncological whole-body PET."""
    bottom, top = anatomy.z_range_mm
    height = top - bottom
    high = top + rng.uniform(0, 30) if rng.random() < 0.5 else top - rng.uniform(0.07, 0.1) * height
    low = bottom + rng.uniform(0.15, 0.35) * height
    if randomized and rng.random() < 0.5:  # partial-body acquisitions of random extent
        span = rng.uniform(400.0, high - low)
        low = rng.uniform(low, high - span)
        high = low + span
    return float(low), float(high)


def sample_scanner(rng: np.random.Generator, anatomy: Anatomy, randomized: bool = False) -> ScannerParams:
    """Draw acquisition parameters: realistic clinical ranges, or wide ones for randomisation."""
    if randomized:
        inplane = rng.uniform(1.5, 6.0)
        voxel = (inplane, inplane, rng.uniform(1.5, 6.0))
        psf = rng.uniform(2.0, 12.0)
        counts = float(np.exp(rng.uniform(np.log(0.1), np.log(10.0))))
        corr = psf * rng.uniform(0.5, 1.5)
        ac = rng.random() < 0.5
        lung, bone = (rng.uniform(0.7, 1.3), rng.uniform(0.6, 1.0)) if ac else (1.0, 1.0)
        bias = rng.uniform(0.0, 0.3)
        fov = rng.uniform(400.0, 700.0)
    else:
        inplane = float(rng.choice(_INPLANE_MM))
        voxel = (inplane, inplane, float(rng.choice(_SLICE_MM)))
        psf = rng.uniform(4.0, 8.0)
        counts = float(np.exp(0.4 * rng.standard_normal()))
        corr = psf * rng.uniform(0.8, 1.2)
        ac = rng.random() < 0.2
        lung, bone = (rng.uniform(0.85, 1.15), rng.uniform(0.7, 0.9)) if ac else (1.0, 1.0)
        bias = 0.0
        fov = rng.uniform(500.0, 700.0)
    return ScannerParams(voxel_mm=tuple(float(v) for v in voxel), psf_fwhm_mm=float(psf),
                         count_level=counts, noise_correlation_mm=float(corr),
                         lung_ac_factor=float(lung), bone_ac_factor=float(bone),
                         bias_field=float(bias), fov_mm=float(fov),
                         axial_range_mm=_axial_range(rng, anatomy, randomized))


def acquisition_grid(anatomy: Anatomy, scanner: ScannerParams) -> RasGrid:
    """The voxel grid of the scan: square transaxial FOV (trimmed to the body's depth to save
    voxels), the axial range, and the voxel size."""
    torso = anatomy.body.torso
    y_lo = float(np.min(torso[:, 4] - torso[:, 2])) - 40.0
    y_hi = float(np.max(torso[:, 4] + torso[:, 2])) + 40.0
    half = scanner.fov_mm / 2
    y_lo, y_hi = max(y_lo, -half), min(y_hi, half)
    z_lo, z_hi = scanner.axial_range_mm or anatomy.z_range_mm
    lo = np.array([-half, y_lo, z_lo])
    extent = np.array([2 * half, y_hi - y_lo, z_hi - z_lo])
    spacing = np.asarray(scanner.voxel_mm, dtype=float)
    shape = np.maximum(np.round(extent / spacing).astype(int), 1)
    origin = lo + (extent - (shape - 1) * spacing) / 2  # centre the grid on the covered box
    return RasGrid(tuple(int(s) for s in shape), tuple(float(s) for s in spacing),
                tuple(float(o) for o in origin))


def _attenuation_bias(labels: np.ndarray, scanner: ScannerParams) -> np.ndarray | None:
    if scanner.lung_ac_factor == 1.0 and scanner.bone_ac_factor == 1.0:
        return None
    lut = np.ones(256, dtype=np.float32)
    lut[[ORGAN_IDS["lung_left"], ORGAN_IDS["lung_right"]]] = scanner.lung_ac_factor
    lut[[ORGAN_IDS["bone"], ORGAN_IDS["bone_marrow"]]] = scanner.bone_ac_factor
    return lut[labels]


def apply_scanner(activity: np.ndarray, organ_labels: np.ndarray, grid: RasGrid,
                  scanner: ScannerParams, rng: np.random.Generator) -> np.ndarray:
    """Turn true activity ``(I, J, K)`` SUV into a reconstructed-looking image ``(I, J, K)``.

    ``organ_labels`` (before lesions were painted, so bone lesions share the bone bias) selects
    where the attenuation-correction bias applies.
    """
    image = activity.astype(np.float32, copy=True)
    bias = _attenuation_bias(organ_labels, scanner)
    if bias is not None:
        image *= bias
    if scanner.bias_field > 0:
        field = smooth_field(grid.shape, grid.spacing, 250.0, rng)
        image *= np.exp(np.float32(scanner.bias_field) * field)
    if scanner.psf_fwhm_mm > 0:
        sigma = [scanner.psf_fwhm_mm / 2.3548 / s for s in grid.spacing]
        image = ndimage.gaussian_filter(image, sigma, truncate=3.0, mode="constant")
    if scanner.noise:
        # Poisson-like: variance proportional to the local mean; a small floor keeps the
        # faint positive speckle seen outside the body in real scans.
        std = np.float32(scanner.noise_cov) * np.sqrt(2.0 * np.maximum(image, np.float32(0.01)))
        corr = scanner.noise_correlation_mm
        image += std * correlated_noise(grid.shape, grid.spacing,
                                        (corr, corr, corr * _AXIAL_NOISE_CORRELATION), rng)
    return np.maximum(image, 0.0, out=image)
