"""The learned candidate ranker: features, JSON round trip, fitting, and its use in a session."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from seganypet.errors import InputError
from seganypet.evaluation.metrics import dice
from seganypet.model import build_model, load_model, save_model
from seganypet.session import Session
from seganypet.session.candidates import choose_shown, ranking_features
from seganypet.session.ranking import (
    RANKER_FEATURES,
    CandidateRanker,
    load_ranker,
    ranker_path_for,
)
from seganypet.train.ranker import RankerSample, candidate_sample, fit_ranker

from .conftest import layered_scene

COLUMN = {name: n for n, name in enumerate(RANKER_FEATURES)}


@pytest.fixture(scope="module")
def tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("tiny")


def linear_ranker(column: str, slope: float = 4.0) -> CandidateRanker:
    """A logistic ranker that reads one feature: higher ``column`` = higher predicted Dice."""
    width = len(RANKER_FEATURES)
    weight = np.zeros((1, width))
    weight[0, COLUMN[column]] = slope
    return CandidateRanker(np.zeros(width), np.ones(width), ((weight, np.zeros(1)),), {})


def first_click(model: torch.nn.Module, ranker: CandidateRanker | None) -> Session:
    session = Session(model, multimask=True, max_tiles=2, ranker=ranker)
    session.set_image(layered_scene())
    session.add_point((24, 22, 20))
    return session


def test_features_describe_each_candidate(tiny_model) -> None:
    session = first_click(tiny_model, None)
    candidates = session.current.tiles[(0, 0, 0)].candidate_set
    features = ranking_features(candidates)
    infos = session.candidates
    assert features.shape == (len(infos), len(RANKER_FEATURES))
    iso = np.array([c.source == "isocontour" for c in infos], float)
    assert np.array_equal(features[:, COLUMN["is_isocontour"]], iso)
    choice = candidates.model_choice
    assert np.flatnonzero(features[:, COLUMN["is_model_choice"]]).tolist() == [choice]
    assert features[choice, COLUMN["log_ratio_to_choice"]] == pytest.approx(0.0)
    assert features[choice, COLUMN["dice_with_choice"]] == pytest.approx(1.0)
    rule = choose_shown(candidates, choice)
    assert np.flatnonzero(features[:, COLUMN["is_rule_choice"]]).tolist() == [rule]
    assert rule == session.candidate  # without a ranker the rule decides what is shown
    volumes = np.array([c.volume_ml for c in infos])
    assert np.allclose(features[:, COLUMN["log10_ml"]], np.log10(volumes + 0.1))
    # the click sits on the hot core's maximum region: seed / local max close to 1
    assert 0.9 < features[0, COLUMN["seed_over_local_max"]] <= 1.0


def test_session_shows_the_ranker_choice_and_reports_its_score(tiny_model) -> None:
    largest = first_click(tiny_model, linear_ranker("log10_ml"))
    volumes = [c.volume_ml for c in largest.candidates]
    assert largest.candidate == int(np.argmax(volumes))
    smallest = first_click(tiny_model, linear_ranker("log10_ml", slope=-4.0))
    assert smallest.candidate == int(np.argmin(volumes))
    features = ranking_features(largest.current.tiles[(0, 0, 0)].candidate_set)
    expected = linear_ranker("log10_ml").predict(features)
    assert [c.score for c in largest.candidates] == pytest.approx(expected.tolist())
    assert largest.score == pytest.approx(expected.max())
    # grow / shrink / undo still step through the same candidates
    shown = largest.candidate
    largest.shrink()
    assert largest.candidates[largest.candidate].volume_ml < volumes[shown]
    largest.undo()
    assert largest.candidate == shown


def test_ranker_json_round_trip_and_bad_files(tmp_path) -> None:
    rng = np.random.default_rng(0)
    width = len(RANKER_FEATURES)
    ranker = CandidateRanker(rng.normal(size=width), rng.uniform(0.5, 2, width),
                             ((rng.normal(size=(5, width)), rng.normal(size=5)),
                              (rng.normal(size=(1, 5)), rng.normal(size=1))), {"fitted_on": "x"})
    path = tmp_path / "m.ranker.json"
    path.write_text(ranker.to_json())
    loaded = load_ranker(path)
    features = rng.normal(size=(7, width))
    assert np.allclose(loaded.predict(features), ranker.predict(features))
    assert loaded.info == {"fitted_on": "x"}
    data = json.loads(path.read_text())
    for broken in ({**data, "features": data["features"][:-1]},
                   {**data, "layers": data["layers"][:1]},
                   {**data, "std": [0.0] * width}):
        path.write_text(json.dumps(broken))
        with pytest.raises(InputError, match="candidate ranker"):
            load_ranker(path)
    path.write_text("{not json")
    with pytest.raises(InputError, match="candidate ranker"):
        load_ranker(path)


def test_auto_finds_the_ranker_beside_the_weights(tmp_path, tiny_model) -> None:
    weights, _ = save_model(tiny_model, tmp_path / "tiny.safetensors")
    assert Session(load_model(weights)).ranker is None  # none beside it: the rule decides
    ranker_path_for(weights).write_text(linear_ranker("log10_ml").to_json())
    assert ranker_path_for(weights).name == "tiny.ranker.json"
    assert Session(load_model(weights)).ranker is not None
    assert Session(load_model(weights), ranker=None).ranker is None


def test_fit_recovers_which_candidate_is_best() -> None:
    """Synthetic targets whose Dice is a smooth function of two features: the fitted ranker
    must pick the best candidate of new targets and predict its Dice."""
    rng = np.random.default_rng(1)

    def sample() -> RankerSample:
        features = rng.normal(size=(6, len(RANKER_FEATURES)))
        truth = 1 / (1 + np.exp(-(2.0 * features[:, 3] - 1.5 * features[:, 1])))
        return RankerSample(features, truth, 0, "organ")

    ranker = fit_ranker([sample() for _ in range(150)], hidden=8, epochs=400)
    held = [sample() for _ in range(60)]
    picks = [int(np.argmax(ranker.predict(s.features))) for s in held]
    best = [int(np.argmax(s.dice)) for s in held]
    assert np.mean(np.equal(picks, best)) > 0.8
    error = np.mean([abs(ranker.predict(s.features)[k] - s.dice[k]) for s, k in zip(held, picks)])
    assert error < 0.08
    assert ranker.info["targets"] == 150 and len(ranker.layers) == 2
    with pytest.raises(ValueError):
        fit_ranker([sample()])


def test_candidate_sample_scores_every_candidate(tiny_model) -> None:
    image = layered_scene()
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in image.shape], indexing="ij"), -1)
    core = np.linalg.norm(idx - np.array([24, 22, 20]), axis=-1) < 4
    sample = candidate_sample(tiny_model, image, core, "lesion", dice)
    session = first_click(tiny_model, None)
    assert sample is not None and sample.features.shape[0] == len(session.candidates)
    assert sample.rule == session.candidate
    # the 0.7 isocontour is the core itself
    iso = [c.index for c in session.candidates if c.fraction == 0.7]
    assert sample.dice[iso[0]] > 0.9 and np.all((sample.dice >= 0) & (sample.dice <= 1))
