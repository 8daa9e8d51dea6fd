"""Fit the session's candidate ranker (:mod:`seganypet.session.ranking`) for one model.

Each target of a labelled case gives one :class:`RankerSample`: one click at the target's
deepest voxel, every first-click candidate's ranking features, and the Dice each candidate
reaches when shown (the session's own answer, extension beyond the first patch included). The
ranker is a small MLP trained with a per-target-weighted binary cross-entropy on the Dice, so
its output is a calibrated expected Dice; every target weighs the same however many
candidates it has.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from seganypet.mask_centre import distance_center
from seganypet.session import Session
from seganypet.session.candidates import ranking_features
from seganypet.session.ranking import RANKER_FEATURES, CandidateRanker
from seganypet.volume import Volume

__all__ = ["RankerSample", "candidate_sample", "fit_ranker"]


@dataclass(frozen=True)
class RankerSample:
    """One target's candidates: ``features (N, F)``, their ``dice (N,)`` against the truth,
    and the index ``rule`` the boundary-step rule shows; ``group`` names the kind of target
    (e.g. ``"organ"``, ``"lesion"``)."""

    features: np.ndarray
    dice: np.ndarray
    rule: int
    group: str


def candidate_sample(model: torch.nn.Module, image: Volume, truth: np.ndarray, group: str,
                     dice: Callable[[np.ndarray, np.ndarray], float]) -> RankerSample | None:
    """Click ``truth`` (bool, image grid) at its deepest voxel and score every candidate with
    ``dice(mask, truth)`` (e.g. :func:`seganypet.evaluation.metrics.dice`; passed in because
    training sits beside evaluation, not on top of it).

    Returns None when the click has no isocontour candidates (nothing to rank)."""
    session = Session(model, ranker=None)
    session.set_image(image)
    session.add_point(distance_center(truth, image.spacing))
    candidates = session.current.tiles[(0, 0, 0)].candidate_set
    features = ranking_features(candidates) if candidates is not None else None
    if features is None:
        return None
    rule = int(session.candidate)
    scores = []
    for index in range(len(session.candidates)):
        session.select_candidate(index)
        scores.append(dice(session.mask.array > 0, truth))
    return RankerSample(features, np.asarray(scores, np.float64), rule, group)


def fit_ranker(samples: Iterable[RankerSample], hidden: int = 8, epochs: int = 600,
               learning_rate: float = 1e-2, weight_decay: float = 1e-3, seed: int = 0,
               info: dict[str, Any] | None = None) -> CandidateRanker:
    """Full-batch Adam on the weighted cross-entropy between the predicted and the observed
    Dice of every candidate (each target's candidates share weight 1). ``hidden`` = 0 fits a
    logistic model. Deterministic for a given ``seed``."""
    samples = list(samples)
    if len(samples) < 2:
        raise ValueError(f"a ranker needs candidates of at least 2 targets, got {len(samples)}")
    x = np.concatenate([s.features for s in samples])
    y = np.concatenate([s.dice for s in samples])
    weight = np.concatenate([np.full(len(s.dice), 1.0 / len(s.dice)) for s in samples])
    mean, std = x.mean(0), x.std(0)
    std = np.where(std > 1e-6, std, 1.0)  # a constant feature: leave it unscaled
    generator = torch.Generator().manual_seed(seed)
    net = _mlp(x.shape[1], hidden, generator)
    inputs = torch.tensor((x - mean) / std, dtype=torch.float32)
    target = torch.tensor(y, dtype=torch.float32)
    weights = torch.tensor(weight / weight.sum(), dtype=torch.float32)
    optimizer = torch.optim.Adam(net.parameters(), learning_rate, weight_decay=weight_decay)
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(
            net(inputs)[:, 0], target, reduction="none")
        (loss * weights).sum().backward()
        optimizer.step()
    layers = tuple((m.weight.detach().double().numpy(), m.bias.detach().double().numpy())
                   for m in net if isinstance(m, nn.Linear))
    provenance = {"targets": len(samples), "candidates": len(y), "hidden": hidden,
                  "epochs": epochs, "seed": seed, **(info or {})}
    return CandidateRanker(mean, std, layers, provenance)


def _mlp(width: int, hidden: int, generator: torch.Generator) -> nn.Sequential:
    """``width`` -> (``hidden`` tanh) -> 1, initialised from ``generator``."""
    if width != len(RANKER_FEATURES):
        raise ValueError(f"features have {width} columns, the ranker expects "
                         f"{len(RANKER_FEATURES)}")
    sizes = [width, hidden, 1] if hidden > 0 else [width, 1]
    layers: list[nn.Module] = []
    for n, (a, b) in enumerate(itertools.pairwise(sizes)):
        linear = nn.Linear(a, b)
        with torch.no_grad():
            bound = 1.0 / np.sqrt(a)
            linear.weight.uniform_(-bound, bound, generator=generator)
            linear.bias.uniform_(-bound, bound, generator=generator)
        layers.append(linear)
        if n < len(sizes) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)
