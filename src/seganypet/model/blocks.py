"""Small building blocks shared by the encoders and the decoder.

Attribute names (``lin1``, ``layers.N``, ``positional_encoding_gaussian_matrix``) follow the
SAM-Med3D state-dict layout so the released weights load as they are.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MLP", "LayerNorm3d", "MLPBlock", "RandomFourierEncoding"]


class LayerNorm3d(nn.Module):
    """LayerNorm over the channel axis of ``(B, C, D, H, W)``, per voxel (biased variance)."""

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # F.layer_norm on a channels-last view is one fused kernel (and matches the
        # mean/var formula of the upstream LayerNorm3d to float rounding). Over very few
        # channels its per-voxel rows are too short to vectorise: the mask prompt's 4-channel
        # 32^3 map takes 1.85 ms that way and 0.56 ms channels-first (2 cores).
        if x.shape[1] > 4:
            y = F.layer_norm(x.movedim(1, -1), (x.shape[1],), self.weight, self.bias, self.eps)
            return y.movedim(-1, 1)
        mean = x.mean(1, keepdim=True)
        centred = x - mean
        inv_std = torch.rsqrt(centred.square().mean(1, keepdim=True) + self.eps)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return torch.addcmul(self.bias.view(shape), centred * inv_std, self.weight.view(shape))


class MLPBlock(nn.Module):
    """Transformer feed-forward: ``lin2(act(lin1(x)))`` on the last axis."""

    def __init__(self, dim: int, hidden_dim: int, act: type[nn.Module] = nn.GELU) -> None:
        super().__init__()
        self.lin1 = nn.Linear(dim, hidden_dim)
        self.lin2 = nn.Linear(hidden_dim, dim)
        self.act = act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin2(self.act(self.lin1(x)))


class MLP(nn.Module):
    """``num_layers`` Linear layers with ReLU between them (hypernetworks, IoU head)."""

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, num_layers: int) -> None:
        super().__init__()
        dims = [in_dim] + [hidden_dim] * (num_layers - 1) + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


class RandomFourierEncoding(nn.Module):
    """Random-Fourier positional encoding of normalised 3D coordinates.

    ``c in [0,1]^3 -> u = 2*pi * (2c - 1) @ G`` with a fixed Gaussian ``G (3, F)``; output
    ``[sin u, cos u]`` (``2F`` channels) or, with ``upstream_quirks``, ``[sin u, cos u, sin u]``
    (``3F`` channels, the duplicated sine the released weights expect).
    """

    def __init__(self, out_dim: int, upstream_quirks: bool) -> None:
        super().__init__()
        self.upstream_quirks = upstream_quirks
        num_freqs = out_dim // 3 if upstream_quirks else out_dim // 2
        # Persistent buffer: part of the state dict, never trained.
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn(3, num_freqs))

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        """``coords (..., 3)`` in [0, 1] -> ``(..., out_dim)``."""
        g = self.positional_encoding_gaussian_matrix
        # Phases reach tens of radians: in bf16 (autocast) they would be off by ~0.1 rad.
        with torch.autocast(device_type=coords.device.type, enabled=False):
            u = (2.0 * coords.to(g.dtype) - 1.0) @ g * (2.0 * math.pi)
        parts = [torch.sin(u), torch.cos(u)]
        if self.upstream_quirks:
            parts.append(parts[0])
        return torch.cat(parts, dim=-1)

    def grid(self, size: int) -> torch.Tensor:
        """Encoding of the centres of a ``size^3`` grid -> ``(out_dim, size, size, size)``.

        Channel axis ``n`` of the coordinate is array axis ``n``. With ``upstream_quirks`` the
        first two coordinates are swapped (cell ``(g0, g1, g2)`` is fed
        ``((g1+.5)/size, (g0+.5)/size, (g2+.5)/size)``) as in the released model.
        """
        g = self.positional_encoding_gaussian_matrix
        centres = (torch.arange(size, device=g.device, dtype=g.dtype) + 0.5) / size
        a0, a1, a2 = torch.meshgrid(centres, centres, centres, indexing="ij")
        first, second = (a1, a0) if self.upstream_quirks else (a0, a1)
        coords = torch.stack([first, second, a2], dim=-1)  # (size, size, size, 3)
        return self(coords).permute(3, 0, 1, 2)
