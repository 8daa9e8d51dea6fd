"""The simulated user: clicks land in the right region with the right label."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from seganypet.click import Click
from seganypet.clicks import (
    STRATEGIES,
    error_regions,
    first_click,
    largest_component,
    next_click,
)
from seganypet.errors import InputError
from seganypet.mask_centre import distance_center


def _random_blobs(rng: np.random.Generator, shape=(12, 11, 10)) -> np.ndarray:
    """Irregular masks with several components: smoothed noise above a random level."""
    noise = ndimage.gaussian_filter(rng.random(shape), sigma=float(rng.uniform(0.7, 1.6)))
    return noise > np.quantile(noise, rng.uniform(0.5, 0.9))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_next_click_is_in_the_chosen_error_component_with_the_right_label(strategy):
    rng = np.random.default_rng(7)
    for _ in range(150):
        target, pred = _random_blobs(rng), _random_blobs(rng)
        if rng.random() < 0.2:
            pred = np.zeros_like(pred)
        if not target.any():
            continue
        spacing = tuple(rng.choice([1.0, 2.0, 4.0], size=3))
        click = next_click(pred, target, rng, strategy, spacing)
        fn, fp = error_regions(pred, target)
        if not fn.any() and not fp.any():
            assert click.positive and target[click.index]
            continue
        assert (fn | fp)[click.index], "click outside the error region"
        assert click.positive == bool(fn[click.index])
        assert click.positive == bool(target[click.index])
        # it sits in the larger of the two largest error components (ties -> FN)
        fn_size, fp_size = largest_component(fn).sum(), largest_component(fp).sum()
        chosen = largest_component(fn if fn_size >= fp_size else fp)
        assert chosen[click.index]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_first_click_is_inside_the_target(strategy):
    rng = np.random.default_rng(3)
    for _ in range(60):
        target = _random_blobs(rng)
        click = first_click(target, rng, strategy, (2.0, 2.0, 3.0))
        assert click.positive and target[click.index]


def test_random_clicks_cover_the_region_uniformly():
    target = np.zeros((6, 6, 6), dtype=bool)
    target[1:3, 1:3, 1:3] = True  # 8 voxels
    rng = np.random.default_rng(0)
    counts: dict[tuple[int, int, int], int] = {}
    for _ in range(1600):
        index = first_click(target, rng, "random").index
        counts[index] = counts.get(index, 0) + 1
    assert len(counts) == 8 and min(counts.values()) > 140  # expected 200 each


def test_center_honours_anisotropic_spacing():
    """The distance-transform centre is measured in mm, not voxels."""
    slab = np.zeros((11, 11, 5), dtype=bool)
    slab[1:10, 1:10, 1:4] = True  # 9 x 9 x 3 voxels
    assert distance_center(slab, (1.0, 1.0, 3.0)) == (5, 5, 2)  # unique 5 mm maximum
    # an L shape: arm A is 3 voxels thick along axis 0, arm B 7 voxels thick along axis 1
    ell = np.zeros((20, 20, 15), dtype=bool)
    ell[0:3, :, :] = True
    ell[:, 0:7, :] = True
    iso = distance_center(ell, (1.0, 1.0, 1.0))
    assert iso[1] == 3 and iso[0] >= 3  # arm B is thicker in voxels
    thick = distance_center(ell, (4.0, 1.0, 1.0))
    assert thick[0] == 1 and thick[1] >= 7  # arm A is 12 mm thick, arm B 7 mm


def test_center_strategy_and_perfect_prediction_are_deterministic():
    target = np.zeros((9, 9, 9), dtype=bool)
    target[2:7, 2:7, 2:7] = True
    a = next_click(target, target, np.random.default_rng(1), "random")
    b = next_click(target, target, np.random.default_rng(2), "random")
    assert a == b and a.positive and a.index == (4, 4, 4)
    pred = target.copy()
    pred[2:7, 2:7, 5:7] = False  # FN slab
    c1 = next_click(pred, target, np.random.default_rng(1), "center")
    c2 = next_click(pred, target, np.random.default_rng(99), "center")
    assert c1 == c2 and c1.positive and c1.index[2] in (5, 6)


def test_previous_clicks_are_not_repeated():
    """An unchanged error must not get the same click again: the centre moves away from the
    earlier click (it acts as boundary), a random click picks another voxel."""
    target = np.zeros((11, 11, 11), dtype=bool)
    target[1:10, 1:10, 1:10] = True
    empty = np.zeros_like(target)
    rng = np.random.default_rng(0)
    first = next_click(empty, target, rng, "center")
    assert first == Click((5, 5, 5), True)
    second = next_click(empty, target, rng, "center", previous=[first])
    assert second.positive and target[second.index] and second.index != first.index
    distance_to_first = np.linalg.norm(np.subtract(second.index, first.index))
    assert distance_to_first >= 2  # midway between the first click and the boundary
    two = np.zeros_like(target)
    two[3, 3, 3:5] = True
    for _ in range(20):
        click = next_click(empty, two, rng, "random", previous=[Click((3, 3, 3), True)])
        assert click.index == (3, 3, 4)
    # when every voxel was clicked already, clicking again is allowed
    assert next_click(empty, two, rng, "random", previous=[Click((3, 3, 3), True),
                                                          Click((3, 3, 4), True)]).positive


def test_fp_component_larger_gives_a_negative_click():
    target = np.zeros((10, 10, 10), dtype=bool)
    target[1:4, 1:4, 1:4] = True
    pred = target.copy()
    pred[1, 1, 1] = False  # 1-voxel FN
    pred[6:9, 6:9, 6:9] = True  # 27-voxel FP
    click = next_click(pred, target, np.random.default_rng(0), "center")
    assert not click.positive and click.index == (7, 7, 7)


def test_bad_inputs_raise_input_error():
    empty = np.zeros((4, 4, 4), dtype=bool)
    with pytest.raises(InputError, match="empty"):
        first_click(empty, np.random.default_rng(0))
    with pytest.raises(InputError, match="both empty"):
        next_click(empty, empty, np.random.default_rng(0))
    with pytest.raises(InputError, match="strategy"):
        first_click(~empty, np.random.default_rng(0), "middle")  # type: ignore[arg-type]
