"""A learned, calibrated choice among an object's first-click candidates.

The boundary-step rule of :mod:`seganypet.session.candidates` is right on hot lesions and
spheres but overrides good organ-sized model masks with isocontours (docs/results.md, "Where
the first click loses"). The ranker predicts each candidate's **Dice** from what the session
knows at the click -- its source, volume, the uptake on both sides of its surface, the model's
predicted IoU, how much of it the model supports, its isocontour fraction, its overlap with the
model's own choice, and which candidate the rule would show -- and the candidate of highest
predicted Dice is shown; the prediction is the score reported for it.

It is a small multilayer perceptron (tanh hidden layers, sigmoid output) stored as plain JSON
beside the weights it was fitted for (``<weights>.ranker.json``: feature names, standardisation,
layer matrices; no pickle). Fitting: :mod:`seganypet.train.ranker`,
``benchmarks/fit_candidate_ranker.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seganypet.errors import InputError

__all__ = ["RANKER_FEATURES", "CandidateRanker", "RankingContext", "candidate_features",
           "load_ranker", "ranker_path_for"]

RANKER_FEATURES = (
    "is_isocontour", "log10_ml", "log_ratio_to_choice", "boundary_contrast", "log1p_inner",
    "log1p_outer", "step_over_best", "predicted_iou", "predicted_iou_gap", "model_support",
    "fraction", "choice_share_inside", "dice_with_choice", "is_model_choice",
    "seed_over_local_max", "is_empty", "is_rule_choice", "step_over_choice",
    # how the isocontour family grows around this candidate: a compact lesion's isocontours
    # keep their volume from one fraction to the next, an organ's keep growing
    "log_growth_to_next", "log_growth_from_previous", "log_ratio_to_smallest_isocontour",
    "isocontour_count", "log_largest_model_over_smallest_isocontour",
)


@dataclass(frozen=True)
class RankingContext:
    """What the features need besides the candidates' own descriptions.

    Attributes:
        model_choice: index of the model's own choice (best predicted IoU at the click).
        rule_choice: index the boundary-step rule would show.
        overlap_with_choice: per candidate, ``(share of the model's choice inside it, Dice of
            the two)``.
        seed_suv: SUV at the click voxel.
        local_max: SUVmax within 10 mm of the click (the isocontours' reference).
    """

    model_choice: int
    rule_choice: int
    overlap_with_choice: list[tuple[float, float]]
    seed_suv: float
    local_max: float


def candidate_features(infos: list[Any], num_model: int, context: RankingContext) -> np.ndarray:
    """Feature matrix ``(N, len(RANKER_FEATURES))`` of candidates ``infos``
    (:class:`~seganypet.session.candidates.CandidateInfo`; the first ``num_model`` are the
    model's). Scale-free where it can be (ratios, logs), so one fit serves all voxel sizes."""
    m = context.model_choice
    steps = np.array([c.boundary.step for c in infos], np.float64)
    best_step = max(float(steps.max()), 1e-3)
    choice_ml = max(infos[m].volume_ml, 1e-2)
    top_iou = max(float(c.predicted_iou) for c in infos[:num_model])
    choice_step = max(float(steps[m]), 1e-2)
    seed_ratio = context.seed_suv / max(context.local_max, 1e-3)
    rows = []
    for index, info in enumerate(infos):
        image = index >= num_model
        inner, outer = info.boundary.inner, info.boundary.outer
        share, dice = context.overlap_with_choice[index]
        iou = 0.0 if image else float(info.predicted_iou)
        rows.append([
            float(image), np.log10(info.volume_ml + 0.1),
            np.log((info.volume_ml + 0.1) / (choice_ml + 0.1)),
            (inner - outer) / inner if inner > 0 else 0.0,
            np.log1p(max(inner, 0.0)), np.log1p(max(outer, 0.0)), steps[index] / best_step,
            iou, 0.0 if image else iou - top_iou,
            float(info.model_support) if image and info.model_support is not None else 1.0,
            float(info.fraction or 0.0), share, dice, float(index == m), seed_ratio,
            float(info.volume_ml <= 0), float(index == context.rule_choice),
            np.tanh(steps[index] / choice_step / 4.0),
            *_family_features(infos, num_model, index),
        ])
    return np.asarray(rows, np.float64).reshape(len(infos), len(RANKER_FEATURES))


def _family_features(infos: list[Any], num_model: int, index: int) -> list[float]:
    """The five isocontour-family features of candidate ``index`` (isocontours are
    ``infos[num_model:]``, smallest first)."""
    family = [c.volume_ml + 0.1 for c in infos[num_model:]]
    smallest = min(family) if family else 0.1
    growth_next = growth_previous = 1.0
    if index >= num_model:
        j = index - num_model
        growth_next = family[j + 1] / family[j] if j + 1 < len(family) else 1.0
        growth_previous = family[j] / family[j - 1] if j > 0 else 1.0
    largest_model = max(c.volume_ml for c in infos[:num_model]) + 0.1
    return [np.log(growth_next), np.log(growth_previous),
            np.log((infos[index].volume_ml + 0.1) / smallest), len(family) / 5.0,
            np.log(largest_model / smallest)]


@dataclass(frozen=True)
class CandidateRanker:
    """Predicted Dice of candidates from their features.

    Attributes:
        mean, std: ``(F,)`` feature standardisation.
        layers: ``[(W (out, in), b (out,)), ...]``; tanh between layers, sigmoid at the end.
        info: provenance (what it was fitted on), kept in the JSON.
    """

    mean: np.ndarray
    std: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    info: dict[str, Any]

    def predict(self, features: np.ndarray) -> np.ndarray:
        """``features (N, F)`` -> predicted Dice ``(N,)`` in (0, 1)."""
        x = (np.asarray(features, np.float64) - self.mean) / self.std
        for n, (weight, bias) in enumerate(self.layers):
            x = x @ weight.T + bias
            if n < len(self.layers) - 1:
                x = np.tanh(x)
        return 1.0 / (1.0 + np.exp(-x[:, 0]))

    def to_json(self) -> str:
        return json.dumps({
            "kind": "seganypet candidate ranker", "features": list(RANKER_FEATURES),
            "mean": self.mean.tolist(), "std": self.std.tolist(),
            "layers": [{"weight": w.tolist(), "bias": b.tolist()} for w, b in self.layers],
            "info": self.info}, indent=1) + "\n"


def load_ranker(path: str | Path) -> CandidateRanker:
    """Read a ranker JSON written by :meth:`CandidateRanker.to_json`.

    Raises:
        InputError: unreadable file, other features than this version's, or shapes that do
            not chain.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        if data.get("features") != list(RANKER_FEATURES):
            raise ValueError(f"its features {data.get('features')} are not this version's")
        mean, std = np.asarray(data["mean"], np.float64), np.asarray(data["std"], np.float64)
        layers = tuple((np.asarray(layer["weight"], np.float64), np.asarray(layer["bias"], np.float64))
                       for layer in data["layers"])
        width = len(RANKER_FEATURES)
        if mean.shape != (width,) or std.shape != (width,) or np.any(std <= 0):
            raise ValueError("mean/std must hold one positive std per feature")
        for weight, bias in layers:
            if weight.ndim != 2 or weight.shape[1] != width or bias.shape != (weight.shape[0],):
                raise ValueError(f"layer of shape {weight.shape} does not follow width {width}")
            width = weight.shape[0]
        if not layers or width != 1:
            raise ValueError("the last layer must have one output")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"cannot read the candidate ranker {path}: {error}") from None
    return CandidateRanker(mean, std, layers, dict(data.get("info", {})))


def ranker_path_for(weights: str | Path) -> Path:
    """Where the ranker of a weights file lives: ``default.safetensors`` ->
    ``default.ranker.json``."""
    weights = Path(weights)
    return weights.with_name(weights.stem + ".ranker.json")
