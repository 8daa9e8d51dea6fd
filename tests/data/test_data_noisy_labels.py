"""Low-quality label simulation: each corruption does what it says, and only when asked."""

from __future__ import annotations

import numpy as np
import pytest

from seganypet.data.noisy_labels import LabelNoise, corrupt_labels, simulate_low_quality
from seganypet.volume import Volume

OFF = LabelNoise(shift_probability=0, erode_dilate_probability=0, missing_slices_probability=0,
                 merge_probability=0, miss_lesion_probability=0)


def _scene() -> np.ndarray:
    """20^3 map: muscle (17) background, a 'liver' block (3), a touching 'kidney' (5), a lesion."""
    labels = np.full((20, 20, 20), 17, dtype=np.uint8)
    labels[2:10, 2:12, 2:12] = 3
    labels[10:14, 4:10, 4:10] = 5
    labels[4:7, 4:7, 4:7] = 101
    return labels


def test_all_rates_zero_changes_nothing() -> None:
    out, events = corrupt_labels(_scene(), np.random.default_rng(0), OFF)
    np.testing.assert_array_equal(out, _scene())
    assert events == []


def test_missed_lesions_become_host_tissue() -> None:
    noise = LabelNoise(**{**OFF.__dict__, "miss_lesion_probability": 1.0})
    out, events = corrupt_labels(_scene(), np.random.default_rng(0), noise)
    assert not np.any(out == 101) and np.all(out[4:7, 4:7, 4:7] == 3)
    assert events == [{"id": 101, "op": "missed_lesion"}]


@pytest.mark.parametrize("seed", range(4))
def test_erosion_or_dilation_changes_volume_in_the_reported_direction(seed: int) -> None:
    noise = LabelNoise(**{**OFF.__dict__, "erode_dilate_probability": 1.0})
    scene = _scene()
    out, events = corrupt_labels(scene, np.random.default_rng(seed), noise)
    kidney = next(e for e in events if e["id"] == 5)
    before, after = int((scene == 5).sum()), int((out == 5).sum())
    assert (after > before) if kidney["op"] == "dilate" else (after < before)
    assert set(np.unique(out)) <= set(np.unique(scene))


def test_shift_moves_the_centroid_by_the_reported_offset() -> None:
    noise = LabelNoise(**{**OFF.__dict__, "shift_probability": 1.0, "max_shift_mm": 4.0})
    scene = _scene()
    label = Volume(scene, np.diag([2.0, 2.0, 2.0, 1.0]), "label")
    out, events = simulate_low_quality(label, np.random.default_rng(5), noise)
    kidney = next(e for e in events if e["id"] == 5)
    assert max(abs(v) for v in kidney["voxels"]) <= 2  # 4 mm at 2 mm voxels
    moved = np.argwhere(out.array == 5).mean(axis=0) - np.argwhere(scene == 5).mean(axis=0)
    np.testing.assert_allclose(moved, kidney["voxels"], atol=0.6)


def test_missing_slices_are_empty() -> None:
    noise = LabelNoise(**{**OFF.__dict__, "missing_slices_probability": 1.0, "max_missing_slices": 2})
    out, events = corrupt_labels(_scene(), np.random.default_rng(1), noise)
    liver = next(e for e in events if e["id"] == 3)
    k0, k1 = liver["k"]
    assert not np.any(out[:, :, k0:k1] == 3) and np.any(out == 3)


def test_merge_relabels_as_a_touching_neighbour() -> None:
    noise = LabelNoise(**{**OFF.__dict__, "merge_probability": 1.0})
    scene = _scene()
    scene[4:7, 4:7, 4:7] = 3  # no lesion: liver and kidney touch only each other
    out, events = corrupt_labels(scene, np.random.default_rng(0), noise)
    assert events[0] == {"id": 3, "op": "merged_into", "target": 5}
    assert not np.any(out == 3) and (out == 5).sum() == ((scene == 3) | (scene == 5)).sum()


def test_deterministic_given_seed() -> None:
    a, ea = corrupt_labels(_scene(), np.random.default_rng(9), LabelNoise())
    b, eb = corrupt_labels(_scene(), np.random.default_rng(9), LabelNoise())
    np.testing.assert_array_equal(a, b)
    assert ea == eb
