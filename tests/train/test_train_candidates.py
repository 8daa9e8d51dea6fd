"""Candidate choice during training: the ranking loss and the session's choice rule."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
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


def _slot_config(**changes) -> TrainConfig:
    values = {"preset": "tiny", "phantom_voxel_mm": 8.0, "phantom_pool": 2, "phantom_reuse": 4,
              "phantom_lq_fraction": 0.0, "amp": "off", "seed": 5, "loss_grid": "low_res",
              "scale_bounds_ml": (20.0, 500.0), "scale_slots": (2, 0, 1)}
    values.update(changes)
    return TrainConfig(**values)


def test_scale_slots_band_targets_by_their_volume_in_the_patch() -> None:
    model = build_model("tiny")
    step = InteractiveStep(model, _slot_config())
    voxel_ml = float(torch.tensor(model.config.spacing_mm).prod()) / 1000
    size = model.config.image_size
    targets = torch.zeros((3, 1, size, size, size))
    for row, ml in enumerate((5.0, 100.0, 900.0)):
        targets[row].view(-1)[:round(ml / voxel_ml)] = 1
    assert step._scale_slot(targets).tolist() == [2, 0, 1]


def test_scale_slots_train_only_the_slot_of_the_target_scale() -> None:
    """With slots, the first-click loss is the assigned candidate's loss (not the minimum),
    and only that candidate's output MLP gets a gradient from it."""
    torch.manual_seed(0)
    cfg = _slot_config(iou_loss_weight=0.0)
    model = build_model("tiny")
    source = PatchSource(cfg, patch_spec(cfg, model.config), None,
                         PhantomCases(phantom_case_generator(cfg), cfg))
    batch = source.batch([0])
    step = InteractiveStep(model, cfg)
    embedding = model.encode(batch.images)
    low = model.config.low_res_size
    targets = torch.nn.functional.avg_pool3d(batch.targets, batch.images.shape[-1] // low)
    _, loss, _ = step._first_decode(embedding, batch, targets)
    slot = int(step._scale_slot(batch.targets)[0])
    candidates = _candidates(model, embedding, batch, low)
    per = dice_ce_per_sample(candidates[0][:, None], targets.expand(candidates.shape[1], -1,
                                                                     -1, -1, -1))
    assert torch.allclose(loss[0], per[slot], atol=1e-5)
    model.zero_grad()
    loss.sum().backward()
    mlps = model.mask_decoder.output_hypernetworks_mlps
    offset = len(mlps) - candidates.shape[1]  # single-mask MLP(s) first, as SAM
    grads = [sum(float(p.grad.abs().sum()) if p.grad is not None else 0.0 for p in mlp.parameters())
             for mlp in mlps[offset:]]
    assert grads[slot] > 0 and all(g == 0 for k, g in enumerate(grads) if k != slot)


def test_host_organ_of_a_lesion_is_the_organ_around_it() -> None:
    from seganypet.train.data import LabeledCase, host_organ
    from seganypet.volume import Volume

    label = np.zeros((20, 20, 20), np.uint8)
    label[2:18, 2:18, 2:18] = 3  # liver
    label[8:11, 8:11, 8:11] = 101  # a lesion inside it
    label[0:2, 0:4, 0:4] = 102  # a lesion at the image corner, in nothing
    names = {3: "liver", 101: "lesion_1", 102: "lesion_2"}
    case = LabeledCase("c", Volume(np.zeros((20, 20, 20), np.float32), np.eye(4)),
                       Volume(label, np.eye(4)), names)
    assert host_organ(case, label == 101, ("liver",)) == 3
    assert host_organ(case, label == 101, ("spleen",)) is None
    assert host_organ(case, label == 102, ("liver",)) is None
