from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from seganypet.errors import InputError
from seganypet.preprocess import normalize_intensity, patch_grid_around, sample_volume
from seganypet.volume import Volume


def ramp_volume(affine: np.ndarray, shape=(20, 22, 24)) -> Volume:
    """A volume whose value is a known linear function of world position (x + 2y + 3z)."""
    vol = Volume(np.zeros(shape, np.float32), affine)
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1)
    world = vol.index_to_world(idx.reshape(-1, 3)).reshape(*shape, 3)
    return vol.with_array((world @ np.array([1.0, 2.0, 3.0]) + 500).astype(np.float32))


@pytest.mark.parametrize("flip", [(1, 1, 1), (-1, -1, 1), (-1, 1, -1)])
def test_patch_is_centred_on_click_and_world_aligned(flip) -> None:
    affine = np.diag([2.0 * flip[0], 3.0 * flip[1], 2.5 * flip[2], 1.0])
    affine[:3, 3] = [10.0, -20.0, 30.0]
    vol = ramp_volume(affine)
    click = (9, 11, 12)
    grid = patch_grid_around(vol, click, size=8, spacing_mm=1.5)
    # The patch's geometric centre sits exactly on the click; axes are RAS at the given spacing.
    assert np.allclose(grid.world_of(np.array([3.5, 3.5, 3.5])), vol.index_to_world(click))
    assert np.allclose(grid.center_world, vol.index_to_world(click))
    assert np.allclose(grid.affine[:3, :3], np.eye(3) * 1.5)
    patch = sample_volume(vol, grid)
    world = grid.world_of(np.stack(np.meshgrid(*[np.arange(8)] * 3, indexing="ij"), -1))
    # Trilinear interpolation of a linear function is exact inside the volume.
    assert np.allclose(patch, world @ np.array([1.0, 2.0, 3.0]) + 500, atol=1e-3)


def test_outside_is_zero_and_labels_nearest() -> None:
    vol = Volume(np.ones((4, 4, 4), np.uint8), np.eye(4))
    grid = patch_grid_around(vol, (0.5, 0.5, 0.5), size=8, spacing_mm=1.0)
    patch = sample_volume(vol, grid, nearest=True)
    assert patch.dtype == np.uint8
    assert patch[3:7, 3:7, 3:7].all() and patch.sum() == 64


def _reference_sampling(vol: Volume, grid) -> np.ndarray:
    """One trilinear map_coordinates call (the general path, any affine)."""
    return ndimage.map_coordinates(vol.array.astype(np.float32), grid.centres_in(vol.grid),
                                   order=1, mode="constant", cval=0.0, prefilter=False)


@pytest.mark.parametrize("seed", range(6))
def test_separable_sampling_equals_map_coordinates_on_permuted_flipped_scans(seed) -> None:
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(6, 30, 3))
    affine = np.zeros((4, 4))
    affine[3, 3] = 1.0
    for axis, (world, sign) in enumerate(zip(rng.permutation(3), rng.choice([-1, 1], 3))):
        affine[world, axis] = sign * rng.uniform(1.0, 5.0)
    affine[:3, 3] = rng.uniform(-50, 50, 3)
    vol = Volume((rng.random(shape) * 10).astype(np.float32), affine)
    grid = patch_grid_around(vol, rng.uniform(0, np.array(shape) - 1), 16, rng.uniform(0.8, 6))
    patch = sample_volume(vol, grid)
    assert patch.dtype == np.float32
    assert np.abs(patch - _reference_sampling(vol, grid)).max() < 1e-5


def test_separable_sampling_edges_and_oblique_fallback() -> None:
    # Patch centres exactly on the first / last voxel centres read the voxel; beyond them 0.
    vol = Volume(np.arange(1, 6, dtype=np.float32)[:, None, None] * np.ones((5, 3, 3), np.float32),
                 np.eye(4))
    grid = patch_grid_around(vol, (2, 1, 1), size=9, spacing_mm=1.0)  # axis 0: -2 .. 6
    patch = sample_volume(vol, grid)
    assert np.array_equal(patch, _reference_sampling(vol, grid))
    line = sample_volume(vol, patch_grid_around(vol, (2.0, 1.0, 1.0), size=7, spacing_mm=1.0))
    assert np.allclose(line[:, 3, 3], [0, 1, 2, 3, 4, 5, 0])
    # An oblique scan takes the general path and still matches it.
    angle = np.deg2rad(20)
    rotation = np.eye(4)
    rotation[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    oblique = Volume(np.random.default_rng(1).random((12, 12, 12)).astype(np.float32),
                     rotation @ np.diag([2.0, 2.0, 2.0, 1.0]))
    grid = patch_grid_around(oblique, (6, 6, 6), size=10, spacing_mm=1.5)
    assert np.abs(sample_volume(oblique, grid) - _reference_sampling(oblique, grid)).max() < 1e-6


def test_coarsened_grid_matches_interpolate_centres() -> None:
    vol = Volume(np.zeros((4, 4, 4)), np.eye(4))
    grid = patch_grid_around(vol, (0, 0, 0), size=128, spacing_mm=1.5)
    low = grid.coarsened(32)
    # Coarse voxel 0 centre = fine index 1.5 (align_corners=False, factor 4).
    assert np.allclose(low.world_of(np.zeros(3)), grid.world_of(np.full(3, 1.5)))
    assert low.spacing == pytest.approx((6.0,) * 3)


def test_normalisation() -> None:
    patch = np.array([0.0, 0.0, 1.0, 2.0, 3.0], np.float32).reshape(1, 1, 5)
    z = normalize_intensity(patch, "zscore_nonzero")
    # mean 2, unbiased std 1 over the positive voxels, applied to every voxel.
    assert np.allclose(z.ravel(), [-2.0, -2.0, -1.0, 0.0, 1.0])
    assert np.allclose(normalize_intensity(patch, "log1p_suv").ravel(), np.log1p(patch.ravel()))
    # Negative SUV (reconstruction noise) counts as 0; the input is never written to, even
    # read-only; the output is float32 of the same shape.
    noisy = np.array([[-0.5, 0.0, 7.25]], np.float32)
    noisy.flags.writeable = False
    log = normalize_intensity(noisy, "log1p_suv")
    assert log.dtype == np.float32 and log.shape == (1, 3)
    assert np.allclose(log, [[0.0, 0.0, np.log1p(7.25)]], rtol=1e-6)
    assert noisy[0, 0] == -0.5
    assert np.isfinite(normalize_intensity(np.zeros((2, 2, 2)), "zscore_nonzero")).all()
    with pytest.raises(InputError):
        normalize_intensity(patch, "minmax")
