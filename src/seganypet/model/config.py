"""Model configuration: one frozen dataclass and the named presets.

A preset fixes the architecture *and* the preprocessing facts a caller needs to feed it
(patch edge, voxel spacing, intensity transform), so a checkpoint's JSON config is enough to
run it. ``upstream_quirks`` switches on, all together, the three behaviours the released
SAM-Med3D / SegAnyPET weights were trained with (see ``docs`` in the README and the spec):
the scrambled decomposed relative-position bias, the 14^3 padded attention window whose padded
tokens are real keys/values equal to the qkv bias, and the dense positional encoding with its
first two axes swapped and ``[sin, cos, sin]`` channels. Presets trained here keep it off.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from seganypet.errors import InputError, check_known_fields
from seganypet.preprocess import INTENSITY_METHODS

__all__ = ["PRESETS", "ModelConfig", "get_preset"]

# Integer fields that may be 0 (off); every other integer field must be >= 1.
_MIN_INT = {"window_size": 0, "skip_channels": 0}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_positive(value: Any) -> bool:
    """A finite number > 0 (JSON true/false and text are not numbers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) and value > 0


# "zscore_nonzero": upstream per-crop z-score over voxels > 0 with unbiased std.
# "log1p_suv": log1p(max(SUV, 0)); no per-patch statistics, so a lesion's intensity means the
# same thing in every crop.


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and input contract of one SegAnyPET model.

    Shapes: input patch ``(B, 1, S, S, S)`` with ``S = image_size``; token grid
    ``g = S / patch_size``; low-res logits ``(B, M, L, L, L)`` with
    ``L = g * 2**upscale_stages``.
    """

    name: str
    image_size: int = 128
    spacing_mm: tuple[float, float, float] = (1.5, 1.5, 1.5)
    intensity: str = "zscore_nonzero"
    upstream_quirks: bool = False
    # image encoder (3D ViT)
    patch_size: int = 16
    encoder_dim: int = 768
    encoder_depth: int = 12
    encoder_heads: int = 12
    encoder_global_blocks: tuple[int, ...] = (2, 5, 8, 11)
    window_size: int = 14  # 0 = every block global
    mlp_ratio: float = 4.0
    # prompt encoder
    prompt_dim: int = 384
    mask_in_channels: int = 16
    # mask decoder
    decoder_depth: int = 2
    decoder_heads: int = 8
    decoder_mlp_dim: int = 2048
    decoder_attention_downsample: int = 2
    iou_head_depth: int = 3
    iou_head_hidden_dim: int = 256
    num_multimask_outputs: int = 3
    upscale_stages: int = 2
    # HQ-SAM-style high-resolution path: width of a conv stem on the raw patch whose output
    # (at the low-res grid) is added to the upscaled embedding. 0 = off.
    skip_channels: int = 0
    # Candidate scoring from what each candidate mask covers (MaskQualityHead) added to the
    # token IoU head. Ours only: a small run's output tokens can collapse to constants (seen:
    # the first default model's IoU token was identical for every input), and then the token
    # head cannot tell a lesion-sized candidate from an organ-sized one.
    mask_quality_head: bool = False

    def __post_init__(self) -> None:
        # Types and ranges first: the size rules below divide by these fields.
        problems = self._field_problems()
        if not problems:
            object.__setattr__(self, "spacing_mm", tuple(float(s) for s in self.spacing_mm))
            object.__setattr__(self, "encoder_global_blocks", tuple(self.encoder_global_blocks))
            problems = self._problems()
        if problems:
            raise InputError(f"invalid model config {self.name!r}: " + "; ".join(problems))

    def _field_problems(self) -> list[str]:
        """Each field of the wrong type or out of range, named (from the annotations)."""
        out: list[str] = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type == "int" and not (_is_int(value) and value >= _MIN_INT.get(f.name, 1)):
                out.append(f"{f.name} must be an integer >= {_MIN_INT.get(f.name, 1)}, "
                           f"got {value!r}")
            elif f.type == "float" and not _is_positive(value):
                out.append(f"{f.name} must be a finite number > 0, got {value!r}")
            elif f.type in ("str", "bool") and type(value).__name__ != f.type:
                out.append(f"{f.name} must be a {f.type}, got {value!r}")
        spacing = self.spacing_mm
        if isinstance(spacing, (str, bytes)) or not isinstance(spacing, (tuple, list)) \
                or len(spacing) != 3 or not all(_is_positive(v) for v in spacing):
            out.append(f"spacing_mm must be three finite numbers > 0 (mm), got {spacing!r}")
        blocks = self.encoder_global_blocks
        if not isinstance(blocks, (tuple, list)) or not all(_is_int(b) for b in blocks):
            out.append(f"encoder_global_blocks must be a list of block indices, got {blocks!r}")
        return out

    def _problems(self) -> list[str]:
        """Every inconsistency in the sizes, as human-readable sentences."""
        out: list[str] = []
        if self.image_size % self.patch_size:
            out.append(f"image_size {self.image_size} is not a multiple of patch_size")
        if self.encoder_dim % self.encoder_heads:
            out.append("encoder_dim must be divisible by encoder_heads")
        if any(not 0 <= b < self.encoder_depth for b in self.encoder_global_blocks):
            out.append("encoder_global_blocks must index blocks 0..encoder_depth-1")
        if self.intensity not in INTENSITY_METHODS:
            out.append(f"intensity must be one of {INTENSITY_METHODS}")
        if self.upscale_stages < 1:
            out.append("upscale_stages must be >= 1")
        if self.upstream_quirks:
            if self.prompt_dim % 3:
                out.append("with upstream_quirks prompt_dim must be divisible by 3 ([sin,cos,sin])")
            if 0 < self.window_size < self.grid_size:
                out.append("with upstream_quirks the window must cover the whole token grid")
        else:
            if self.prompt_dim % 2:
                out.append("prompt_dim must be even ([sin, cos])")
            if self.window_size and self.grid_size % self.window_size:
                out.append(f"window_size {self.window_size} must divide the token grid "
                           f"{self.grid_size} (or be 0 for global attention)")
        if (self.prompt_dim // self.decoder_attention_downsample) % self.decoder_heads:
            out.append("prompt_dim / decoder_attention_downsample must be divisible by heads")
        if self.prompt_dim // 4 >> (self.upscale_stages - 1) < 1:
            out.append("too many upscale_stages for this prompt_dim")
        if self.image_size % self.low_res_size:
            out.append("image_size must be a multiple of the low-res grid (fewer upscale_stages)")
        return out

    @property
    def grid_size(self) -> int:
        """Edge of the encoder token grid ``g``."""
        return self.image_size // self.patch_size

    @property
    def low_res_size(self) -> int:
        """Edge ``L`` of the low-resolution logit grid (and of the mask prompt)."""
        return self.grid_size * 2**self.upscale_stages

    @property
    def upscaled_channels(self) -> tuple[int, ...]:
        """Channels after each transposed-conv stage: ``prompt_dim/4``, then halving."""
        return tuple(self.prompt_dim // 4 >> i for i in range(self.upscale_stages))

    @property
    def num_mask_tokens(self) -> int:
        """SAM's single-mask token plus the multimask candidates."""
        return self.num_multimask_outputs + 1

    def is_global_block(self, index: int) -> bool:
        return self.window_size == 0 or index in self.encoder_global_blocks

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        data = dataclasses.asdict(self)
        data["spacing_mm"] = list(self.spacing_mm)
        data["encoder_global_blocks"] = list(self.encoder_global_blocks)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an InputError (typo protection)."""
        check_known_fields(data, (f.name for f in dataclasses.fields(cls)),
                           "model config has unknown fields {unknown}; known: {known}")
        return cls(**data)


# Released SAM-Med3D `vit_b_ori` (also SegAnyPET): 1.5 mm isotropic crops, z-scored.
_SAM_MED3D = ModelConfig(name="sam-med3d", upstream_quirks=True)

# Test-sized model: 32^3 patch at 4 mm (128 mm FOV). 4 mm is at the coarse end of native
# PET voxels, so the tiny grid still spans a realistic organ/lesion context.
_TINY = ModelConfig(
    name="tiny", image_size=32, spacing_mm=(4.0, 4.0, 4.0), intensity="log1p_suv",
    patch_size=8, encoder_dim=64, encoder_depth=2, encoder_heads=4,
    encoder_global_blocks=(1,), window_size=2, prompt_dim=64, mask_in_channels=8,
    decoder_depth=2, decoder_heads=4, decoder_mlp_dim=128, iou_head_hidden_dim=64,
    upscale_stages=2, skip_channels=8, mask_quality_head=True,
)

# Candidate default for PET: 128^3 at 3 mm = 384 mm FOV (a whole torso cross-section and
# ~2 bed positions axially). 3 mm is the middle of native PET voxel sizes (2-5 mm): we
# neither invent detail by upsampling 4-5 mm scanners much nor throw away the 2 mm ones.
# 512 tokens (patch 16) keep attention cheap on a CPU; 3 upscale stages give a 64^3 logit
# grid (6 mm cells) and the skip stem adds 6 mm image detail, enough to outline a 10 mm lesion.
_PET_SMALL = ModelConfig(
    name="pet-small", image_size=128, spacing_mm=(3.0, 3.0, 3.0), intensity="log1p_suv",
    patch_size=16, encoder_dim=256, encoder_depth=6, encoder_heads=8,
    encoder_global_blocks=(2, 5), window_size=4, prompt_dim=192, mask_in_channels=16,
    decoder_depth=2, decoder_heads=8, decoder_mlp_dim=768, iou_head_hidden_dim=128,
    upscale_stages=3, skip_channels=16, mask_quality_head=True,
)

# Read-only view: presets are constants; derive variants with dataclasses.replace.
PRESETS: Mapping[str, ModelConfig] = MappingProxyType(
    {c.name: c for c in (_SAM_MED3D, _TINY, _PET_SMALL)}
)


def get_preset(name: str) -> ModelConfig:
    """Look a preset up by name; InputError listing the choices otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown model preset {name!r}; choose one of {sorted(PRESETS)}") from None
