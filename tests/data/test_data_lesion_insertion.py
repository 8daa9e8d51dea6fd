"""Lesions inserted into a PET scan: truth, peak, partial volume, noise, placement."""

from __future__ import annotations

import numpy as np
import pytest

from seganypet.data.lesion_insertion import insert_lesion, lesion_solid, touching_centres
from seganypet.data.shapes import Ellipsoid
from seganypet.volume import Volume

SPACING = (4.0, 4.0, 3.0)


def uniform(shape=(48, 48, 60), suv: float = 2.0) -> Volume:
    return Volume(np.full(shape, suv, np.float32), np.diag([*SPACING, 1.0]))


def centre_mm(image: Volume) -> np.ndarray:
    return (np.asarray(image.shape) // 2) * np.asarray(SPACING)


@pytest.mark.parametrize("volume_ml", [1.5, 12.0, 60.0])
def test_lesion_volume_and_peak_are_as_requested(volume_ml: float) -> None:
    image = uniform()
    rng = np.random.default_rng(1)
    lesion = insert_lesion(image, lesion_solid(rng, centre_mm(image), volume_ml), 9.0, rng,
                           noise_cov=0.0)
    assert lesion.volume_ml == pytest.approx(volume_ml, rel=0.15)
    assert lesion.suv_max == pytest.approx(9.0, abs=1e-3)
    assert lesion.image.array[lesion.truth].max() == pytest.approx(9.0, abs=1e-3)
    if volume_ml > 50:  # no partial-volume loss at the centre of a large lesion
        assert lesion.uptake == pytest.approx(9.0, rel=0.02)


@pytest.mark.parametrize("radius_mm", [7.0, 10.0, 14.0])
def test_partial_volume_matches_the_analytic_sphere(radius_mm: float) -> None:
    """Peak of a sphere of radius R blurred by a Gaussian of sd s: erf(R / (s sqrt 2)) -
    sqrt(2 / pi) (R / s) exp(-R^2 / 2 s^2) of the uptake above background."""
    from math import erf, exp, pi, sqrt

    image = uniform()
    sphere = Ellipsoid(centre_mm(image), np.full(3, radius_mm), np.eye(3), np.zeros(9))
    lesion = insert_lesion(image, sphere, 8.0, np.random.default_rng(0), noise_cov=0.0,
                           psf_fwhm_mm=6.5)
    s = 6.5 / 2.3548
    recovery = erf(radius_mm / (s * sqrt(2))) - sqrt(2 / pi) * radius_mm / s * exp(-radius_mm ** 2 / (2 * s * s))
    # voxelisation (4 x 4 x 3 mm) moves the discrete sphere's peak by a few per cent
    assert (8.0 - 2.0) / (lesion.uptake - 2.0) == pytest.approx(recovery, abs=0.06)


def test_background_far_away_and_the_input_are_untouched() -> None:
    image = uniform()
    before = image.array.copy()
    rng = np.random.default_rng(2)
    lesion = insert_lesion(image, lesion_solid(rng, centre_mm(image), 5.0), 12.0, rng)
    np.testing.assert_array_equal(image.array, before)
    changed = np.argwhere(lesion.image.array != before)
    centre = np.asarray(image.shape) // 2
    reach_mm = np.abs(changed - centre) * np.asarray(SPACING)
    assert reach_mm.max() < 60.0  # lesion radius ~11 mm + 4 sigma of the PSF + the box margin
    np.testing.assert_array_equal(lesion.image.affine, image.affine)


def test_added_counts_bring_their_noise() -> None:
    image = uniform()
    rng = np.random.default_rng(3)
    solid = lesion_solid(np.random.default_rng(4), centre_mm(image), 60.0)
    quiet = insert_lesion(image, solid, 10.0, np.random.default_rng(5), noise_cov=0.0)
    noisy = insert_lesion(image, solid, 10.0, rng, noise_cov=0.14)
    core = quiet.image.array > 9.5  # the lesion's plateau: added activity ~8 SUV
    difference = (noisy.image.array - quiet.image.array)[core]
    added = (quiet.image.array - image.array)[core]
    expected = 0.14 * np.sqrt(64.0 / np.prod(SPACING)) * np.sqrt(2.0 * added)
    assert np.std(difference) == pytest.approx(float(np.mean(expected)), rel=0.3)
    assert abs(np.mean(difference)) < 0.2 * np.mean(expected)


def test_a_lesion_outside_the_image_is_refused() -> None:
    image = uniform()
    rng = np.random.default_rng(6)
    with pytest.raises(ValueError):
        insert_lesion(image, lesion_solid(rng, np.array([-500.0, 0.0, 0.0]), 2.0), 8.0, rng)


def test_touching_centres_lie_one_radius_from_the_uptake() -> None:
    array = np.full((48, 48, 60), 1.0, np.float32)
    array[10:20, 10:20, 10:20] = 20.0  # a hot organ
    image = Volume(array, np.diag([*SPACING, 1.0]))
    centres = touching_centres(image, 10.0)
    assert len(centres) > 50
    organ_mm = np.argwhere(array > 10) * np.asarray(SPACING)
    for centre in centres[:: max(len(centres) // 40, 1)]:
        distance = np.min(np.linalg.norm(organ_mm - centre * np.asarray(SPACING), axis=1))
        assert 5.0 < distance < 20.0  # the smoothed edge lies ~1 voxel outside the organ
        assert array[tuple(centre)] == 1.0
    low = touching_centres(image, 10.0, k_range=(0, 12))
    assert len(low) and low[:, 2].max() < 12
    far = touching_centres(image, 10.0, exclude=array > 10)
    assert len(far) == 0  # every touching centre is within radius + 10 mm of the organ
