"""Smooth random fields: organ texture, bias fields, correlated noise."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["smooth_field", "correlated_noise"]


def smooth_field(shape: tuple[int, int, int], spacing_mm: tuple[float, float, float],
                 correlation_mm: float, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean, unit-std random field ``(I, J, K)`` float32, smooth over ``correlation_mm``.

    White noise on a coarse lattice (one node per ``correlation_mm``) upsampled linearly:
    ~10x cheaper than Gaussian-filtering full-resolution noise with a wide kernel, and smooth
    enough for textures and bias fields.
    """
    coarse = tuple(max(2, int(np.ceil(n * s / correlation_mm)) + 1) for n, s in zip(shape, spacing_mm))
    nodes = rng.standard_normal(coarse).astype(np.float32)
    field = ndimage.zoom(nodes, [n / c for n, c in zip(shape, coarse)], order=1, grid_mode=True,
                         mode="nearest")
    field = field[: shape[0], : shape[1], : shape[2]]
    if field.shape != tuple(shape):  # zoom rounds the output size; pad the rare short axis
        field = np.pad(field, [(0, n - f) for n, f in zip(shape, field.shape)], mode="edge")
    field -= field.mean()
    std = float(field.std())
    return field / np.float32(std if std > 0 else 1.0)


def _gaussian_noise_gain(sigma_vox: np.ndarray, truncate: float) -> float:
    """Std of white unit noise after ``ndimage.gaussian_filter(sigma_vox, truncate)``."""
    gain = 1.0
    for s in sigma_vox:
        if s <= 0:
            continue
        radius = int(truncate * s + 0.5)
        x = np.arange(-radius, radius + 1)
        kernel = np.exp(-0.5 * (x / s) ** 2)
        kernel /= kernel.sum()
        gain *= float(np.sqrt(np.sum(kernel**2)))
    return gain


def correlated_noise(shape: tuple[int, int, int], spacing_mm: tuple[float, float, float],
                     fwhm_mm: float | tuple[float, float, float],
                     rng: np.random.Generator) -> np.ndarray:
    """Unit-std Gaussian noise ``(I, J, K)`` float32 with a Gaussian correlation of ``fwhm_mm``
    (one value, or one per axis).

    Reconstructed PET noise is spatially correlated over about the system resolution
    (iterative reconstruction + post-filter), which gives the blotchy texture of real scans.
    """
    white = rng.standard_normal(shape, dtype=np.float32)
    fwhm = np.broadcast_to(np.asarray(fwhm_mm, dtype=float), (3,))
    sigma = fwhm / 2.3548 / np.asarray(spacing_mm, dtype=float)
    if not np.any(sigma > 0):
        return white
    truncate = 3.0
    out = ndimage.gaussian_filter(white, sigma, truncate=truncate, mode="nearest")
    out /= np.float32(_gaussian_noise_gain(sigma, truncate))
    return out
