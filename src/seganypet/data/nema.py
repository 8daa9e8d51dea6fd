"""A NEMA IEC body phantom, simulated: six hot spheres (10-37 mm) in a uniform warm body.

Not the training generator: geometry after NEMA NU 2 / IEC 61675-1 (body cross-section
300 x 230 mm, 180 mm long; sphere centres on a 114.4 mm circle, 37 mm above the floor... here
the axial mid-plane; a 50 mm cold lung insert on the axis), activity uniform in the body
(SUV 1) and ``contrast`` in the spheres, blurred by a Gaussian PSF, with spatially correlated
multiplicative noise, on a clinical 4 x 4 x 3 mm grid. Used by ``benchmarks/sphere_phantom.py``
and the session tests; no ground truth of it is ever trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from seganypet.volume import Volume

__all__ = ["NEMA_DIAMETERS_MM", "NemaPhantom", "nema_phantom"]

NEMA_DIAMETERS_MM = (10.0, 13.0, 17.0, 22.0, 28.0, 37.0)
_VOXEL_MM = (4.0, 4.0, 3.0)
_SHAPE = (84, 68, 72)  # 336 x 272 x 216 mm: the body with a margin of air
_RING_RADIUS_MM = 57.2
_LUNG_DIAMETER_MM = 50.0


@dataclass(frozen=True)
class NemaPhantom:
    """``image`` SUV Volume; ``spheres[d]`` bool mask ``(I, J, K)`` and ``centres[d]`` voxel
    index of the sphere of diameter ``d`` mm (the keys of :data:`NEMA_DIAMETERS_MM`)."""

    image: Volume
    spheres: dict[float, np.ndarray]
    centres: dict[float, tuple[int, int, int]]


def nema_phantom(contrast: float = 4.0, psf_fwhm_mm: float = 6.0, noise: float = 0.1,
                 rng: np.random.Generator | None = None) -> NemaPhantom:
    """Simulate the phantom.

    Args:
        contrast: sphere-to-background activity ratio (NEMA uses 4:1 and 8:1).
        psf_fwhm_mm: Gaussian resolution of the scanner.
        noise: standard deviation of the multiplicative noise (after smoothing over ~1 voxel,
            as reconstruction correlates it).
        rng: noise generator (default seeded 0: the phantom is reproducible).
    """
    rng = rng or np.random.default_rng(0)
    spacing = np.asarray(_VOXEL_MM)
    centre = (np.asarray(_SHAPE) - 1) / 2
    affine = np.diag([*_VOXEL_MM, 1.0])
    affine[:3, 3] = -centre * spacing
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in _SHAPE], indexing="ij"), -1)
    mm = (idx - centre) * spacing
    body = ((mm[..., 0] / 150.0) ** 2 + (mm[..., 1] / 115.0) ** 2 <= 1.0) & (np.abs(mm[..., 2]) <= 90.0)
    lung = np.hypot(mm[..., 0], mm[..., 1]) <= _LUNG_DIAMETER_MM / 2
    activity = (body & ~lung).astype(np.float32)
    spheres, centres = {}, {}
    for n, diameter in enumerate(NEMA_DIAMETERS_MM):
        angle = np.pi / 3 * n
        at = np.array([_RING_RADIUS_MM * np.cos(angle), _RING_RADIUS_MM * np.sin(angle), 0.0])
        sphere = np.linalg.norm(mm - at, axis=-1) < diameter / 2
        activity[sphere] = contrast
        spheres[diameter] = sphere
        centres[diameter] = tuple(int(v) for v in np.rint(at / spacing + centre))
    image = ndimage.gaussian_filter(activity, sigma=psf_fwhm_mm / 2.355 / spacing)
    grain = ndimage.gaussian_filter(rng.standard_normal(_SHAPE), sigma=1.0)
    image = image * (1.0 + noise * grain / grain.std())
    volume = Volume(np.clip(image, 0.0, None).astype(np.float32), affine)
    return NemaPhantom(volume, spheres, centres)
