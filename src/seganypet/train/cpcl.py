"""Cross Prompting Confident Learning (CPCL), SegAnyPET ICCV'25 §3.2-3.3, as pure functions.

For a sample with a low-quality (LQ) label, the click loop yields ``n_pt`` predictions
``Ŷ_1..Ŷ_n`` of the same target from different prompt sets (Algorithm 1, lines 5-8). Then:

* Eq. 2  ``Ȳ = mean_i Ŷ_i``                                    -> :func:`mean_prediction`
* Eq. 4  ``U = -Σ_c p_c log p_c`` of ``Ȳ`` (fg and bg classes)   -> :func:`predictive_entropy`
* Eq. 5  ``ỹ = y + 1[u > H]·(-1)^y``: flip the uncertain voxels -> :func:`rectify_labels`
* Eq. 3  ``L_cps = Σ_i ||Ȳ - Ŷ_i||²``                          -> :func:`consistency_loss`
* Eq. 6  ``L = L_H + λ(t)(L_cps + β L_L)``                      -> :func:`combine_losses`
* λ(t) = ω_max · exp(-5 (1 - t/T)^p)                           -> :func:`rampup_weight`

The ramp-up exponent: the paper prints ``e^{-5(1-t/t_max)}`` (no square) but calls it a
"time-dependent Gaussian function" and follows [41] (UA-MT, Yu et al. 2019), whose ramp-up
is the Gaussian ``exp(-5(1-t/T)^2)`` of Laine & Aila. We use the Gaussian (power 2) by
default and keep the printed form available as ``power=1``. Both start at ω_max·e^-5 and
reach ω_max at t = T; the Gaussian rises earlier (t = T/2: 0.287·ω_max vs 0.082·ω_max).

The released ``train_cpcl.py`` computes an always-empty rectified label (spec §1c); the
function here flips exactly the voxels whose uncertainty exceeds ``H``, which the tests check.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = [
    "combine_losses",
    "consistency_loss",
    "mean_prediction",
    "predictive_entropy",
    "rampup_weight",
    "rectify_labels",
]

_EPS = 1e-7


def mean_prediction(probs: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
    """Eq. 2: the mean of ``n_pt`` foreground probability maps.

    Args:
        probs: ``n_pt`` tensors ``(B, 1, *spatial)`` of probabilities in [0, 1], or one
            stacked tensor ``(n_pt, B, 1, *spatial)``.
    Returns:
        ``(B, 1, *spatial)``.
    """
    stacked = probs if isinstance(probs, torch.Tensor) else torch.stack(list(probs))
    return stacked.mean(dim=0)


def predictive_entropy(mean_prob: torch.Tensor) -> torch.Tensor:
    """Eq. 4: voxel-wise entropy (nats) of the two-class distribution ``(1 - p, p)``.

    Args:
        mean_prob: foreground probability ``(...)``, e.g. the output of :func:`mean_prediction`.
    Returns:
        entropy of the same shape, in ``[0, ln 2]``; 0 where p is 0 or 1.
    """
    p = mean_prob.clamp(_EPS, 1.0 - _EPS)
    return -(p * torch.log(p) + (1.0 - p) * torch.log1p(-p))


def rectify_labels(labels: torch.Tensor, uncertainty: torch.Tensor, threshold: float) -> torch.Tensor:
    """Eq. 5: ``ỹ_i = y_i + 1(u_i > H)·(-1)^{y_i}`` — flip the label where uncertainty > H.

    Args:
        labels: binary labels ``(...)`` (bool, int or float 0/1).
        uncertainty: ``(...)``, same shape, e.g. :func:`predictive_entropy`.
        threshold: ``H``; voxels with ``u > H`` are flipped, all others kept.
    Returns:
        float tensor of 0/1 with the same shape as ``labels``.
    """
    y = labels.to(torch.float32)
    flip = (uncertainty > threshold).to(torch.float32)
    # y + flip * (-1)^y: a 0 becomes 1, a 1 becomes 0, wherever flip is set.
    return y + flip * (1.0 - 2.0 * y)


def consistency_loss(probs: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
    """Eq. 3: ``Σ_i ||Ȳ - Ŷ_i||²`` per sample, the squared norm taken as a voxel mean.

    The voxel mean (instead of the sum) keeps the term's scale independent of the patch
    size, so ``β`` and ``ω_max`` transfer between presets.

    Args:
        probs: ``n_pt`` tensors ``(B, 1, *spatial)`` or a stack ``(n_pt, B, 1, *spatial)``.
    Returns:
        ``(B,)``.
    """
    stacked = probs if isinstance(probs, torch.Tensor) else torch.stack(list(probs))
    mean = stacked.mean(dim=0, keepdim=True)
    squared = (stacked - mean).pow(2).flatten(start_dim=2).mean(dim=2)  # (n_pt, B)
    return squared.sum(dim=0)


def rampup_weight(step: int, rampup_steps: int, omega_max: float, power: float = 2.0) -> float:
    """λ(t) = ω_max · exp(-5 (1 - t/T)^power) for t < T, ω_max afterwards (T = ``rampup_steps``)."""
    if rampup_steps <= 0 or step >= rampup_steps:
        return float(omega_max)
    phase = 1.0 - max(step, 0) / rampup_steps
    return float(omega_max * math.exp(-5.0 * phase**power))


def combine_losses(loss_hq: torch.Tensor, loss_cps: torch.Tensor, loss_lq: torch.Tensor,
                   lam: float, beta: float) -> torch.Tensor:
    """Eq. 6: ``L_H + λ (L_cps + β L_L)`` (each argument a scalar tensor)."""
    return loss_hq + lam * (loss_cps + beta * loss_lq)
