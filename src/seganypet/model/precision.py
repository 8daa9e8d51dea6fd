"""Whether bf16 autocast pays off on a device: the one rule behind every ``"auto"`` precision.

On CPUs with AVX-512 (and especially AVX512-BF16 / AMX) oneDNN runs bf16 matmuls and
convolutions several times faster than fp32. On AVX2-only CPUs there is no bf16 kernel and
PyTorch falls back to scalar conversion: a 1024² matmul measured 77x *slower* in bf16 than in
fp32 on an AVX2 EPYC. So ``"auto"`` must ask the hardware, never assume.
"""

from __future__ import annotations

import logging

import torch

__all__ = ["bf16_is_fast", "resolve_precision"]

log = logging.getLogger(__name__)


def bf16_is_fast(device: torch.device | str = "cpu") -> bool:
    """True when bf16 autocast on ``device`` is expected to be faster than fp32."""
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    # oneDNN's own test (AVX-512 core or better); a private op, so fall back to the dispatcher's
    # capability string if a future torch drops it.
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        if check is not None:
            return bool(check())
    except RuntimeError:  # pragma: no cover - op registered but unusable in this build
        pass
    return torch.backends.cpu.get_cpu_capability().startswith("AVX512")


def resolve_precision(precision: str, device: torch.device | str, *, allowed: bool = True) -> str:
    """``"fp32"`` or ``"bf16"`` for a requested ``"auto"``/``"fp32"``/``"bf16"``.

    ``allowed=False`` (e.g. upstream-quirks models, validated in fp32 only) makes ``"auto"``
    choose fp32. An explicit ``"bf16"`` is honoured even where it is slow, with a warning.
    """
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r}")
    if precision == "auto":
        return "bf16" if allowed and bf16_is_fast(device) else "fp32"
    if precision == "bf16" and not bf16_is_fast(device):
        log.warning("bf16 requested on %s, which has no fast bf16 kernels: expect it to be "
                    "much slower than fp32", device)
    return precision
