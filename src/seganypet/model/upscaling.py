"""The mask decoder's transposed-conv upscaling, run as one matrix product per stage.

A ``ConvTranspose3d(kernel 2, stride 2)`` gives every input voxel its own 2x2x2 block of
output voxels: each stage is a per-voxel linear map ``C_in -> 8 * C_out``. Run that way on a
``(voxels, channels)`` table, the voxels are kept in *block order* (every voxel's 8 children
listed together after it, recursively), so no stage reshuffles its large output; the
per-voxel LayerNorm and GELU do not care about the order. Only what leaves the decoder, the
``M`` mask channels, is put back on the grid (:func:`block_order_to_grid`).

Why not ``nn.ConvTranspose3d`` itself: on CPU it runs a slow col2vol kernel, and the
channels-first LayerNorm3d copies its input twice. On 2 AVX2 cores, ``pet-small``'s
refinement decode (64^3 logits) spends 38 ms there, 23 ms this way, equal to float rounding.
The modules (and so the state-dict keys ``output_upscaling.{0,1,3,...}``) are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seganypet.model.blocks import LayerNorm3d

__all__ = ["OutputUpscaling", "UpscaledFeatures", "block_order_to_grid", "grid_to_block_order"]


class OutputUpscaling(nn.Sequential):
    """``stages`` x [ConvTranspose3d(k2, s2), LayerNorm3d, GELU], no LayerNorm after the last
    (upstream layout: indices 0, 1, 2, 3, ...). ``forward`` (inherited) maps ``(B, C, g, g, g)``
    to ``(B, c_up, L, L, L)``; :meth:`rows` computes the same values in block order."""

    def __init__(self, in_channels: int, channels: tuple[int, ...]) -> None:
        layers: list[nn.Module] = []
        for i, out_channels in enumerate(channels):
            layers.append(nn.ConvTranspose3d(in_channels, out_channels, kernel_size=2, stride=2))
            if i < len(channels) - 1:
                layers.append(LayerNorm3d(out_channels))
            layers.append(nn.GELU())
            in_channels = out_channels
        super().__init__(*layers)
        self.stages = len(channels)

    def rows(self, tokens: torch.Tensor) -> torch.Tensor:
        """``tokens (B, g^3, C)`` in grid (row-major) order -> ``(B, g^3 * 8^stages, c_up)`` in
        block order (see :func:`block_order_to_grid`)."""
        batch, x = tokens.shape[0], tokens
        for layer in self:
            if isinstance(layer, nn.ConvTranspose3d):
                # (C_in, C_out, 2, 2, 2) -> (C_in, 8 * C_out): child offset major, channel minor.
                weight = layer.weight.permute(0, 2, 3, 4, 1).reshape(layer.in_channels, -1)
                bias = layer.bias.repeat(8)  # type: ignore[union-attr]
                x = torch.addmm(bias, x.reshape(-1, x.shape[-1]), weight)
                x = x.view(batch, -1, layer.out_channels)
            elif isinstance(layer, LayerNorm3d):
                x = F.layer_norm(x, (x.shape[-1],), layer.weight, layer.bias, layer.eps)
            else:
                x = layer(x)
        return x


def block_order_to_grid(x: torch.Tensor, grid: int, stages: int) -> torch.Tensor:
    """``(B, M, g^3 * 8^stages)`` in block order -> ``(B, M, L, L, L)``, ``L = g * 2^stages``.

    Block order: a voxel of the ``g^3`` grid (row-major), then its child offset ``(a, b, c)``
    (index ``4a + 2b + c``) at each stage, coarsest first. One level is unfolded per step:
    each step is an 8-axis permute, far cheaper on CPU than one permute over all axes.
    """
    batch, channels = x.shape[:2]
    rest, size = 8**stages, grid
    x = x.reshape(batch * channels, size, size, size, rest)
    for _ in range(stages):
        rest //= 8
        x = x.reshape(batch * channels, size, size, size, 2, 2, 2, rest)
        x = x.permute(0, 1, 4, 2, 5, 3, 6, 7)
        size *= 2
    return x.reshape(batch, channels, size, size, size)


def grid_to_block_order(x: torch.Tensor, grid: int, stages: int) -> torch.Tensor:
    """Inverse of :func:`block_order_to_grid`: ``(B, M, L, L, L)`` -> ``(B, M, N)``.

    A gather by precomputed rows rather than permutes: reading the grid in block order with
    permutes is ~3x slower than writing it (13 vs 4 ms for 6 channels of 64^3 on 2 cores).
    """
    batch, channels, size = x.shape[0], x.shape[1], x.shape[-1]
    if size != grid * 2**stages:
        raise ValueError(f"grid {size} is not {grid} * 2^{stages}")
    row_of_voxel = _block_row_of_voxel(grid, stages, x.device)
    voxel_of_row = torch.empty_like(row_of_voxel)
    voxel_of_row[row_of_voxel] = torch.arange(row_of_voxel.numel(), device=x.device)
    return x.reshape(batch * channels, -1).index_select(1, voxel_of_row).view(batch, channels, -1)


def _block_row_of_voxel(grid: int, stages: int, device: torch.device) -> torch.Tensor:
    """``(L^3,)`` long: the block-order row of each voxel of the ``L^3`` grid (row-major).

    Separable: along each axis, coordinate ``x = i * 2^s + sum_l bit_l(x) * 2^(s-1-l)`` puts
    ``i`` in the token-grid index and bit ``l`` in the level-``l`` child offset ``4a + 2b + c``.
    """
    coord = torch.arange(grid * 2**stages, device=device)
    offsets = torch.zeros_like(coord)  # sum over levels of bit * 8^(levels finer than it)
    for level in range(stages):
        finer = stages - 1 - level
        offsets += ((coord >> finer) & 1) * 8**finer
    block, cell = 8**stages, coord >> stages
    along = [cell * grid * grid * block + 4 * offsets, cell * grid * block + 2 * offsets,
             cell * block + offsets]
    return (along[0][:, None, None] + along[1][None, :, None] + along[2][None, None, :]).flatten()


@dataclass
class UpscaledFeatures:
    """The decoder's per-voxel features on the ``L^3`` low-res grid, kept as two parts that are
    never added voxel by voxel (masks and weighted means are linear in the features).

    ``rows (B or 1, N, C)``: the upscaling output in block order over a ``grid^3`` token grid
    and ``stages`` levels; ``skip (B or 1, C, L, L, L)`` (grid order) or None.
    """

    rows: torch.Tensor
    skip: torch.Tensor | None
    grid: int
    stages: int

    @property
    def size(self) -> int:
        return self.grid * 2**self.stages

    def project(self, weights: torch.Tensor) -> torch.Tensor:
        """Per-voxel dot products with ``weights (B, M, C)`` -> ``(B, M, L, L, L)``."""
        # (N, C) @ (C, M): the rows are read once, in memory order
        on_rows = (self.rows @ weights.transpose(1, 2)).transpose(1, 2)  # (B, M, N)
        masks = block_order_to_grid(on_rows, self.grid, self.stages)
        if self.skip is not None:
            size = self.size
            masks = masks + (weights @ self.skip.flatten(2)).view(masks.shape[0], -1, size, size, size)
        return masks

    def weighted_sum(self, weights: torch.Tensor) -> torch.Tensor:
        """``weights (B, M, L, L, L)`` -> ``(B, M, C)``: the features summed with those weights."""
        total = grid_to_block_order(weights, self.grid, self.stages) @ self.rows
        if self.skip is not None:
            total = total + weights.flatten(2) @ self.skip.flatten(2).transpose(1, 2)
        return total

    def detach(self) -> UpscaledFeatures:
        skip = None if self.skip is None else self.skip.detach()
        return UpscaledFeatures(self.rows.detach(), skip, self.grid, self.stages)

    def float(self) -> UpscaledFeatures:
        skip = None if self.skip is None else self.skip.float()
        return UpscaledFeatures(self.rows.float(), skip, self.grid, self.stages)
