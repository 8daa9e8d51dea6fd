"""Seeded 41 % isocontour and absolute thresholds on analytic Gaussian blobs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seganypet.errors import InputError
from seganypet.quantify import isocontour_from_seed, threshold_components, threshold_from_seed

SIGMA_MM = 9.0
PEAK_SUV = 12.0


def gaussian_image(distances, make_volume, spacing, shape, centre):
    """A Gaussian blob A·exp(-d²/2σ²) centred exactly on voxel ``centre``, plus its distances."""
    affine = np.diag([*spacing, 1.0])
    d = distances(shape, affine, np.asarray(centre, dtype=np.float64))
    return make_volume(PEAK_SUV * np.exp(-(d**2) / (2 * SIGMA_MM**2)), spacing), d


@pytest.mark.parametrize("spacing", [(2.0, 2.0, 2.0), (1.5, 2.0, 4.0)])
def test_41_percent_isocontour_of_gaussian_has_analytic_radius(make_volume, distances, spacing):
    """A·exp(-r²/2σ²) = 0.41·A  <=>  r = σ·sqrt(2·ln(1/0.41)) (= 12.06 mm for σ = 9 mm).

    The isocontour keeps exactly the voxels whose centres lie within r (the blob decreases
    monotonically with distance), so its equivalent-sphere radius is r within one voxel, and
    its farthest voxel centre is within r.
    """
    shape = (30, 28, 18)
    centre = (15, 13, 9)
    image, d = gaussian_image(distances, make_volume, spacing, shape, centre)
    analytic_radius = SIGMA_MM * math.sqrt(2.0 * math.log(1.0 / 0.41))

    # click two voxels off the peak, as a user would
    result = isocontour_from_seed(image, (centre[0] + 2, centre[1] - 1, centre[2]))
    mask = result.mask.array.astype(bool)

    assert result.suv_max == pytest.approx(PEAK_SUV)
    assert result.max_index == centre
    assert result.threshold == pytest.approx(0.41 * PEAK_SUV)
    equivalent_radius = (3.0 * mask.sum() * np.prod(spacing) / (4.0 * math.pi)) ** (1.0 / 3.0)
    assert abs(equivalent_radius - analytic_radius) <= max(spacing)
    assert d[mask].max() <= analytic_radius + 1e-6
    # away from the floating-point boundary, membership is exactly "centre within r"
    clear = np.abs(d - analytic_radius) > 1e-6
    assert np.array_equal(mask[clear], (d <= analytic_radius)[clear])
    assert result.mask.same_grid(image) and result.mask.array.dtype == np.uint8


def test_isocontour_climbs_to_the_lesion_max_beyond_the_search_sphere(make_volume, distances):
    """Seed 16 mm from the peak (search radius 10 mm): the first SUVmax is a shoulder voxel,
    whose 41 % component contains the true max; the contour is then recomputed from it."""
    spacing = (2.0, 2.0, 2.0)
    image, d = gaussian_image(distances, make_volume, spacing, (30, 30, 30), (15, 15, 15))
    result = isocontour_from_seed(image, (23, 15, 15))
    assert result.max_index == (15, 15, 15)
    assert result.suv_max == pytest.approx(PEAK_SUV)
    analytic_radius = SIGMA_MM * math.sqrt(2.0 * math.log(1.0 / 0.41))
    assert np.array_equal(result.mask.array.astype(bool), d <= analytic_radius + 1e-9)


def test_isocontour_keeps_only_the_seeded_lesion(make_volume, distances):
    spacing = (2.0, 2.0, 2.0)
    affine = np.diag([*spacing, 1.0])
    shape = (40, 20, 20)
    d1 = distances(shape, affine, np.array([10.0, 10, 10]))
    d2 = distances(shape, affine, np.array([30.0, 10, 10]))
    values = 10 * np.exp(-d1**2 / 50.0) + 6 * np.exp(-d2**2 / 50.0)
    image = make_volume(values, spacing)
    second = isocontour_from_seed(image, (30, 10, 10))
    assert second.suv_max == pytest.approx(values[30, 10, 10])
    mask = second.mask.array.astype(bool)
    assert mask[30, 10, 10] and not mask[10, 10, 10]
    assert np.array_equal(mask, (values >= 0.41 * values[30, 10, 10]) & (np.indices(shape)[0] >= 20))


def test_absolute_threshold_component_contains_seed(make_volume, distances):
    spacing = (2.0, 2.0, 2.0)
    image, d = gaussian_image(distances, make_volume, spacing, (24, 24, 24), (12, 12, 12))
    result = threshold_from_seed(image, (13, 12, 12), threshold=2.5)
    radius = SIGMA_MM * math.sqrt(2.0 * math.log(PEAK_SUV / 2.5))
    assert np.array_equal(result.mask.array.astype(bool), d <= radius + 1e-9)
    assert result.suv_max == pytest.approx(PEAK_SUV) and result.max_index == (12, 12, 12)
    with pytest.raises(InputError, match="threshold"):
        threshold_from_seed(image, (0, 0, 0), threshold=2.5)


def test_threshold_components_label_every_lesion(make_volume):
    values = np.zeros((12, 12, 12))
    values[1:4, 1:4, 1:4] = 3.0       # 27 voxels
    values[7:9, 7:9, 7:9] = 5.0       # 8 voxels
    values[10, 1, 1] = 9.0            # 1 voxel
    values[5, 5, 5] = 2.0             # below 2.5
    image = make_volume(values, (4.0, 4.0, 4.0))
    labels = threshold_components(image, threshold=2.5).array
    assert labels.max() == 3 and labels.dtype == np.uint32
    assert sorted(np.bincount(labels.ravel())[1:].tolist()) == [1, 8, 27]
    big = threshold_components(image, threshold=2.5, min_voxels=8).array
    assert sorted(np.bincount(big.ravel())[1:].tolist()) == [8, 27]


def test_bad_seed_or_fraction(make_volume):
    image = make_volume(np.ones((5, 5, 5)), (1.0, 1.0, 1.0))
    with pytest.raises(InputError, match="seed"):
        isocontour_from_seed(image, (5, 0, 0))
    with pytest.raises(InputError, match="fraction"):
        isocontour_from_seed(image, (1, 1, 1), fraction=1.5)
    with pytest.raises(InputError, match="uptake"):
        isocontour_from_seed(make_volume(np.zeros((5, 5, 5)), (1.0, 1.0, 1.0)), (1, 1, 1))


@pytest.mark.parametrize("within_share", [None, 0.9])
def test_isocontour_family_equals_each_fraction_filled_and_labelled_on_its_own(within_share):
    """The family is computed nested (each mask in the box of the next larger one); it must
    equal, voxel for voxel, each fraction's isocontour over the whole box: ndimage's hole
    filling (6-connected background), then the seed's 18-connected component."""
    from scipy import ndimage

    from seganypet.quantify.delineation import isocontour_family
    from seganypet.volume import Volume

    rng = np.random.default_rng(11)
    structure = ndimage.generate_binary_structure(3, 2)
    fractions = (0.8, 0.7, 0.6, 0.5, 0.41, 0.3)
    compared = 0
    for trial in range(12):  # lacy uptake: smoothed noise gives holes, strands, islands
        shape = tuple(int(n) for n in rng.integers(14, 30, 3))
        values = ndimage.gaussian_filter(rng.random(shape), rng.uniform(0.7, 1.5)).astype(np.float32)
        image = Volume(values, np.diag([2.0, 2.0, 2.0, 1.0]))
        seed = tuple(int(n) // 2 for n in shape)
        within = None if within_share is None else rng.random(shape) < within_share
        suv_max, masks = isocontour_family(image, seed, fractions, within=within)
        counted = values if within is None else np.where(within, values, 0.0)
        for fraction, mask in zip(fractions, masks):
            filled = ndimage.binary_fill_holes(counted >= fraction * suv_max)
            labels, _ = ndimage.label(filled, structure)
            expected = labels == labels[seed] if filled[seed] else np.zeros(shape, bool)
            assert np.array_equal(mask, expected), (trial, fraction)
            compared += int(expected.any())
    assert compared > 30  # most masks are not empty
