"""Encoder attention: bias formulas against brute force, efficient padded window == upstream form."""

from __future__ import annotations

import itertools

import pytest
import torch

from seganypet.model.attention import (
    GridAttention,
    correct_rel_pos_bias,
    padded_window_attention,
    scrambled_rel_pos_bias,
)
from seganypet.model.image_encoder import window_partition, window_unpartition


def _randomised(attn: GridAttention, seed: int, dtype: torch.dtype = torch.float32) -> GridAttention:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in attn.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    return attn.to(dtype)


def _tokens(*shape: int, seed: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)).to(dtype)


def _tables(k: int, c: int, seed: int) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(2 * k - 1, c, generator=gen, dtype=torch.float64) for _ in range(3))


def test_correct_bias_matches_definition() -> None:
    k, c = 3, 4
    q = torch.randn(1, k, k, k, c, dtype=torch.float64)
    pd, ph, pw = _tables(k, c, 0)
    bias = correct_rel_pos_bias(q, (pd, ph, pw))[0]
    cells = list(itertools.product(range(k), repeat=3))
    for a, i in enumerate(cells):
        for b, j in enumerate(cells):
            qi = q[0][i]
            want = (qi @ pd[i[0] - j[0] + k - 1] + qi @ ph[i[1] - j[1] + k - 1]
                    + qi @ pw[i[2] - j[2] + k - 1])
            assert torch.isclose(bias[a, b], want, atol=1e-12)


@pytest.mark.parametrize("num_real", [3, 2])
def test_scrambled_bias_matches_upstream_formula(num_real: int) -> None:
    """Spec 1.2 item 4: the second and third terms read the query at another token."""
    k, c = 3, 4
    q = torch.randn(1, k, k, k, c, dtype=torch.float64)
    pd, ph, pw = _tables(k, c, 1)
    bias = scrambled_rel_pos_bias(q, (pd, ph, pw), num_real)[0]
    assert bias.shape == (num_real**3, k**3)
    queries = list(itertools.product(range(num_real), repeat=3))
    keys = list(itertools.product(range(k), repeat=3))
    for a, (d, h, w) in enumerate(queries):
        for b, (jd, jh, jw) in enumerate(keys):
            want = (q[0, d, h, w] @ pd[d - jw + k - 1] + q[0, d, h, jd] @ ph[h - jw + k - 1]
                    + q[0, d, h, jh] @ pw[jh - jw + k - 1])
            assert torch.isclose(bias[a, b], want, atol=1e-12)


def test_scrambled_and_correct_bias_differ() -> None:
    q = torch.randn(1, 3, 3, 3, 4, dtype=torch.float64)
    tables = _tables(3, 4, 2)
    diff = scrambled_rel_pos_bias(q, tables, 3) - correct_rel_pos_bias(q, tables)
    assert diff.abs().max() > 0.1


def test_efficient_padded_window_equals_upstream_padded_form() -> None:
    """Queries only for the real tokens, padded k/v = qkv bias: same numbers, fewer FLOPs."""
    attn = _randomised(GridAttention(32, 2, attention_grid=6, upstream_quirks=True), seed=3)
    x = _tokens(2, 4, 4, 4, 32, seed=13)
    fast, reference = attn(x), padded_window_attention(attn, x)
    assert fast.shape == reference.shape == (2, 4, 4, 4, 32)
    torch.testing.assert_close(fast, reference, atol=1e-5, rtol=1e-5)
    # The padded tokens matter: plain attention over the real tokens alone is different.
    plain = _randomised(GridAttention(32, 2, attention_grid=4, upstream_quirks=True), seed=3)
    with torch.no_grad():
        plain.qkv.load_state_dict(attn.qkv.state_dict())
        plain.proj.load_state_dict(attn.proj.state_dict())
        plain.rel_pos_d.copy_(attn.rel_pos_d[2:-2])
        plain.rel_pos_h.copy_(attn.rel_pos_h[2:-2])
        plain.rel_pos_w.copy_(attn.rel_pos_w[2:-2])
    assert (plain(x) - fast).abs().max() > 1e-2


def test_efficient_padded_window_gradients_equal_reference() -> None:
    attn = _randomised(GridAttention(16, 2, 5, upstream_quirks=True), seed=4, dtype=torch.float64)
    x = _tokens(1, 3, 3, 3, 16, seed=14, dtype=torch.float64).requires_grad_()
    grads = []
    for fn in (attn, lambda t: padded_window_attention(attn, t)):
        attn.zero_grad()
        x.grad = None
        (fn(x) ** 2).sum().backward()
        grads.append((x.grad.clone(), attn.rel_pos_w.grad.clone(), attn.qkv.bias.grad.clone()))
    for fast, ref in zip(*grads):
        torch.testing.assert_close(fast, ref, atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize("quirks", [False, True])
def test_global_attention_sdpa_equals_explicit_softmax(quirks: bool) -> None:
    attn = _randomised(GridAttention(24, 3, 4, upstream_quirks=quirks), seed=5, dtype=torch.float64)
    x = _tokens(2, 4, 4, 4, 24, seed=15, dtype=torch.float64)
    torch.testing.assert_close(attn(x), padded_window_attention(attn, x), atol=1e-10, rtol=1e-8)


def test_quirk_free_attention_rejects_a_smaller_grid() -> None:
    attn = GridAttention(8, 2, attention_grid=4, upstream_quirks=False)
    with pytest.raises(ValueError, match="attention grid"):
        attn(torch.randn(1, 2, 2, 2, 8))


def test_window_partition_round_trip_and_locality() -> None:
    x = torch.arange(2 * 4**3 * 3, dtype=torch.float32).reshape(2, 4, 4, 4, 3)
    windows = window_partition(x, 2)
    assert windows.shape == (16, 2, 2, 2, 3)
    torch.testing.assert_close(windows[1], x[0, 0:2, 0:2, 2:4])  # second window: last axis
    torch.testing.assert_close(window_unpartition(windows, 4), x)
