"""Model speed on this machine: encoder (fp32, bf16 autocast), one click, GFLOPs, GFLOP/s.

Usage::

    python benchmarks/model_speed.py [--presets sam-med3d pet-small tiny] [--repeats 3] [--threads 2]

Random weights (speed does not depend on the values). Best of ``--repeats`` runs, since other
jobs share the cores. Targets for ``sam-med3d`` at 128^3: exact fp32 encoder <= 3 s, click
(prompt encoder + mask decoder) <= 30 ms.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode, register_flop_formula

from seganypet.model import SegAnyPET, build_model
from seganypet.model.attention import padded_window_attention


def _sdpa_cpu_flops(query: tuple, key: tuple, value: tuple, *args: object, **kwargs: object) -> int:
    """2 FLOPs/MAC for q @ k^T and attn @ v (torch's counter has no entry for the CPU kernel)."""
    *batch, length, dim = query
    heads = 1
    for b in batch:
        heads *= b
    return 2 * heads * length * key[-2] * (dim + value[-1])


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Best wall time (s) of ``repeats`` runs after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def count_flops(fn: Callable[[], object]) -> float:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops() / 1e9


def matmul_peak(dtype: torch.dtype, repeats: int, n: int = 2048) -> float:
    """Measured GFLOP/s of an ``n x n`` matmul: the practical peak of this CPU."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    return 2 * n**3 / best_time(lambda: a @ b, repeats * 3) / 1e9


@dataclass
class Row:
    name: str
    params_m: float
    enc_gflop: float
    enc_fp32_s: float
    enc_bf16_s: float
    click_gflop: float
    click_ms: float
    upstream_padded_gflop: float  # encoder GFLOPs in the upstream padded-window form (0: n/a)


def bench_preset(name: str, repeats: int) -> Row:
    model = build_model(name)
    config = model.config
    s, low = config.image_size, config.low_res_size
    image = torch.randn(1, 1, s, s, s)
    coords = torch.tensor([[[s * 0.4, s * 0.55, s * 0.7]]])
    labels = torch.ones(1, 1, dtype=torch.long)
    mask = torch.zeros(1, 1, low, low, low)
    with torch.inference_mode():
        embedding = model.encode(image)

        def encode_bf16() -> object:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return model.encode(image)

        def click() -> object:
            return model.decode(embedding, coords, labels, mask)

        return Row(
            name=name,
            params_m=sum(p.numel() for p in model.parameters()) / 1e6,
            enc_gflop=count_flops(lambda: model.encode(image)),
            enc_fp32_s=best_time(lambda: model.encode(image), repeats),
            enc_bf16_s=best_time(encode_bf16, repeats),
            click_gflop=count_flops(click),
            click_ms=best_time(click, repeats * 5) * 1e3,
            upstream_padded_gflop=upstream_padded_gflop(model),
        )


def upstream_padded_gflop(model: SegAnyPET) -> float:
    """Encoder GFLOPs the upstream padded-window form would add (0 without padded windows);
    measured on one windowed block (all windowed blocks have the same cost)."""
    blocks = model.image_encoder.blocks
    windowed = [b for b in blocks if b.window and not b.partition]
    if not windowed:
        return 0.0
    g, dim = model.config.grid_size, model.config.encoder_dim
    x = torch.randn(1, g, g, g, dim)
    with torch.inference_mode():
        extra = count_flops(lambda: padded_window_attention(windowed[0].attn, x)) - count_flops(
            lambda: windowed[0].attn(x)
        )
    return len(windowed) * extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["sam-med3d", "pet-small", "tiny"])
    parser.add_argument("--repeats", type=int, default=3)
    # 2 = this machine's cores. When other jobs share them, every parallel region can wait a
    # scheduler time slice for its second thread; --threads 1 then gives steadier numbers.
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    register_flop_formula(torch.ops.aten._scaled_dot_product_flash_attention_for_cpu)(
        _sdpa_cpu_flops
    )
    peak32, peak16 = matmul_peak(torch.float32, args.repeats), matmul_peak(torch.bfloat16, args.repeats)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; matmul peak "
          f"fp32 {peak32:.0f} GFLOP/s, bf16 {peak16:.0f} GFLOP/s")
    header = ("| preset | params (M) | encoder GFLOP | encoder fp32 s (GFLOP/s, % peak) | "
              "encoder bf16 s (GFLOP/s, % peak) | click GFLOP | click ms |")
    print(header)
    print("|" + "---|" * 7)
    padded: list[str] = []
    for name in args.presets:
        r = bench_preset(name, args.repeats)
        f32, f16 = r.enc_gflop / r.enc_fp32_s, r.enc_gflop / r.enc_bf16_s
        print(f"| {r.name} | {r.params_m:.2f} | {r.enc_gflop:.3g} | {r.enc_fp32_s:.3f} "
              f"({f32:.0f}, {100 * f32 / peak32:.0f}%) | {r.enc_bf16_s:.3f} ({f16:.0f}, "
              f"{100 * f16 / peak16:.0f}%) | {r.click_gflop:.3g} | {r.click_ms:.1f} |")
        if r.upstream_padded_gflop:
            padded.append(f"{r.name}: upstream padded-window encoder would be "
                          f"{r.enc_gflop + r.upstream_padded_gflop:.1f} GFLOP (same numbers)")
    print("\n".join(padded))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
