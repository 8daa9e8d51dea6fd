"""Promptable 3D segmentation model (SAM-Med3D / SegAnyPET architecture) and its presets."""

from __future__ import annotations

from seganypet.model.build import build_model
from seganypet.model.checkpoint import load_model, save_model
from seganypet.model.config import PRESETS, ModelConfig, get_preset
from seganypet.model.image_encoder import ImageEmbedding
from seganypet.model.sam import SegAnyPET

__all__ = [
    "PRESETS",
    "ImageEmbedding",
    "ModelConfig",
    "SegAnyPET",
    "build_model",
    "get_preset",
    "load_model",
    "save_model",
]
