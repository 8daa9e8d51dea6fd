"""Prompt encoder: clicks -> sparse tokens; previous low-res logits -> dense embedding."""

from __future__ import annotations

import torch
from torch import nn

from seganypet.model.blocks import LayerNorm3d, RandomFourierEncoding
from seganypet.model.config import ModelConfig

__all__ = ["PromptEncoder"]


def _mask_downscaling(config: ModelConfig) -> nn.Sequential:
    """``(B, 1, L, L, L)`` -> ``(B, prompt_dim, g, g, g)``: one k2/s2 conv + LN + GELU per
    upscale stage (so any ``L = g * 2**stages`` maps back to the token grid), then a 1x1 conv.

    Channels grow to ``mask_in_channels`` by factors of 4 (upstream: 1 -> 4 -> 16), never
    below 4: a LayerNorm over a single channel would output a constant and erase the mask.
    """
    stages, last = config.upscale_stages, config.mask_in_channels
    widths = [max(min(4, last), last >> (2 * (stages - 1 - i))) for i in range(stages)]
    layers: list[nn.Module] = []
    in_ch = 1
    for width in widths:
        layers += [nn.Conv3d(in_ch, width, kernel_size=2, stride=2), LayerNorm3d(width), nn.GELU()]
        in_ch = width
    layers.append(nn.Conv3d(in_ch, config.prompt_dim, kernel_size=1))
    return nn.Sequential(*layers)


class PromptEncoder(nn.Module):
    """Embeds clicks (labels 1 positive, 0 negative, -1 padding) and the mask prompt."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        dim = config.prompt_dim
        self.image_size = config.image_size
        self.grid_size = config.grid_size
        self.low_res_size = config.low_res_size
        self.pe_layer = RandomFourierEncoding(dim, config.upstream_quirks)
        # Index 0 = negative, 1 = positive (upstream also never has box corners here).
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, dim) for _ in range(2))
        self.not_a_point_embed = nn.Embedding(1, dim)
        self.mask_downscaling = _mask_downscaling(config)
        self.no_mask_embed = nn.Embedding(1, dim)

    def dense_positional_encoding(self) -> torch.Tensor:
        """Positional encoding of the token grid -> ``(1, prompt_dim, g, g, g)``."""
        return self.pe_layer.grid(self.grid_size).unsqueeze(0)

    def embed_points(self, coords: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``coords (B, N, 3)`` voxel indices of the patch, ``labels (B, N)`` -> ``(B, N+1, dim)``.

        A padding point (label -1) is appended, as upstream always does when there is no box.
        Coordinates get +0.5 (voxel centre) and are divided by the patch edge.
        """
        b = coords.shape[0]
        coords = torch.cat([coords.float() + 0.5, coords.new_zeros(b, 1, 3).float()], dim=1)
        labels = torch.cat([labels, labels.new_full((b, 1), -1)], dim=1)[..., None]
        pe = self.pe_layer(coords / self.image_size)  # (B, N+1, dim)
        pe = torch.where(labels == -1, self.not_a_point_embed.weight, pe)
        pe = pe + torch.where(labels == 0, self.point_embeddings[0].weight, 0.0)
        return pe + torch.where(labels == 1, self.point_embeddings[1].weight, 0.0)

    def embed_mask(self, mask_logits: torch.Tensor | None, batch_size: int) -> torch.Tensor:
        """``(B, 1, L, L, L)`` logits (or None -> learned no-mask embedding) -> ``(B, dim, g, g, g)``."""
        if mask_logits is None:
            g = self.grid_size
            return self.no_mask_embed.weight.reshape(1, -1, 1, 1, 1).expand(batch_size, -1, g, g, g)
        expected = (1, self.low_res_size, self.low_res_size, self.low_res_size)
        if tuple(mask_logits.shape[1:]) != expected:
            raise ValueError(f"mask prompt must be (B, {expected}), got {tuple(mask_logits.shape)}")
        return self.mask_downscaling(mask_logits)

    def forward(
        self,
        point_coords: torch.Tensor | None,
        point_labels: torch.Tensor | None,
        mask_logits: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> sparse ``(B, N+1, dim)`` (``(B, 0, dim)`` without points), dense ``(B, dim, g, g, g)``."""
        if point_coords is not None:
            if point_labels is None or point_labels.shape != point_coords.shape[:2]:
                raise ValueError("point_labels must be given with shape (B, N) matching point_coords")
            sparse = self.embed_points(point_coords, point_labels)
            batch = sparse.shape[0]
        else:
            batch = 1 if mask_logits is None else mask_logits.shape[0]
            weight = self.no_mask_embed.weight
            sparse = weight.new_zeros(batch, 0, weight.shape[1])
        return sparse, self.embed_mask(mask_logits, batch)
