"""Build a model from a preset name or a config (random initialisation, never downloads)."""

from __future__ import annotations

import torch

from seganypet.model.config import ModelConfig, get_preset
from seganypet.model.sam import SegAnyPET

__all__ = ["build_model"]


def build_model(config: ModelConfig | str, device: str | torch.device = "cpu") -> SegAnyPET:
    """A randomly initialised :class:`SegAnyPET` for ``config`` (a ``ModelConfig`` or preset
    name), in eval mode. Use :func:`seganypet.load_model` for trained weights."""
    if isinstance(config, str):
        config = get_preset(config)
    return SegAnyPET(config).to(device).eval()
