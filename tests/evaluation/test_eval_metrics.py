"""Metrics on hand-made masks with known answers, and NSD against a brute-force computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from monai.metrics import compute_surface_dice
from scipy.spatial.distance import cdist

from seganypet.errors import InputError
from seganypet.evaluation.metrics import (
    dice,
    false_negative_volume_ml,
    false_positive_volume_ml,
    hausdorff95,
    normalized_surface_dice,
    score_masks,
    surface_dice,
    voxel_tolerance_mm,
)
from seganypet.volume import Volume


def _box(shape, lo, hi) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[tuple(slice(a, b) for a, b in zip(lo, hi))] = True
    return mask


def _boundary_points_mm(mask: np.ndarray, spacing) -> np.ndarray:
    """Brute force: voxels with a 6-neighbour outside the mask (outside the array counts as
    outside), as mm coordinates. Written with explicit neighbour shifts, not erosion."""
    padded = np.pad(mask, 1)
    inside = padded[1:-1, 1:-1, 1:-1]
    exposed = np.zeros_like(inside)
    for axis in range(3):
        for step in (-1, 1):
            neighbour = np.roll(padded, step, axis=axis)[1:-1, 1:-1, 1:-1]
            exposed |= inside & ~neighbour
    return np.argwhere(exposed) * np.asarray(spacing, dtype=float)


def _brute_force_nsd(pred, target, spacing, tolerance) -> float:
    """Boundary-voxel NSD from the full pairwise distance matrix."""
    bp, bt = _boundary_points_mm(pred, spacing), _boundary_points_mm(target, spacing)
    distances = cdist(bp, bt)
    pred_ok = (distances.min(axis=1) <= tolerance).sum()
    target_ok = (distances.min(axis=0) <= tolerance).sum()
    return (pred_ok + target_ok) / (len(bp) + len(bt))


def test_dice_known_values_and_empty_rules():
    target = _box((10, 10, 10), (2, 2, 2), (6, 6, 6))  # 64 voxels
    pred = _box((10, 10, 10), (2, 2, 2), (6, 6, 4))  # 32 voxels, all inside
    assert dice(pred, target) == pytest.approx(2 * 32 / 96)
    assert dice(target, target) == 1.0
    empty = np.zeros_like(target)
    assert math.isnan(dice(empty, empty))
    assert dice(pred, empty) == 0.0  # GT empty, prediction not
    assert dice(empty, target) == 0.0


def test_nsd_empty_rules():
    target = _box((8, 8, 8), (2, 2, 2), (5, 5, 5))
    empty = np.zeros_like(target)
    assert math.isnan(normalized_surface_dice(empty, empty, (1, 1, 1)))
    assert normalized_surface_dice(target, empty, (1, 1, 1)) == 0.0
    assert normalized_surface_dice(empty, target, (1, 1, 1)) == 0.0


@pytest.mark.parametrize("subvoxel", [True, False])
def test_nsd_identical_and_far_apart(subvoxel):
    a = _box((30, 12, 12), (2, 2, 2), (8, 8, 8))
    b = _box((30, 12, 12), (20, 2, 2), (26, 8, 8))
    assert normalized_surface_dice(a, a, (2, 2, 2), 0.0, subvoxel) == 1.0
    # nearest surfaces are 12 voxels x 2 mm = 24 mm apart
    assert normalized_surface_dice(a, b, (2, 2, 2), 20.0, subvoxel) == 0.0


@pytest.mark.parametrize("subvoxel", [True, False])
def test_nsd_honours_anisotropic_spacing(subvoxel):
    """Pred = target grown by one slice along axis 0: the moved face is exactly one voxel edge
    (spacing[0] mm) away, so NSD is 1 from that tolerance on and < 1 just below it."""
    target = _box((16, 16, 16), (4, 4, 4), (10, 10, 10))
    pred = _box((16, 16, 16), (4, 4, 4), (11, 10, 10))
    thick = (3.0, 1.0, 1.0)
    assert normalized_surface_dice(pred, target, thick, 3.0, subvoxel) == 1.0
    assert normalized_surface_dice(pred, target, thick, 2.9, subvoxel) < 0.97
    # the same voxel error along a 1 mm axis is fully forgiven at 1 mm
    assert normalized_surface_dice(pred, target, (1.0, 1.0, 3.0), 1.0, subvoxel) == 1.0


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("tolerance", [0.0, 1.0, 2.5, 4.0])
def test_boundary_voxel_nsd_matches_brute_force(seed, tolerance):
    rng = np.random.default_rng(seed)
    shape = (14, 12, 10)
    spacing = tuple(rng.choice([0.8, 1.0, 2.0, 3.27], size=3))
    target = rng.random(shape) > 0.55  # irregular, many components, touching the border
    pred = target ^ (rng.random(shape) > 0.85)
    expected = _brute_force_nsd(pred, target, spacing, tolerance)
    got = normalized_surface_dice(pred, target, spacing, tolerance, subvoxel=False)
    assert got == pytest.approx(expected, abs=1e-6)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # MONAI's internal deprecation notice
@pytest.mark.parametrize("subvoxel", [True, False])
def test_multi_tolerance_nsd_equals_monai_compute_surface_dice(subvoxel):
    """One distance computation for several tolerances gives MONAI's reference numbers."""
    rng = np.random.default_rng(11)
    target = rng.random((12, 13, 11)) > 0.5
    pred = target ^ (rng.random(target.shape) > 0.8)
    spacing = (1.5, 1.0, 3.0)
    tolerances = [0.0, 1.0, 1.6, 3.0, 5.0]
    batch = lambda m: torch.from_numpy(m.astype(np.float32))[None, None]
    expected = [
        float(compute_surface_dice(batch(pred), batch(target), [t], include_background=True,
                                   spacing=list(spacing), use_subvoxels=subvoxel)[0, 0])
        for t in tolerances
    ]
    assert surface_dice(pred, target, spacing, tolerances, subvoxel) == pytest.approx(expected)
    assert len(set(np.round(expected, 6))) >= 3  # the tolerances really matter here


def test_subvoxel_nsd_on_spheres_saturates_and_is_monotone():
    """Spheres of radius 9 and 10 voxels on an anisotropic grid: both definitions reach 1 once
    the tolerance covers the 1-1.5 mm gap, and never decrease with the tolerance."""
    grid = np.indices((28, 28, 28)) - 13.5
    radius = np.sqrt((grid**2).sum(axis=0))
    target, pred = radius < 10, radius < 9
    spacing = (1.0, 1.0, 1.5)
    tolerances = (0.0, 0.5, 1.0, 1.5, 2.0)
    for subvoxel in (True, False):
        values = [normalized_surface_dice(pred, target, spacing, t, subvoxel) for t in tolerances]
        assert values == sorted(values)
        assert values[1] < 0.5 and values[-1] == 1.0
    assert normalized_surface_dice(pred, target, spacing, 1.0, False) == pytest.approx(
        _brute_force_nsd(pred, target, spacing, 1.0), abs=1e-6
    )


def test_autopet_false_positive_and_negative_volumes_18_connectivity():
    target = np.zeros((12, 12, 12), dtype=bool)
    pred = np.zeros_like(target)
    target[1:4, 1:4, 1:4] = True  # 27 voxels, hit by the prediction -> not FN
    pred[2:5, 2:5, 2:5] = True  # 27 voxels, touches GT -> not FP
    target[8:10, 8:10, 8:10] = True  # 8 voxels, missed -> FN
    pred[8, 1, 1] = True  # isolated 1-voxel FP
    # two voxels sharing only an edge: one 18-connected component (two 6-components)
    pred[10, 5, 5] = pred[11, 6, 5] = True
    voxel_ml = 0.004  # 2 x 2 x 1 mm
    assert false_negative_volume_ml(pred, target, voxel_ml) == pytest.approx(8 * voxel_ml)
    assert false_positive_volume_ml(pred, target, voxel_ml) == pytest.approx(3 * voxel_ml)
    # a GT-hit voxel touching the pair only by a corner is a separate 18-component
    pred[10, 7, 6] = target[10, 7, 6] = True
    assert false_positive_volume_ml(pred, target, voxel_ml) == pytest.approx(3 * voxel_ml)
    pred[10, 6, 6] = True  # face/edge neighbour of all three: one component that touches GT
    assert false_positive_volume_ml(pred, target, voxel_ml) == pytest.approx(1 * voxel_ml)


def test_hausdorff95_anisotropic():
    target = _box((20, 20, 20), (5, 5, 5), (15, 15, 15))
    pred = _box((20, 20, 20), (5, 5, 5), (17, 15, 15))  # two extra slices along axis 0
    assert hausdorff95(pred, target, (1.0, 1.0, 1.0)) == pytest.approx(2.0)
    assert hausdorff95(pred, target, (2.5, 1.0, 1.0)) == pytest.approx(5.0)
    assert math.isnan(hausdorff95(np.zeros_like(pred), target, (1.0, 1.0, 1.0)))


def test_score_masks_uses_the_grid_of_the_volumes():
    affine = np.diag([2.0, 2.0, 4.0, 1.0])  # 16 mm^3 = 0.016 ml voxels
    target = Volume(_box((12, 12, 12), (3, 3, 3), (7, 7, 7)).astype(np.uint8), affine)
    pred = target.with_array(_box((12, 12, 12), (3, 3, 3), (8, 7, 7)).astype(np.uint8))
    scores = score_masks(pred, target, tolerance_mm=1.0, with_hd95=True)
    assert scores.dice == pytest.approx(2 * 64 / (64 + 80))
    assert scores.target_volume_ml == pytest.approx(64 * 0.016)
    assert scores.pred_volume_ml == pytest.approx(80 * 0.016)
    assert scores.nsd_voxel_tolerance_mm == voxel_tolerance_mm((2.0, 2.0, 4.0)) == 4.0
    assert scores.nsd < 1.0 and scores.nsd_voxel == 1.0  # one 2 mm slice: only forgiven at 4 mm
    assert scores.fp_volume_ml == 0.0 and scores.fn_volume_ml == 0.0
    assert scores.hd95_mm == pytest.approx(2.0)
    other_grid = Volume(pred.array, np.diag([2.0, 2.0, 3.0, 1.0]))
    with pytest.raises(InputError, match="grid"):
        score_masks(other_grid, target)
