from __future__ import annotations

import numpy as np
import pytest

from seganypet.postprocess import (
    LogitTile,
    keep_components_with_seeds,
    merge_logits,
    paste_mask,
)
from seganypet.preprocess import patch_grid_around
from seganypet.volume import Volume


def sphere_tile(volume: Volume, click, radius_mm: float, size=64, low=32, spacing=1.5) -> LogitTile:
    """Low-res logits = radius - distance to the click's world position (a sphere)."""
    grid = patch_grid_around(volume, click, size, spacing).coarsened(low)
    idx = np.stack(np.meshgrid(*[np.arange(low)] * 3, indexing="ij"), -1)
    dist = np.linalg.norm(grid.world_of(idx) - volume.index_to_world(click), axis=-1)
    return LogitTile(grid, (radius_mm - dist).astype(np.float32))


AFFINES = {
    "ras_aniso": np.diag([2.0, 2.0, 3.0, 1.0]),
    "lps_flip": np.diag([-2.0, -2.0, 3.0, 1.0]),
    "permuted": np.array([[0, 0, 2.5, 0], [3.0, 0, 0, 0], [0, -2.0, 0, 0], [0, 0, 0, 1.0]]),
}


@pytest.mark.parametrize("name", sorted(AFFINES))
def test_paste_back_sphere_is_exact_and_symmetric(name: str) -> None:
    affine = AFFINES[name].copy()
    affine[:3, 3] = [-40.0, 17.0, 3.0]
    vol = Volume(np.zeros((41, 37, 33), np.float32), affine)
    click = (20, 18, 16)
    radius = 12.0
    mask, lo, hi = paste_mask([sphere_tile(vol, click, radius)], vol)
    full = np.zeros(vol.shape, np.uint8)
    full[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = mask
    assert full[click] == 1
    # Symmetric about the clicked voxel along every axis (no half-voxel shift).
    c = np.array(click)
    sub = full[c[0] - 8:c[0] + 9, c[1] - 8:c[1] + 9, c[2] - 8:c[2] + 9]
    for axis in range(3):
        assert np.array_equal(sub, np.flip(sub, axis))
    # Equal to the analytic sphere except where the interpolated surface is within a voxel.
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in vol.shape], indexing="ij"), -1)
    dist = np.linalg.norm(vol.index_to_world(idx) - vol.index_to_world(click), axis=-1)
    assert np.all(full[dist < radius - 1.5] == 1)
    assert np.all(full[dist > radius + 1.5] == 0)


def test_merge_weights_overlapping_tiles_and_fill() -> None:
    vol = Volume(np.zeros((60, 20, 20), np.float32), np.eye(4))
    a = patch_grid_around(vol, (20, 10, 10), 16, 1.0).coarsened(16)
    b = patch_grid_around(vol, (28, 10, 10), 16, 1.0).coarsened(16)
    tiles = [LogitTile(a, np.full((16,) * 3, 2.0, np.float32)),
             LogitTile(b, np.full((16,) * 3, -4.0, np.float32))]
    merged = merge_logits(tiles, vol.grid)
    assert merged[14, 10, 10] == pytest.approx(2.0)    # only tile a
    assert merged[34, 10, 10] == pytest.approx(-4.0)   # only tile b
    assert -4.0 < merged[24, 10, 10] < 2.0             # overlap: weighted mean
    assert merged[24, 10, 10] == pytest.approx(-1.0, abs=1e-4)  # equidistant -> equal weights
    assert merged[55, 10, 10] == -20.0                 # uncovered


def test_keep_components_with_seeds() -> None:
    mask = np.zeros((10, 10, 10), bool)
    mask[1:3, 1:3, 1:3] = True
    mask[6:9, 6:9, 6:9] = True
    kept = keep_components_with_seeds(mask, [(7, 7, 7)])
    assert kept[7, 7, 7] and not kept[1, 1, 1]
    assert np.array_equal(keep_components_with_seeds(mask, [(0, 9, 0)]), mask)


def test_importance_map_matches_monai() -> None:
    from monai.inferers.utils import compute_importance_map

    from seganypet.postprocess import _importance_map

    ref = compute_importance_map((12, 12, 12), mode="gaussian", sigma_scale=0.125).numpy()
    ref = ref / ref.max()
    ours = _importance_map(12)
    # Same Gaussian; only the floor that keeps corner weights positive differs (MONAI: the
    # smallest non-zero value, here 1e-3).
    keep = ref > 2e-3
    assert np.allclose(ours[keep], ref[keep], atol=1e-6)
    assert ours.min() > 0


@pytest.mark.parametrize("name", sorted(AFFINES))
def test_separable_paste_equals_generic_interpolation(name: str) -> None:
    """The fast axis-aligned path gives the generic (map_coordinates) values."""
    from seganypet.postprocess import _axis_permutation, _sample_generic, _sample_separable

    affine = AFFINES[name].copy()
    affine[:3, 3] = [-40.0, 17.0, 3.0]
    vol = Volume(np.zeros((41, 37, 33), np.float32), affine)
    rng = np.random.default_rng(0)
    grid = patch_grid_around(vol, (20.3, 18.0, 11.6), 32, 1.7).coarsened(16)
    tile = LogitTile(grid, rng.normal(size=(16, 16, 16)).astype(np.float32))
    box = vol.grid.sub_box(np.array([3, 2, 1]), np.array([40, 30, 33]))
    box_to_tile = np.linalg.inv(grid.affine) @ box.affine
    perm = _axis_permutation(box_to_tile)
    assert perm is not None
    v1, w1, in1 = _sample_generic(tile, box)
    v2, w2, in2 = _sample_separable(tile, box, perm, box_to_tile)
    assert np.array_equal(in1, in2) and in1.any() and not in1.all()
    assert np.allclose(v1[in1], v2[in1], atol=1e-5)
    assert np.allclose(w1[in1], w2[in1], atol=1e-3)
    oblique = affine.copy()
    oblique[:3, :3] = oblique[:3, :3] @ np.array([[0.96, -0.28, 0], [0.28, 0.96, 0], [0, 0, 1]])
    assert _axis_permutation(np.linalg.inv(grid.affine) @ oblique) is None


def test_paste_restricted_to_positive_box_equals_full_merge() -> None:
    """Pasting only inside the tiles' positive boxes changes no voxel of the mask."""
    vol = Volume(np.zeros((50, 44, 60), np.float32), np.diag([-3.0, 2.5, 2.0, 1.0]))
    rng = np.random.default_rng(1)
    tiles = []
    for centre in ((20, 20, 25), (30, 22, 35)):
        grid = patch_grid_around(vol, centre, 32, 2.0).coarsened(16)
        logits = rng.normal(-3.0, 1.0, (16, 16, 16)).astype(np.float32)
        logits[5:9, 6:10, 7:12] += 6.0
        tiles.append(LogitTile(grid, logits))
    mask, lo, hi = paste_mask(tiles, vol)
    pasted = np.zeros(vol.shape, np.uint8)
    pasted[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = mask
    reference = (merge_logits(tiles, vol.grid) > 0).astype(np.uint8)
    assert reference.any() and np.array_equal(pasted, reference)
    assert np.prod(hi - lo) < 0.5 * np.prod(vol.shape)
