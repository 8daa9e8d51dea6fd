"""The click protocol, the threshold baselines and the aggregation, on synthetic cases."""

from __future__ import annotations

import numpy as np
import pytest
from eval_phantoms import LESION, LIVER, tiny_case

from seganypet.clicks import STRATEGIES
from seganypet.errors import InputError
from seganypet.evaluation.aggregate import bootstrap_ci, summarize
from seganypet.evaluation.baselines import BASELINES, DelineationSegmenter, make_baseline
from seganypet.evaluation.protocol import run_interactive


@pytest.fixture
def case(rng):
    return tiny_case(rng)


def _target(labels, label_id):
    return labels.with_array((labels.array == label_id).astype(np.uint8), unit="mask")


@pytest.mark.parametrize("baseline", sorted(BASELINES))
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_baselines_delineate_a_uniform_lesion_exactly(case, baseline, strategy):
    image, labels = case
    steps = run_interactive(make_baseline(baseline), image, _target(labels, LESION), 3, strategy,
                            np.random.default_rng(0))
    assert [s.number for s in steps] == [1, 2, 3]
    assert steps[0].click.positive and labels.array[steps[0].click.index] == LESION
    for step in steps:  # the lesion is the 8-SUV blob: both rules return it exactly
        assert step.scores.dice == 1.0 and step.scores.nsd == 1.0
        assert step.scores.fp_volume_ml == 0.0 and step.scores.fn_volume_ml == 0.0
        assert step.scores.target_volume_ml == pytest.approx(
            (labels.array == LESION).sum() * 0.048)
    # no error left: positive clicks in the target, never the same voxel twice
    assert all(s.click.positive and labels.array[s.click.index] == LESION for s in steps)
    assert len({s.click.index for s in steps}) == 3


def test_suv25_refuses_the_liver_and_every_click_asks_for_more(case):
    """The 2.0-SUV liver is below 2.5: the mask stays empty, all clicks are positive in FN."""
    image, labels = case
    steps = run_interactive(make_baseline("suv2.5"), image, _target(labels, LIVER), 4, "random",
                            np.random.default_rng(1))
    for step in steps:
        assert step.click.positive and labels.array[step.click.index] == LIVER
        assert step.scores.dice == 0.0 and step.scores.nsd == 0.0
        assert step.scores.fn_volume_ml == pytest.approx(step.scores.target_volume_ml)


def test_negative_click_removes_the_clicked_component(case):
    image, labels = case
    segmenter = DelineationSegmenter(lambda img, seed: img.with_array(
        (img.array > 1.5).astype(np.uint8)))  # a rule that grabs liver and lesion together
    steps = run_interactive(lambda: segmenter, image, _target(labels, LESION), 2, "center",
                            np.random.default_rng(0))
    assert steps[0].scores.dice < 1.0 and steps[0].scores.fp_volume_ml > 0
    assert not steps[1].click.positive and labels.array[steps[1].click.index] == LIVER
    assert steps[1].scores.dice == 1.0  # the liver component was removed


def test_protocol_rejects_bad_targets(case):
    image, labels = case
    empty = labels.with_array(np.zeros(labels.shape, np.uint8))
    with pytest.raises(InputError, match="empty"):
        run_interactive(make_baseline("suv2.5"), image, empty, 1, "random",
                        np.random.default_rng(0))
    with pytest.raises(InputError, match="at least 1"):
        run_interactive(make_baseline("suv2.5"), image, _target(labels, LESION), 0, "random",
                        np.random.default_rng(0))
    with pytest.raises(InputError, match="unknown baseline"):
        make_baseline("otsu")


def test_bootstrap_ci_brackets_the_median_and_narrows_with_more_cases():
    rng = np.random.default_rng(0)
    small = rng.normal(0.8, 0.05, size=10)
    large = rng.normal(0.8, 0.05, size=400)
    lo_s, hi_s = bootstrap_ci(small, np.random.default_rng(1))
    lo_l, hi_l = bootstrap_ci(large, np.random.default_rng(1))
    assert lo_s <= np.median(small) <= hi_s and lo_l <= np.median(large) <= hi_l
    assert hi_l - lo_l < (hi_s - lo_s) / 2
    assert np.isnan(bootstrap_ci([0.5], rng)).all()
    assert bootstrap_ci([0.7, 0.7, float("nan")], rng) == (0.7, 0.7)


def test_summarize_groups_and_counts_missing_values():
    rows = [
        {"method": "m", "split": "test", "target_name": "liver", "click": 1, "dice": d}
        for d in (0.2, 0.4, 0.6, 0.8, float("nan"))
    ] + [{"method": "m", "split": "test", "target_name": "liver", "click": 2, "dice": 1.0}]
    first, second = summarize(rows, metrics=("dice",))
    assert first.group == ("m", "test", "liver", 1)
    assert (first.n, first.n_missing) == (4, 1)
    assert first.median == pytest.approx(0.5) and first.mean == pytest.approx(0.5)
    assert (first.q1, first.q3) == (pytest.approx(0.35), pytest.approx(0.65))
    assert first.ci_low <= 0.5 <= first.ci_high
    assert second.n == 1 and second.median == 1.0 and np.isnan(second.ci_low)
