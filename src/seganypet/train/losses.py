"""Segmentation losses: upstream's Dice + BCE, per sample so candidates can be compared.

SAM-Med3D/SegAnyPET train with MONAI ``DiceCELoss(sigmoid=True, squared_pred=True,
reduction="mean")`` (spec §1c). That class cannot return per-sample values (it has no
``reduction="none"``), and the multimask first click needs one loss per sample and
candidate (the minimum over candidates is trained). :func:`dice_ce_per_sample` therefore
combines MONAI's ``DiceLoss`` (same options, ``reduction="none"``) with a per-sample mean
BCE; its batch mean equals ``DiceCELoss`` exactly (tested).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from monai.losses import DiceLoss

__all__ = ["dice_ce_per_sample", "hard_dice", "mask_iou", "upsample_logits"]


def dice_ce_per_sample(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Dice (sigmoid, squared denominators) + BCE-with-logits, one value per sample.

    Args:
        logits: ``(B, 1, *spatial)`` mask logits.
        target: ``(B, 1, *spatial)`` binary target (any dtype; cast to the logits' dtype).
    Returns:
        ``(B,)`` float32.
    """
    logits = logits.float()
    target = target.to(logits.dtype)
    dice = DiceLoss(sigmoid=True, squared_pred=True, reduction="none")(logits, target)
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return dice.flatten(1).mean(1) + bce.flatten(1).mean(1)


def upsample_logits(low_res: torch.Tensor, size: int) -> torch.Tensor:
    """Low-res logits ``(B, M, L, L, L)`` -> ``(B, M, S, S, S)`` (trilinear, as the session)."""
    if low_res.shape[-1] == size:
        return low_res
    return F.interpolate(low_res.float(), size=(size, size, size), mode="trilinear",
                         align_corners=False)


def mask_iou(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """IoU of each thresholded candidate with the target: the IoU head's regression target.

    Args:
        logits: ``(B, M, *spatial)``; target: ``(B, 1, *spatial)``, foreground where > 0.5.
    Returns:
        ``(B, M)`` in [0, 1], without gradient (1 where both masks are empty).
    """
    with torch.no_grad():
        pred = logits > 0
        truth = (target > 0.5).expand_as(pred)
        inter = (pred & truth).flatten(2).sum(2).float()
        union = (pred | truth).flatten(2).sum(2).float()
        return torch.where(union > 0, inter / union.clamp_min(1.0), torch.ones_like(union))


@torch.no_grad()
def hard_dice(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample hard Dice ``(B,)`` of ``logits > 0`` against ``targets > 0.5`` (logs and
    validation; an empty prediction of an empty target scores 0)."""
    pred, truth = logits > 0, targets > 0.5
    inter = (pred & truth).flatten(1).sum(1).float()
    total = (pred.flatten(1).sum(1) + truth.flatten(1).sum(1)).float()
    return 2 * inter / total.clamp_min(1)
