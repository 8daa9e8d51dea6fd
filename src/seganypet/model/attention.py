"""Encoder self-attention on a cubic token grid with decomposed relative position bias.

Two bias formulas:

* correct (``upstream_quirks=False``): logit(i -> j) gets
  ``q_i . Rd[i_d, j_d] + q_i . Rh[i_h, j_h] + q_i . Rw[i_w, j_w]``;
* scrambled (``upstream_quirks=True``), what the released SAM-Med3D code computes because its
  broadcast drops one axis (spec section 1.2 item 4), with ``Q`` the unscaled query grid::

      Q[i_d,i_h,i_w] . Pd[i_d - j_w + K-1] + Q[i_d,i_h,j_d] . Ph[i_h - j_w + K-1]
                                          + Q[i_d,i_h,j_h] . Pw[j_h - j_w + K-1]

With quirks, a block whose attention grid ``K`` is larger than the token grid ``g`` reproduces
the upstream padded window: the normalised tokens are zero-padded to ``K^3`` at the high end,
so padded queries/keys/values equal the qkv bias and take part as keys/values. We compute it
exactly but only for the ``g^3`` real queries (the padded rows are discarded upstream anyway):
``padded_window_attention`` is the literal upstream-style form, kept as the test reference.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["GridAttention", "padded_window_attention", "relative_table"]


def relative_table(table: torch.Tensor, size: int) -> torch.Tensor:
    """``R[i, j] = table[i - j + size - 1]`` -> ``(size, size, C)`` from a ``(2*size-1, C)`` table.

    Tables are never resized (the released model never resizes them either); a mismatch
    means the config and the weights disagree.
    """
    if table.shape[0] != 2 * size - 1:
        raise ValueError(f"rel-pos table has {table.shape[0]} rows, expected {2 * size - 1}")
    idx = torch.arange(size, device=table.device)
    return table[idx[:, None] - idx[None, :] + size - 1]


def correct_rel_pos_bias(q: torch.Tensor, tables: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Decomposed bias. ``q (N, K, K, K, C)`` unscaled -> ``(N, K^3, K^3)``."""
    n, k = q.shape[0], q.shape[1]
    rd, rh, rw = (relative_table(t, k) for t in tables)
    bd = torch.einsum("ndhwc,dkc->ndhwk", q, rd)  # (N, K, K, K, K_d)
    bh = torch.einsum("ndhwc,hkc->ndhwk", q, rh)
    bw = torch.einsum("ndhwc,wkc->ndhwk", q, rw)
    bias = bd[..., :, None, None] + bh[..., None, :, None] + bw[..., None, None, :]
    return bias.reshape(n, k**3, k**3)


def scrambled_rel_pos_bias(
    q_grid: torch.Tensor, tables: tuple[torch.Tensor, ...], num_real: int
) -> torch.Tensor:
    """Upstream's scrambled bias for the queries ``[0, num_real)^3`` against all ``K^3`` keys.

    ``q_grid (N, K, K, K, C)`` is the full (padded) unscaled query grid, because the second and
    third terms read queries at key-dependent positions -> ``(N, num_real^3, K^3)``.
    """
    n, k, r = q_grid.shape[0], q_grid.shape[1], num_real
    pd, ph, pw = tables
    rd = relative_table(pd, k)[:r]  # (r, K, C): [i_d, j_w]
    rh = relative_table(ph, k)[:r]  # (r, K, C): [i_h, j_w]
    rw = relative_table(pw, k)  # (K, K, C): [j_h, j_w]
    q_real = q_grid[:, :r, :r, :r]  # (N, r, r, r, C)
    q_rows = q_grid[:, :r, :r, :]  # (N, r, r, K, C): Q[i_d, i_h, any]
    t1 = torch.einsum("ndhwc,dkc->ndhwk", q_real, rd)  # (N, r, r, r, j_w)
    t2 = torch.einsum("ndhjc,hkc->ndhjk", q_rows, rh)  # (N, r, r, j_d, j_w)
    t3 = torch.einsum("ndhjc,jkc->ndhjk", q_rows, rw)  # (N, r, r, j_h, j_w)
    # t2 + t3 do not depend on i_w: sum them on the 8x smaller grid first.
    t23 = t2[:, :, :, :, None, :] + t3[:, :, :, None, :, :]  # (N, r, r, j_d, j_h, j_w)
    bias = t1[:, :, :, :, None, None, :] + t23[:, :, :, None]  # (N, r, r, r, K, K, K)
    return bias.reshape(n, r**3, k**3)


class GridAttention(nn.Module):
    """Multi-head self-attention over a ``K^3`` token grid with rel-pos bias.

    ``K`` (``attention_grid``) is the window edge for windowed blocks, the token-grid edge for
    global ones. Inputs smaller than ``K`` are allowed only with ``upstream_quirks`` (padded
    window, see module docstring).
    """

    def __init__(self, dim: int, num_heads: int, attention_grid: int, upstream_quirks: bool) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.attention_grid = attention_grid
        self.upstream_quirks = upstream_quirks
        head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        rows = 2 * attention_grid - 1
        self.rel_pos_d = nn.Parameter(torch.zeros(rows, head_dim))
        self.rel_pos_h = nn.Parameter(torch.zeros(rows, head_dim))
        self.rel_pos_w = nn.Parameter(torch.zeros(rows, head_dim))

    @property
    def tables(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (self.rel_pos_d, self.rel_pos_h, self.rel_pos_w)

    def qkv_grid(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, r, r, r, C)`` -> q/k/v on the full ``K^3`` grid ``(3, N*heads, K, K, K, hd)``.

        Positions outside the ``r^3`` real tokens hold the qkv bias: exactly what a zero
        (padded) normalised token produces, without spending a matmul on it.
        """
        n, r, c = x.shape[0], x.shape[1], x.shape[-1]
        k, h = self.attention_grid, self.num_heads
        # (N, r, r, r, 3C) -> (3, N, h, r, r, r, hd)
        qkv_real = self.qkv(x).reshape(n, r, r, r, 3, h, c // h).permute(4, 0, 5, 1, 2, 3, 6)
        if r == k:
            full = qkv_real.contiguous()
        else:
            bias = self.qkv.bias.to(qkv_real.dtype).reshape(3, 1, h, 1, 1, 1, c // h)
            full = bias.expand(3, n, h, k, k, k, c // h).clone()
            full[:, :, :, :r, :r, :r] = qkv_real
        return full.reshape(3, n * h, k, k, k, c // h)

    def bias(self, q_grid: torch.Tensor, num_real: int) -> torch.Tensor:
        """Rel-pos bias ``(N*heads, num_real^3, K^3)`` from the unscaled query grid."""
        if self.upstream_quirks:
            return scrambled_rel_pos_bias(q_grid, self.tables, num_real)
        return correct_rel_pos_bias(q_grid, self.tables)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, r, r, r, C)`` normalised tokens, ``r <= K`` -> ``(N, r, r, r, C)``."""
        n, r, c = x.shape[0], x.shape[1], x.shape[-1]
        k, h = self.attention_grid, self.num_heads
        if r != k and not (self.upstream_quirks and r < k):
            raise ValueError(f"token grid {r} does not match the attention grid {k}")
        q, kk, v = self.qkv_grid(x)  # each (N*h, K, K, K, hd)
        bias = self.bias(q, r).to(q.dtype)  # (N*h, r^3, K^3)
        q_real = q[:, :r, :r, :r].reshape(n, h, r**3, -1)
        out = F.scaled_dot_product_attention(
            q_real,
            kk.reshape(n, h, k**3, -1),
            v.reshape(n, h, k**3, -1),
            attn_mask=bias.reshape(n, h, r**3, k**3),
        )  # (N, h, r^3, hd)
        out = out.permute(0, 2, 1, 3).reshape(n, r, r, r, c)
        return self.proj(out)


def padded_window_attention(attn: GridAttention, x: torch.Tensor) -> torch.Tensor:
    """Upstream-style reference: pad to ``K^3`` with zeros, attend with all ``K^3`` queries.

    ``x (N, r, r, r, C)`` -> ``(N, r, r, r, C)``. Explicit softmax (no fused kernel) and the
    padded rows are computed then cropped, as upstream does; ~2.8x the FLOPs of
    ``GridAttention.forward`` for the released model. Used to test the efficient form.
    """
    n, r, c = x.shape[0], x.shape[1], x.shape[-1]
    k, h = attn.attention_grid, attn.num_heads
    padded = F.pad(x, (0, 0, 0, k - r, 0, k - r, 0, k - r))  # zeros at the high end
    qkv = attn.qkv(padded).reshape(n, k**3, 3, h, c // h).permute(2, 0, 3, 1, 4)
    q, kk, v = qkv.reshape(3, n * h, k**3, c // h)
    bias = attn.bias(q.reshape(n * h, k, k, k, -1), k)  # (N*h, K^3, K^3)
    logits = (q * (c // h) ** -0.5) @ kk.transpose(-2, -1) + bias
    out = logits.softmax(dim=-1) @ v  # (N*h, K^3, hd)
    out = out.reshape(n, h, k, k, k, -1).permute(0, 2, 3, 4, 1, 5).reshape(n, k, k, k, c)
    return attn.proj(out)[:, :r, :r, :r]
