"""3D ViT image encoder: Conv3d patch embedding -> pre-norm blocks -> conv neck.

Optionally also a high-resolution conv stem on the raw patch (HQ-SAM-style skip path) that
gives the decoder image detail finer than the token grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seganypet.model.attention import GridAttention
from seganypet.model.blocks import LayerNorm3d, MLPBlock
from seganypet.model.config import ModelConfig

__all__ = ["EncoderBlock", "ImageEmbedding", "ImageEncoder", "window_partition", "window_unpartition"]


@dataclass
class ImageEmbedding:
    """What the encoder computes once per image patch and the decoder reuses per click.

    ``tokens``: ``(B, prompt_dim, g, g, g)``; ``skip``: ``(B, c_up, L, L, L)`` high-resolution
    features at the low-res logit grid, or None when the model has no skip path.
    """

    tokens: torch.Tensor
    skip: torch.Tensor | None = None

    def to(self, *args: object, **kwargs: object) -> ImageEmbedding:
        skip = None if self.skip is None else self.skip.to(*args, **kwargs)
        return ImageEmbedding(self.tokens.to(*args, **kwargs), skip)

    def detach(self) -> ImageEmbedding:
        return ImageEmbedding(self.tokens.detach(), None if self.skip is None else self.skip.detach())

    @property
    def batch_size(self) -> int:
        return self.tokens.shape[0]


def window_partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """``(B, g, g, g, C)`` -> ``(B * (g/w)^3, w, w, w, C)``; ``window`` divides ``g``."""
    b, g, c = x.shape[0], x.shape[1], x.shape[-1]
    n = g // window
    x = x.reshape(b, n, window, n, window, n, window, c)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, window, window, window, c)


def window_unpartition(windows: torch.Tensor, grid: int) -> torch.Tensor:
    """Inverse of :func:`window_partition` -> ``(B, g, g, g, C)``."""
    w, c = windows.shape[1], windows.shape[-1]
    n = grid // w
    x = windows.reshape(-1, n, n, n, w, w, w, c).permute(0, 1, 4, 2, 5, 3, 6, 7)
    return x.reshape(-1, grid, grid, grid, c)


class EncoderBlock(nn.Module):
    """Pre-norm transformer block: ``x += Attn(LN1(x)); x += MLP(LN2(x))`` on ``(B, g, g, g, C)``."""

    def __init__(self, config: ModelConfig, index: int) -> None:
        super().__init__()
        dim, grid = config.encoder_dim, config.grid_size
        # Quirk mode: a window at least as large as the grid is one padded window (upstream);
        # otherwise the window divides the grid (checked by ModelConfig).
        self.window = 0 if config.is_global_block(index) else config.window_size
        self.partition = 0 < self.window < grid and not config.upstream_quirks
        attention_grid = self.window if self.window else grid
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = GridAttention(dim, config.encoder_heads, attention_grid, config.upstream_quirks)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLPBlock(dim, int(dim * config.mlp_ratio), nn.GELU)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grid = x.shape[1]
        y = self.norm1(x)
        if self.partition:
            y = window_unpartition(self.attn(window_partition(y, self.window)), grid)
        else:
            y = self.attn(y)
        x = x + y
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    """Non-overlapping patches: ``(B, 1, S, S, S)`` -> channels-last ``(B, g, g, g, C)``.

    The parameters are those of ``Conv3d(1, C, kernel=stride=patch)`` (state-dict layout), but
    the product is one ``(B*g^3, p^3) @ (p^3, C)`` matmul: identical maths, and on CPU much
    faster than oneDNN's strided 3D convolution with a 16^3 kernel (about 5x under bf16).
    """

    def __init__(self, patch_size: int, dim: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv3d(1, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, p = x.shape[0], self.patch_size
        g = x.shape[-1] // p
        patches = x.reshape(b, g, p, g, p, g, p).permute(0, 1, 3, 5, 2, 4, 6)
        patches = patches.reshape(b, g, g, g, p**3)  # (B, g, g, g, p^3)
        return F.linear(patches, self.proj.weight.reshape(-1, p**3), self.proj.bias)


def _skip_stem(config: ModelConfig) -> nn.Sequential:
    """Raw patch ``(B,1,S,S,S)`` -> ``(B, c_up, L, L, L)``: strided conv, LN, GELU, 3^3 conv."""
    stride = config.image_size // config.low_res_size
    width, out = config.skip_channels, config.upscaled_channels[-1]
    return nn.Sequential(
        nn.Conv3d(1, width, kernel_size=stride, stride=stride),
        LayerNorm3d(width),
        nn.GELU(),
        nn.Conv3d(width, out, kernel_size=3, padding=1),
    )


class ImageEncoder(nn.Module):
    """ViT over ``g^3`` tokens; ``forward`` returns an :class:`ImageEmbedding`."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        g, dim, out = config.grid_size, config.encoder_dim, config.prompt_dim
        self.image_size = config.image_size
        self.patch_embed = PatchEmbed(config.patch_size, dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, g, g, g, dim))
        self.blocks = nn.ModuleList(EncoderBlock(config, i) for i in range(config.encoder_depth))
        self.neck = nn.Sequential(
            nn.Conv3d(dim, out, kernel_size=1, bias=False),
            LayerNorm3d(out),
            nn.Conv3d(out, out, kernel_size=3, padding=1, bias=False),
            LayerNorm3d(out),
        )
        self.skip_stem = _skip_stem(config) if config.skip_channels else None

    def forward(self, image: torch.Tensor) -> ImageEmbedding:
        """``image (B, 1, S, S, S)`` -> tokens ``(B, prompt_dim, g, g, g)`` (+ skip features)."""
        if image.ndim != 5 or image.shape[1] != 1 or set(image.shape[2:]) != {self.image_size}:
            raise ValueError(
                f"expected an image of shape (B, 1, {self.image_size}, {self.image_size}, "
                f"{self.image_size}), got {tuple(image.shape)}"
            )
        x = self.patch_embed(image) + self.pos_embed  # (B, g, g, g, dim)
        for block in self.blocks:
            x = block(x)
        tokens = self.neck(x.permute(0, 4, 1, 2, 3))  # (B, prompt_dim, g, g, g)
        skip = self.skip_stem(image) if self.skip_stem is not None else None
        return ImageEmbedding(tokens, skip)
