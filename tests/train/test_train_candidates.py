"""Candidate choice during training: the ranking loss and the session's choice rule."""

from __future__ import annotations

import dataclasses
import math

import torch

from seganypet.model import build_model
from seganypet.train.config import TrainConfig
from seganypet.train.data import patch_spec
from seganypet.train.interaction import (
    ClickPlan,
    InteractiveStep,
    candidate_rank_loss,
    session_choice,
)
from seganypet.train.losses import dice_ce_per_sample
from seganypet.train.phantom_cases import phantom_case_generator
from seganypet.train.sources import PatchSource, PhantomCases


def test_rank_loss_is_cross_entropy_on_the_best_true_candidate() -> None:
    scores = torch.tensor([[0.1, 0.5, 0.2], [0.3, 0.3, 0.3], [0.9, 0.0, 0.0]])
    true = torch.tensor([[0.0, 0.9, 0.1], [0.2, 0.2, 0.2], [0.0, 0.8, 0.0]])
    loss = candidate_rank_loss(scores, true)
    exps = [math.exp(1.0), math.exp(5.0), math.exp(2.0)]
    assert math.isclose(float(loss[0]), -math.log(exps[1] / sum(exps)), rel_tol=1e-5)
    assert float(loss[1]) == 0.0  # all candidates equally good: nothing to rank
    # scoring the wrong candidate highest costs much more than scoring the right one
    assert float(loss[2]) > 8.0 > float(loss[0])


def test_session_choice_prefers_candidates_containing_the_click() -> None:
    low = torch.full((2, 3, 4, 4, 4), -1.0)
    low[:, 0, 1, 1, 1] = 1.0  # candidate 0 covers the click cell (patch voxels 4..7)
    low[1, 2, 1, 1, 1] = 2.0  # sample 1: candidates 0 and 2 both cover it
    scores = torch.tensor([[0.1, 0.9, 0.5], [0.1, 0.9, 0.5]])
    clicks = torch.tensor([[5, 6, 4], [7, 7, 7]])
    assert session_choice(low, scores, clicks, 16).tolist() == [0, 2]
    # no candidate contains the click: the best score overall
    assert session_choice(low, scores, torch.tensor([[15, 0, 0], [0, 0, 15]]), 16).tolist() \
        == [1, 1]


def test_prompt_from_choice_starts_refinement_from_the_shown_candidate() -> None:
    """Same batch, same weights: the first decode differs only when the scorer's choice is not
    the oracle-best candidate, and the first-click loss (the oracle minimum) never changes."""
    torch.manual_seed(0)
    cfg = TrainConfig(preset="tiny", phantom_voxel_mm=8.0, phantom_pool=2, phantom_reuse=4,
                      phantom_lq_fraction=0.0, amp="off", seed=3, iou_rank_weight=0.5,
                      loss_grid="low_res")
    model = build_model("tiny").eval()
    source = PatchSource(cfg, patch_spec(cfg, model.config), None,
                         PhantomCases(phantom_case_generator(cfg), cfg))
    batch = source.batch([0, 1, 2, 3])
    oracle = InteractiveStep(model, cfg)
    shown = InteractiveStep(model, dataclasses.replace(cfg, prompt_from_choice=True))
    with torch.no_grad():
        embedding = model.encode(batch.images)
        size, low = batch.images.shape[-1], model.config.low_res_size
        targets = torch.nn.functional.avg_pool3d(batch.targets, size // low)
        first_o, loss_o, iou_o = oracle._first_decode(embedding, batch, targets)
        first_s, loss_s, iou_s = shown._first_decode(embedding, batch, targets)
        _, scores = model.decode(embedding, batch.first_clicks[:, None].float(),
                                 torch.ones((4, 1), dtype=torch.long),
                                 torch.zeros((4, 1, low, low, low)), multimask=True)
        step_loss, _ = shown(batch, ClickPlan(3))
    assert torch.equal(loss_o, loss_s) and torch.equal(iou_o, iou_s)
    assert iou_o.min() > 0  # the MSE term plus the ranking term
    candidates = _candidates(model, embedding, batch, low)
    choice = session_choice(candidates, scores, batch.first_clicks, size)
    m = candidates.shape[1]
    per = dice_ce_per_sample(candidates.reshape(4 * m, 1, low, low, low),
                             targets.repeat_interleave(m, dim=0)).view(4, m)
    for i in range(4):
        assert torch.equal(first_s.low[i, 0], candidates[i, int(choice[i])])
        assert torch.equal(first_o.low[i, 0], candidates[i, int(per[i].argmin())])
    assert torch.isfinite(step_loss)


def _candidates(model, embedding, batch, low: int) -> torch.Tensor:
    n = batch.images.shape[0]
    masks, _ = model.decode(embedding, batch.first_clicks[:, None].float(),
                            torch.ones((n, 1), dtype=torch.long),
                            torch.zeros((n, 1, low, low, low)), multimask=True)
    return masks
