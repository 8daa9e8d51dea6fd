"""The simulated-user click loop of one training batch, and its losses.

Per batch (spec §1c, SAM's interactive training, SegAnyPET Algorithm 1):

1. encode the patches once;
2. click 1 is the first click of each sample (the patch centre the session would use); the
   mask prompt is all-zero logits ``(B, 1, L, L, L)`` as upstream and the session;
   with ``multimask_first`` the decoder returns the multimask candidates, the loss is the
   minimum over them per sample, and the IoU head regresses each candidate's true IoU
   (SAM's answer to the ambiguous first click; TRAINING_NOTES item 1), optionally with a
   listwise ranking term (``iou_rank_weight``); with ``prompt_from_choice`` the prediction
   that click 2 corrects is the candidate the session would show, not the oracle-best one;
3. clicks 2..n (n uniform in [clicks_min, clicks_max] per batch) are sampled uniformly from
   FN ∪ FP of the previous prediction (:func:`sample_clicks`, positive iff in FN) or, with probability ``center_click_error_prob`` per sample, placed at
   the distance-transform centre of the largest error component (the evaluation protocol's
   user, ``seganypet.clicks.next_click``: uniform clicks land mostly near the boundary and
   teach small local corrections only); all clicks so far are fed, and the previous low-res
   logits (detached) are the mask prompt.

Losses and clicks live on the *loss grid*: the patch (``loss_grid="patch"``, upstream: logits
upsampled to S³) or the decoder's low-res grid (``"low_res"``: the target average-pooled to L³,
a soft target; 8x fewer voxels for the loss, its backward and the click search, with clicks at
the centres of the low-res cells).

Which decodes get gradients: the first and the last (``grad_decodes="first_last"``), as the
probe in TRAINING_NOTES; the others run under ``no_grad`` (a decode costs ~1/30 of the
encoder, but keeping all n graphs would multiply activation memory and backward time by
~n/2). CPCL needs the first ``n_pt`` predictions with gradients for LQ samples, so those are
kept too when CPCL is on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seganypet.clicks import next_click
from seganypet.model.candidates import choose_candidate
from seganypet.train import cpcl
from seganypet.train.config import TrainConfig
from seganypet.train.data import PatchBatch
from seganypet.train.losses import dice_ce_per_sample, hard_dice, mask_iou, upsample_logits

__all__ = ["ClickPlan", "InteractiveStep", "candidate_rank_loss", "click_rngs", "sample_clicks",
           "session_choice"]


@dataclass(frozen=True)
class ClickPlan:
    """What one batch does: ``n_clicks`` decodes, CPCL weight ``lam`` (0 = off)."""

    n_clicks: int
    lam: float = 0.0


def click_rngs(seeds: tuple[int, ...]) -> list[np.random.Generator]:
    """One generator per sample, so a sample's clicks do not depend on its batch-mates
    (the same global batch split over DDP ranks clicks identically)."""
    return [np.random.default_rng(int(s)) for s in seeds]


@dataclass
class _Decode:
    """One decode: logits on the loss grid ``(B, 1, G, G, G)``, whether they carry gradients,
    and the detached low-res logits ``(B, 1, L, L, L)`` that become the next mask prompt."""

    logits: torch.Tensor
    with_grad: bool
    low: torch.Tensor


class InteractiveStep(nn.Module):
    """``forward(batch, plan) -> (loss, stats)``: a module so DDP can wrap the whole loop."""

    def __init__(self, model: nn.Module, config: TrainConfig) -> None:
        super().__init__()
        self.model = model
        self.config = config

    def _to_grid(self, low: torch.Tensor, size: int) -> torch.Tensor:
        """Low-res logits -> logits on the loss grid."""
        return low.float() if self.config.loss_grid == "low_res" else upsample_logits(low, size)

    def forward(self, batch: PatchBatch, plan: ClickPlan) -> tuple[torch.Tensor, dict[str, float]]:
        cfg = self.config
        size, low_size = batch.images.shape[-1], self.model.config.low_res_size
        targets = _grid_targets(batch.targets, low_size if cfg.loss_grid == "low_res" else size)
        cell = size / targets.shape[-1]  # patch voxels per loss-grid voxel
        with torch.set_grad_enabled(torch.is_grad_enabled() and not cfg.freeze_encoder):
            embedding = self.model.encode(batch.images)
        rngs = click_rngs(batch.seeds)
        first, first_loss, iou_loss = self._first_decode(embedding, batch, targets)
        decodes = [first]
        coords = batch.first_clicks[:, None, :].float()  # (B, 1, 3)
        labels = torch.ones(coords.shape[:2], dtype=torch.long, device=coords.device)
        # Depends on the config only (not on the batch content) so every DDP rank runs the
        # same number of decodes with gradients.
        n_cpcl = cfg.cpcl_n_pt if cfg.cpcl != "off" else 0
        n_clicks = max(plan.n_clicks, n_cpcl)
        for k in range(2, n_clicks + 1):
            new_coords, new_labels = sample_clicks(decodes[-1].logits, targets, rngs,
                                                   cfg.center_click_error_prob)
            coords = torch.cat([coords, (new_coords * cell + (cell - 1) / 2).to(coords)], dim=1)
            labels = torch.cat([labels, new_labels.to(labels.device)], dim=1)
            with_grad = k == n_clicks or k <= n_cpcl or cfg.grad_decodes == "all"
            with torch.set_grad_enabled(with_grad and torch.is_grad_enabled()):
                low, _ = self.model.decode(embedding, coords, labels, decodes[-1].low,
                                           multimask=False)
                decodes.append(_Decode(self._to_grid(low, size), with_grad, low.detach()))
        seg, stats = self._segmentation_loss(decodes, first_loss, targets, batch, plan, n_cpcl)
        loss = (seg + cfg.iou_loss_weight * iou_loss).mean()
        stats.update(loss=float(loss.detach()), iou_loss=float(iou_loss.detach().mean()),
                     first_dice=float(hard_dice(decodes[0].logits, targets).mean()),
                     last_dice=float(hard_dice(decodes[-1].logits, targets).mean()),
                     n_clicks=n_clicks)
        return loss, stats

    def _first_decode(self, embedding, batch: PatchBatch, targets: torch.Tensor):
        """Click 1 with an all-zero mask prompt; returns (decode, min loss (B,), IoU loss (B,))."""
        size, low_size = batch.images.shape[-1], self.model.config.low_res_size
        n = batch.images.shape[0]
        coords = batch.first_clicks[:, None, :].float()
        labels = torch.ones((n, 1), dtype=torch.long, device=coords.device)
        empty = torch.zeros((n, 1, low_size, low_size, low_size), device=coords.device)
        multimask = self.config.multimask_first and self.model.config.num_multimask_outputs > 1
        low, iou = self.model.decode(embedding, coords, labels, empty, multimask=multimask)
        grid = self._to_grid(low, size)  # (B, M, G, G, G)
        m = grid.shape[1]
        per = dice_ce_per_sample(grid.reshape(n * m, 1, *grid.shape[2:]),
                                 targets.repeat_interleave(m, dim=0)).view(n, m)
        rows = torch.arange(n, device=grid.device)
        if self.config.scale_slots and m > 1:
            best = self._scale_slot(batch.targets)
            first_loss = per[rows, best] + self._host_loss(grid, batch, best)
        else:
            best = per.argmin(dim=1)  # SAM: train only the best candidate
            first_loss = per[rows, best]
        true_iou = mask_iou(grid, targets)
        iou_loss = F.mse_loss(iou.float(), true_iou, reduction="none").mean(1)
        if self.config.iou_rank_weight > 0 and m > 1:
            iou_loss = iou_loss + self.config.iou_rank_weight * candidate_rank_loss(iou, true_iou)
        shown = best
        if self.config.prompt_from_choice and m > 1:
            shown = session_choice(low.detach(), iou.detach(), batch.first_clicks, size)
        decode = _Decode(grid[rows, shown][:, None], True, low[rows, shown][:, None].detach())
        return decode, first_loss, iou_loss

    def _scale_slot(self, patch_targets: torch.Tensor) -> torch.Tensor:
        """Candidate index ``(B,)`` of each target's scale band (``TrainConfig.scale_slots``),
        from its volume in the patch ``patch_targets (B, 1, S, S, S)``."""
        cfg = self.config
        voxel_ml = float(np.prod(self.model.config.spacing_mm)) / 1000.0
        volume = patch_targets.flatten(1).sum(1).float() * voxel_ml
        bounds = torch.tensor(cfg.scale_bounds_ml, dtype=volume.dtype, device=volume.device)
        band = torch.bucketize(volume, bounds)
        return torch.tensor(cfg.scale_slots, device=volume.device)[band]

    def _host_loss(self, grid: torch.Tensor, batch: PatchBatch, slot: torch.Tensor) -> torch.Tensor:
        """``host_slot_weight`` × Dice+CE of the host's scale slot against host ∪ lesion, for
        samples with a host whose slot differs from the lesion's; ``(B,)`` (0 elsewhere)."""
        zero = torch.zeros(grid.shape[0], device=grid.device)
        if batch.hosts is None or self.config.host_slot_weight <= 0:
            return zero
        host_slot = self._scale_slot(batch.hosts)
        use = batch.has_host & (host_slot != slot)
        if not bool(use.any()):
            return zero
        rows = torch.arange(grid.shape[0], device=grid.device)
        hosts = _grid_targets(batch.hosts, grid.shape[-1])
        loss = dice_ce_per_sample(grid[rows, host_slot][:, None], hosts)
        return self.config.host_slot_weight * torch.where(use, loss, zero)

    def _segmentation_loss(self, decodes: list[_Decode], first_loss: torch.Tensor,
                           targets: torch.Tensor, batch: PatchBatch, plan: ClickPlan, n_cpcl: int):
        """Per-sample segmentation loss ``(B,)``: mean Dice+CE over the decodes with gradients;
        for LQ samples under CPCL, Eq. 6's ``λ (L_cps + β L_L)`` instead."""
        cfg = self.config
        graded = [d.logits for d in decodes[1:] if d.with_grad]
        per_decode = [first_loss] + [dice_ce_per_sample(g, targets) for g in graded]
        plain = torch.stack(per_decode).mean(0)  # (B,)
        stats: dict[str, float] = {}
        if n_cpcl == 0:
            return plain, stats
        lq = batch.low_quality.to(plain.dtype)
        cps_logits = [d.logits for d in decodes[:n_cpcl]]
        probs = torch.stack([torch.sigmoid(x.float()) for x in cps_logits])  # (n_pt, B, 1, G³)
        loss_cps = cpcl.consistency_loss(probs)
        label = targets
        if cfg.cpcl == "full":
            uncertainty = cpcl.predictive_entropy(cpcl.mean_prediction(probs.detach()))
            label = cpcl.rectify_labels(targets, uncertainty, cfg.cpcl_entropy_threshold)
            stats["flipped"] = float((label != targets).float().mean())
        loss_lq = torch.stack([dice_ce_per_sample(x, label) for x in cps_logits]).mean(0)
        lq_part = plan.lam * (loss_cps + cfg.cpcl_beta * loss_lq)
        stats.update(cps=float((loss_cps.detach() * lq).sum() / lq.sum().clamp_min(1)),
                     lam=plan.lam)
        return (1 - lq) * plain + lq * lq_part, stats


def candidate_rank_loss(scores: torch.Tensor, true_iou: torch.Tensor,
                        temperature: float = 0.1) -> torch.Tensor:
    """Listwise ranking loss of candidate scores: ``CE(softmax(scores / T), argmax true IoU)``.

    Args:
        scores: ``(B, M)`` predicted IoU; true_iou: ``(B, M)`` measured IoU (no gradient).
    Returns:
        ``(B,)``; 0 for samples whose candidates all have the same true IoU (nothing to rank).
    """
    best = true_iou.argmax(dim=1)
    loss = F.cross_entropy(scores.float() / temperature, best, reduction="none")
    informative = (true_iou.max(dim=1).values - true_iou.min(dim=1).values) > 1e-6
    return loss * informative.to(loss.dtype)


def session_choice(low: torch.Tensor, scores: torch.Tensor, clicks: torch.Tensor,
                   size: int) -> torch.Tensor:
    """The candidate a session shows after the first click, per sample.

    The session's rule (:func:`seganypet.model.candidates.choose_candidate`), here on the
    training patch, with the click's low-res cell looked up directly instead of interpolated.

    Args:
        low: ``(B, M, L, L, L)`` candidate logits; scores: ``(B, M)``;
        clicks: ``(B, 3)`` patch voxel indices; size: patch edge ``S``.
    Returns:
        ``(B,)`` long candidate indices.
    """
    cell = size // low.shape[-1]
    idx = (clicks.long() // cell).clamp(0, low.shape[-1] - 1)
    rows = torch.arange(low.shape[0], device=low.device)
    return choose_candidate(low[rows, :, idx[:, 0], idx[:, 1], idx[:, 2]], scores)


def _grid_targets(targets: torch.Tensor, grid: int) -> torch.Tensor:
    """Targets ``(B, 1, S³)`` on the loss grid: unchanged, or average-pooled (soft) to ``grid``³."""
    if targets.shape[-1] == grid:
        return targets
    return F.avg_pool3d(targets.float(), kernel_size=targets.shape[-1] // grid)


def sample_clicks(logits: torch.Tensor, targets: torch.Tensor, rngs: list[np.random.Generator],
                  center_prob: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """One click per sample, uniform over FN ∪ FP of ``logits > 0`` against ``targets > 0.5``,
    or (probability ``center_prob``, drawn from the sample's generator) at the centre of the
    largest error component as ``seganypet.clicks.next_click`` places it.

    Positive iff the voxel is in the target; no error -> a target voxel; nothing at all -> any
    voxel (a correct negative). Drawn with a per-sample numpy generator from ``np.flatnonzero``
    of the error: a torch sampler drawing one uniform float per voxel (2M per 128³ patch) made
    clicks as costly as decodes on CPU.

    Args:
        logits: ``(B, 1, G, G, G)``; targets: same shape (soft targets allowed).
    Returns:
        ``coords (B, 1, 3)`` long grid indices and ``labels (B, 1)`` long (1 positive, 0 negative).
    """
    pred = (logits.detach() > 0).flatten(1).cpu().numpy()
    truth = (targets.detach() > 0.5).flatten(1).cpu().numpy()
    picks, signs = [], []
    grid = logits.shape[-3:]
    for i, rng in enumerate(rngs):
        if center_prob > 0 and rng.random() < center_prob and truth[i].any():
            click = next_click(pred[i].reshape(grid), truth[i].reshape(grid), rng, "center")
            picks.append(click.index)
            signs.append(int(click.positive))
            continue
        candidates = np.flatnonzero(pred[i] ^ truth[i])
        if candidates.size == 0:
            candidates = np.flatnonzero(truth[i])
        index = int(candidates[rng.integers(candidates.size)]) if candidates.size else \
            int(rng.integers(truth.shape[1]))
        picks.append(np.unravel_index(index, logits.shape[-3:]))
        signs.append(int(truth[i, index]))
    coords = torch.tensor(np.asarray(picks, np.int64))[:, None, :]
    return coords, torch.tensor(signs, dtype=torch.long)[:, None]
