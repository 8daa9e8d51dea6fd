"""Which of the model's first-click candidate masks to show: one rule for session and training.

A positive click states that its voxel belongs to the object, so a candidate that excludes it
cannot be the user's object, whatever its predicted IoU (a weakly trained IoU head can rank a
background-sized mask first): the best score among the candidates whose logit at the click is
positive wins; when none contains the click, the best score overall.
"""

from __future__ import annotations

import torch

__all__ = ["choose_candidate"]


def choose_candidate(at_click: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """The candidate to show per sample.

    Args:
        at_click: ``(B, M)`` each candidate's logit at the click.
        scores: ``(B, M)`` predicted IoU of each candidate.
    Returns:
        ``(B,)`` long candidate indices (the first one on ties).
    """
    scores = scores.float()
    containing = at_click > 0
    masked = torch.where(containing, scores, torch.full_like(scores, -torch.inf))
    return torch.where(containing.any(dim=1), masked.argmax(dim=1), scores.argmax(dim=1))
