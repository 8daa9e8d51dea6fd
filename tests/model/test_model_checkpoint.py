"""Loading official SAM-Med3D/SegAnyPET files, bare/DDP state dicts and our safetensors format."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import seganypet
from seganypet.errors import InputError
from seganypet.model import PRESETS, SegAnyPET, build_model, load_model, save_model
from seganypet.model.checkpoint import WEIGHTS_DIR, infer_config


def _randomised_tiny(seed: int = 0) -> SegAnyPET:
    torch.manual_seed(seed)
    model = build_model("tiny")
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)  # move away from the default init
    return model


def _assert_same_weights(a: SegAnyPET, b: SegAnyPET) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        torch.testing.assert_close(sa[key], sb[key], rtol=0, atol=0, msg=key)


def _official_checkpoint(model: SegAnyPET, path: Path, prefix: str = "") -> None:
    """The dict train.py writes: weights + optimiser/scheduler state + an argparse Namespace."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=8e-4)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[120, 180])
    torch.save(
        {
            "epoch": 3,
            "model_state_dict": {prefix + k: v for k, v in model.state_dict().items()},
            "optimizer_state_dict": optimizer.state_dict(),
            "lr_scheduler_state_dict": scheduler.state_dict(),
            "losses": [0.9, 0.7],
            "dices": [np.float64(0.5), np.float64(0.6)],
            "best_loss": 0.7,
            "best_dice": np.float64(0.6),
            "args": argparse.Namespace(model_type="vit_b_ori", lr=8e-4, step_size=[120, 180]),
            "used_datas": ["AutoPET"],
        },
        path,
    )


def test_official_checkpoint_format_loads(tmp_path: Path) -> None:
    model = _randomised_tiny()
    path = tmp_path / "sam_model_latest.pth"
    _official_checkpoint(model, path)
    loaded = seganypet.load_model(str(path))
    assert loaded.config == PRESETS["tiny"]  # inferred from keys and shapes
    assert not loaded.training
    _assert_same_weights(model, loaded)


def test_ddp_prefix_and_bare_state_dict(tmp_path: Path) -> None:
    model = _randomised_tiny(1)
    ddp = tmp_path / "ddp.pth"
    _official_checkpoint(model, ddp, prefix="module.")
    _assert_same_weights(model, load_model(ddp))
    bare = tmp_path / "bare.pt"
    torch.save({"module." + k: v for k, v in model.state_dict().items()}, bare)
    _assert_same_weights(model, load_model(bare))


class _Exploit:
    """Pickles as a call to os.system: what a malicious checkpoint would contain."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"model_state_dict": build_model("tiny").state_dict(), "args": _Exploit(marker)}, path)
    with pytest.raises(InputError, match="refusing to load"):
        load_model(path)
    assert not marker.exists()


def test_safetensors_round_trip_with_custom_config(tmp_path: Path) -> None:
    config = dataclasses.replace(PRESETS["tiny"], name="tiny-deeper", encoder_depth=3)
    torch.manual_seed(3)
    model = build_model(config)
    written, sidecar = save_model(model, tmp_path / "m.safetensors")
    assert json.loads(sidecar.read_text())["encoder_depth"] == 3
    loaded = load_model(written)
    assert loaded.config == config
    _assert_same_weights(model, loaded)
    assert all(p.requires_grad and p.device.type == "cpu" for p in loaded.parameters())
    image = torch.randn(1, 1, 32, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.encode(image).tokens, loaded.encode(image).tokens)
    sidecar.unlink()  # the config is also in the safetensors metadata
    assert load_model(written).config == config


def test_torch_checkpoint_with_our_config(tmp_path: Path) -> None:
    config = dataclasses.replace(PRESETS["tiny"], name="tiny-wide", encoder_dim=96, encoder_heads=4)
    model = build_model(config)
    path = tmp_path / "resume.pth"
    torch.save({"model_state_dict": model.state_dict(), "model_config": config.to_dict()}, path)
    loaded = load_model(path)
    assert loaded.config == config
    _assert_same_weights(model, loaded)


def test_missing_and_unexpected_keys_are_named(tmp_path: Path) -> None:
    state = build_model("tiny").state_dict()
    del state["mask_decoder.iou_token.weight"]
    state["image_encoder.extra_head.weight"] = torch.zeros(3)
    path = tmp_path / "partial.pth"
    torch.save({"model_state_dict": state}, path)
    with pytest.raises(InputError) as err:
        load_model(path)
    message = str(err.value)
    assert "mask_decoder.iou_token.weight" in message and "missing" in message
    assert "image_encoder.extra_head.weight" in message and "unexpected" in message


def test_sam_med3d_is_inferred_from_the_released_shapes(sam_keys_json: Path) -> None:
    shapes = json.loads(sam_keys_json.read_text())
    state = {k: torch.empty(v, device="meta") for k, v in shapes.items()}
    assert infer_config(state) == PRESETS["sam-med3d"]
    state["image_encoder.blocks.0.attn.rel_pos_d"] = torch.empty(15, 64, device="meta")
    with pytest.raises(InputError, match="wrong shapes: image_encoder.blocks.0.attn.rel_pos_d"):
        infer_config(state)


def test_names_paths_and_garbage(tmp_path: Path) -> None:
    assert (WEIGHTS_DIR / "default.safetensors").is_file()  # shipped in the package
    assert isinstance(load_model("default"), SegAnyPET)
    assert load_model("tiny").config == PRESETS["tiny"]  # random init, with a warning
    with pytest.raises(InputError, match="neither a model file nor a known model"):
        load_model("vit_h")
    with pytest.raises(InputError, match="does not exist"):
        load_model(tmp_path / "nothing.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot read"):
        load_model(junk)
    junk_safetensors = tmp_path / "junk.safetensors"
    junk_safetensors.write_bytes(b"\x00" * 16)
    with pytest.raises(InputError, match="cannot read .* as safetensors"):
        load_model(junk_safetensors)
    no_weights = tmp_path / "dict.pth"
    torch.save({"epoch": 1}, no_weights)
    with pytest.raises(InputError, match="holds no model weights"):
        load_model(no_weights)
