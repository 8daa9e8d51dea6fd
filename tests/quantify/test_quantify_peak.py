"""SUVpeak against an independent brute-force computation in numpy.

The brute force follows the documented rule literally: for every object voxel, average the
image over all voxels whose centres lie within r of it (distances from the affine), then
take the maximum. No FFT, no kernel, no bounding box.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from seganypet.errors import InputError
from seganypet.quantify import PEAK_RADIUS_MM, object_stats, suv_peak
from seganypet.volume import Volume


def brute_force_peak(values: np.ndarray, affine: np.ndarray, mask: np.ndarray,
                     radius_mm: float) -> tuple[float, tuple[int, ...]]:
    grid = np.stack(np.indices(values.shape), axis=-1).reshape(-1, 3).astype(np.float64)
    world = grid @ affine[:3, :3].T
    flat = values.ravel().astype(np.float64)
    best, best_index = -np.inf, None
    for index in np.argwhere(mask):
        centre = np.asarray(index, dtype=np.float64) @ affine[:3, :3].T
        near = np.linalg.norm(world - centre, axis=1) <= radius_mm + 1e-6
        mean = flat[near].mean()
        if mean > best:
            best, best_index = mean, tuple(int(v) for v in index)
    return best, best_index


def test_peak_radius_is_that_of_one_millilitre():
    assert 4.0 / 3.0 * math.pi * PEAK_RADIUS_MM**3 == pytest.approx(1000.0, rel=1e-12)


@pytest.mark.parametrize("volume_ml", [0.3, 1.0, 4.0])
def test_hot_spot_smaller_equal_larger_than_one_ml(make_volume, distances, rng, volume_ml):
    """A noisy hot sphere of 0.3, 1 and 4 ml (SUV ~10) on a background of ~1, 2x2x3 mm voxels."""
    spacing = (2.0, 2.0, 3.0)
    shape = (22, 22, 16)
    affine = np.diag([*spacing, 1.0])
    radius = (3.0 * volume_ml * 1000.0 / (4.0 * math.pi)) ** (1.0 / 3.0)
    mask = distances(shape, affine, np.array([10.4, 11.2, 7.7])) <= radius
    values = np.where(mask, 10.0, 1.0) + rng.normal(0.0, 0.3, size=shape)
    image = make_volume(values, spacing)

    peak = suv_peak(image, mask)

    expected, expected_index = brute_force_peak(values, affine, mask, PEAK_RADIUS_MM)
    assert peak.value == pytest.approx(expected, rel=1e-9)
    assert peak.index == expected_index
    hot_mean = values[mask].mean()
    if volume_ml < 1.0:
        # the sphere must reach into the cold background: well below the hot level
        assert peak.value < 0.8 * hot_mean
    if volume_ml > 1.0:
        # the sphere fits inside: close to the hot level (noise only)
        assert peak.value == pytest.approx(10.0, abs=0.3)


def test_uniform_hot_spot_larger_than_sphere_gives_exact_value(make_volume, distances):
    spacing = (2.0, 2.0, 2.0)
    affine = np.diag([*spacing, 1.0])
    mask = distances((20, 20, 20), affine, np.array([9.5, 9.5, 9.5])) <= 12.0
    image = make_volume(np.where(mask, 6.5, 0.5), spacing)
    assert suv_peak(image, mask).value == pytest.approx(6.5, abs=1e-9)
    # a 1-voxel object: its sphere holds the voxel plus its cold neighbours within 6.2 mm
    single = np.zeros((20, 20, 20), dtype=bool)
    single[10, 10, 10] = True
    image = make_volume(np.where(single, 100.0, 0.0), spacing)
    n_sphere = int((distances((20, 20, 20), affine, np.array([10, 10, 10])) <= PEAK_RADIUS_MM).sum())
    assert suv_peak(image, single).value == pytest.approx(100.0 / n_sphere, rel=1e-9)
    assert suv_peak(image, single).sphere_voxels == n_sphere


def test_peak_need_not_be_centred_on_the_max_voxel(make_volume):
    """A single hot voxel beside a warm plateau: the peak sits on the plateau."""
    values = np.zeros((24, 24, 24))
    values[2:10, 2:10, 2:10] = 5.0
    values[20, 9, 9] = 40.0
    mask = np.zeros(values.shape, dtype=bool)
    mask[2:10, 2:10, 2:10] = True
    mask[10:21, 9, 9] = True  # a thin bridge to the hot voxel
    image = make_volume(values, (2.0, 2.0, 2.0))
    peak = suv_peak(image, mask)
    expected, _ = brute_force_peak(values, image.affine, mask, PEAK_RADIUS_MM)
    assert peak.value == pytest.approx(expected, rel=1e-9)
    assert peak.value == pytest.approx(5.0) and peak.index != (20, 9, 9)


def test_oblique_affine_and_image_edge_match_brute_force(rng):
    """A rotated, anisotropic grid with the object touching the image border."""
    angle = np.deg2rad(30.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0.0],
                         [np.sin(angle), np.cos(angle), 0.0], [0.0, 0.0, 1.0]])
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([1.5, 2.5, 3.5])
    values = rng.gamma(2.0, 2.0, size=(14, 12, 9))
    mask = np.zeros(values.shape, dtype=bool)
    mask[0:5, 3:9, 0:4] = True
    image = Volume(values, affine)
    peak = suv_peak(image, mask)
    expected, expected_index = brute_force_peak(values, affine, mask, PEAK_RADIUS_MM)
    assert peak.value == pytest.approx(expected, rel=1e-9)
    assert peak.index == expected_index


def test_object_stats_peak_equals_suv_peak(make_volume, rng):
    values = rng.uniform(0.0, 8.0, size=(18, 18, 18))
    labels = np.zeros(values.shape, dtype=np.uint8)
    labels[1:8, 1:8, 1:8] = 1
    labels[9:17, 10:17, 3:12] = 2
    image = make_volume(values, (3.0, 2.0, 2.5))
    for row in object_stats(image, labels):
        direct = suv_peak(image, labels == row.label)
        assert row.suv_peak == pytest.approx(direct.value, rel=1e-12)
        assert row.peak_index == direct.index


def test_empty_mask_is_refused(make_volume):
    image = make_volume(np.ones((5, 5, 5)), (1.0, 1.0, 1.0))
    with pytest.raises(InputError, match="empty"):
        suv_peak(image, np.zeros((5, 5, 5), dtype=bool))
