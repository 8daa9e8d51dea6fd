"""Region statistics against analytic phantoms and against numpy computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seganypet.errors import InputError
from seganypet.quantify import lesion_table, object_stats, region_stats, totals
from seganypet.volume import Volume


@pytest.mark.parametrize("spacing", [(2.0, 2.0, 2.0), (1.5, 2.0, 3.0)])
def test_uniform_sphere_exact_suv_and_volume_within_voxelisation_bound(make_volume, distances, spacing):
    """A sphere of radius R filled with SUV c on a background of 1.

    Mean, max and std are exact: the mask holds only voxels of value c.

    Volume bound. The mask is the set of voxels whose centres lie within R of the centre.
    Let h = ½·sqrt(dx² + dy² + dz²) be the half-diagonal of a voxel. Every point of a
    masked voxel is within R + h of the centre, so N·v <= 4/3·π·(R + h)³. Every point at
    distance <= R − h lies in a voxel whose centre is within h of it, hence within R, so that
    voxel is masked and N·v >= 4/3·π·(R − h)³. The test asserts both inequalities.
    """
    radius_mm, suv = 15.0, 7.25
    shape = (40, 34, 26)
    affine = np.diag([*spacing, 1.0])
    centre = np.array([19.3, 16.6, 12.2])  # off-grid, so the voxelisation is not symmetric
    inside = distances(shape, affine, centre) <= radius_mm
    image = make_volume(np.where(inside, suv, 1.0).astype(np.float32), spacing)

    stats = region_stats(image, inside, name="sphere")

    assert stats.suv_mean == pytest.approx(suv, abs=1e-6)
    assert stats.suv_max == pytest.approx(suv, abs=1e-6)
    assert stats.suv_std == pytest.approx(0.0, abs=1e-6)
    half_diagonal = 0.5 * math.sqrt(sum(s * s for s in spacing))
    lower = 4.0 / 3.0 * math.pi * (radius_mm - half_diagonal) ** 3 / 1000.0
    upper = 4.0 / 3.0 * math.pi * (radius_mm + half_diagonal) ** 3 / 1000.0
    assert lower <= stats.volume_ml <= upper
    # and the volume is the voxel count times the voxel volume, exactly
    assert stats.volume_ml == pytest.approx(inside.sum() * np.prod(spacing) / 1000.0, rel=1e-12)
    # a large sphere on these grids is in fact within 2 % of the analytic volume
    assert stats.volume_ml == pytest.approx(4.0 / 3.0 * math.pi * radius_mm**3 / 1000.0, rel=0.02)


def test_object_stats_match_numpy_by_hand(make_volume, rng):
    spacing = (2.0, 2.5, 3.0)
    values = rng.gamma(2.0, 1.5, size=(20, 18, 16)).astype(np.float32)
    labels = np.zeros(values.shape, dtype=np.int16)
    labels[2:9, 3:10, 2:8] = 1
    labels[12:18, 2:7, 9:15] = 4
    labels[10:14, 12:17, 1:5] = 7
    image = make_volume(values, spacing)

    rows = object_stats(image, labels, names={1: "liver", 4: "spleen"})

    assert [(r.label, r.name, r.component) for r in rows] == [
        (1, "liver", 0), (4, "spleen", 0), (7, "label_7", 0)]
    voxel_ml = np.prod(spacing) / 1000.0
    for row in rows:
        sel = labels == row.label
        v = values[sel].astype(np.float64)
        assert row.voxel_count == sel.sum()
        assert row.volume_ml == pytest.approx(sel.sum() * voxel_ml, rel=1e-12)
        assert row.suv_mean == pytest.approx(v.mean(), rel=1e-9)
        assert row.suv_std == pytest.approx(v.std(), rel=1e-9)
        assert row.suv_max == pytest.approx(v.max(), rel=1e-9)
        assert values[row.max_index] == pytest.approx(v.max())
        assert row.tlg == pytest.approx(v.mean() * sel.sum() * voxel_ml, rel=1e-9)
        centroid_index = np.argwhere(sel).mean(axis=0)
        assert np.allclose(row.centroid_mm, image.index_to_world(centroid_index))
        assert row.suv_peak <= row.suv_max + 1e-9 and sel[row.peak_index]
    only = object_stats(image, labels, only=[4, 99])
    assert [r.label for r in only] == [4]


def test_tlg_is_suvmean_times_mtv_and_totals_add_up(make_volume, rng):
    values = rng.uniform(0.5, 12.0, size=(16, 16, 16))
    mask = np.zeros(values.shape, dtype=np.uint8)
    mask[1:5, 1:5, 1:5] = 1
    mask[9:15, 8:14, 10:13] = 1
    image = make_volume(values, (4.0, 4.0, 2.0))

    rows = lesion_table(image, mask)

    assert len(rows) == 2
    for row in rows:
        assert row.tlg == pytest.approx(row.suv_mean * row.volume_ml, rel=1e-12)
    summary = totals(rows)
    assert summary["count"] == 2
    assert summary["tmtv_ml"] == pytest.approx(mask.sum() * 0.032, rel=1e-12)
    assert summary["total_tlg"] == pytest.approx(
        values[1:5, 1:5, 1:5].mean() * 64 * 0.032 + values[9:15, 8:14, 10:13].mean() * 108 * 0.032,
        rel=1e-9)


def test_components_use_18_connectivity(make_volume):
    """Edge neighbours join (18-connectivity); corner-only neighbours do not."""
    values = np.arange(10 * 10 * 10, dtype=np.float64).reshape(10, 10, 10) / 100.0
    mask = np.zeros((10, 10, 10), dtype=np.uint8)
    mask[2, 2, 2] = mask[3, 3, 2] = 1  # share an edge
    mask[6, 6, 6] = mask[7, 7, 7] = 1  # share only a corner
    image = make_volume(values, (1.0, 1.0, 1.0))

    assert [r.voxel_count for r in lesion_table(image, mask)] == [2, 1, 1]
    assert [r.voxel_count for r in lesion_table(image, mask, connectivity=6)] == [1, 1, 1, 1]
    assert [r.voxel_count for r in lesion_table(image, mask, connectivity=26)] == [2, 2]


def test_components_of_different_labels_stay_apart(make_volume):
    labels = np.zeros((8, 8, 8), dtype=np.int32)
    labels[1:4, 1:4, 1:4] = 2
    labels[4:6, 1:4, 1:4] = 3  # touches label 2 but is another object
    labels[6:8, 6:8, 6:8] = 2
    image = make_volume(np.ones((8, 8, 8)), (1.0, 1.0, 1.0))
    rows = lesion_table(image, labels, names={2: "lesion", 3: "node"})
    assert [(r.label, r.name, r.voxel_count) for r in rows] == [
        (2, "lesion", 27), (2, "lesion", 8), (3, "node", 18)]
    assert len({r.component for r in rows}) == 3 and all(r.component > 0 for r in rows)


def test_bad_inputs_raise_input_error(make_volume):
    image = make_volume(np.ones((6, 6, 6)), (1.0, 1.0, 1.0))
    with pytest.raises(InputError, match="shape"):
        object_stats(image, np.ones((6, 6, 5), dtype=np.int8))
    shifted = Volume(np.ones((6, 6, 6), np.int8), np.diag([2.0, 1.0, 1.0, 1.0]))
    with pytest.raises(InputError, match="resample"):
        object_stats(image, shifted)
    with pytest.raises(InputError, match="negative"):
        object_stats(image, -np.ones((6, 6, 6), dtype=np.int8))
    with pytest.raises(InputError, match="empty"):
        region_stats(image, np.zeros((6, 6, 6), dtype=bool))
    with pytest.raises(InputError, match="connectivity"):
        lesion_table(image, np.ones((6, 6, 6), dtype=np.int8), connectivity=8)
