"""The ``auto`` precision rule: bf16 only where the hardware runs it fast."""

from __future__ import annotations

import contextlib

import pytest
import torch

from seganypet.model import SegAnyPET, build_model, get_preset
from seganypet.model import precision as precision_module
from seganypet.model.precision import bf16_is_fast, resolve_precision
from seganypet.session import Session
from seganypet.train import loop
from seganypet.train.config import TrainConfig


def test_bf16_is_fast_agrees_with_onednn() -> None:
    expected = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    assert bf16_is_fast("cpu") is expected
    assert bf16_is_fast("meta") is False


@pytest.mark.parametrize("fast", [True, False])
def test_auto_follows_the_hardware(monkeypatch: pytest.MonkeyPatch, fast: bool) -> None:
    monkeypatch.setattr(precision_module, "bf16_is_fast", lambda device="cpu": fast)
    assert resolve_precision("auto", "cpu") == ("bf16" if fast else "fp32")
    assert resolve_precision("auto", "cpu", allowed=False) == "fp32"
    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"  # explicit wishes are honoured


def test_bad_precision_is_rejected() -> None:
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("fp16", "cpu")


@pytest.mark.parametrize("fast", [True, False])
def test_session_auto_precision(monkeypatch: pytest.MonkeyPatch, fast: bool) -> None:
    monkeypatch.setattr(precision_module, "bf16_is_fast", lambda device="cpu": fast)
    ours = Session(build_model("tiny"))
    assert ours._decoder.precision == ("bf16" if fast else "fp32")
    with torch.device("meta"):  # the 100 M-parameter upstream layout, without allocating it
        quirky = SegAnyPET(get_preset("sam-med3d"))
    assert Session(quirky, device="meta")._decoder.precision == "fp32"


@pytest.mark.parametrize("fast", [True, False])
def test_training_amp_auto_on_cpu(monkeypatch: pytest.MonkeyPatch, fast: bool) -> None:
    monkeypatch.setattr(loop, "bf16_is_fast", lambda device="cpu": fast)
    factory, scaler = loop._amp(TrainConfig(amp="auto"), torch.device("cpu"))
    assert scaler is None
    with factory():
        dtype = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None
    assert dtype == (torch.bfloat16 if fast else None)
    forced, _ = loop._amp(TrainConfig(amp="bf16"), torch.device("cpu"))
    with forced():
        assert torch.is_autocast_enabled("cpu")
    off, _ = loop._amp(TrainConfig(amp="off"), torch.device("cpu"))
    assert off is contextlib.nullcontext
