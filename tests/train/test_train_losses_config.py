"""Per-sample Dice+CE equals MONAI's DiceCELoss; config JSON and flags round-trip."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pytest
import torch
from monai.losses import DiceCELoss

import seganypet.train
from seganypet.cli.train import resolve_config_path
from seganypet.errors import InputError
from seganypet.model.build import build_model
from seganypet.train.config import TrainConfig, load_config, save_config
from seganypet.train.flags import add_config_flags, apply_flags
from seganypet.train.loop import build_optimizer
from seganypet.train.losses import dice_ce_per_sample, mask_iou


def test_per_sample_loss_mean_equals_monai_dicece() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 1, 6, 5, 4, generator=gen) * 3
    target = (torch.rand(3, 1, 6, 5, 4, generator=gen) > 0.6).float()
    reference = DiceCELoss(sigmoid=True, squared_pred=True, reduction="mean")(logits, target)
    per = dice_ce_per_sample(logits, target)
    assert per.shape == (3,)
    assert per.mean().item() == pytest.approx(reference.item(), rel=1e-6)
    # each sample alone is the same loss on a batch of one
    one = DiceCELoss(sigmoid=True, squared_pred=True)(logits[1:2], target[1:2])
    assert per[1].item() == pytest.approx(one.item(), rel=1e-6)


def test_mask_iou() -> None:
    target = torch.zeros(1, 1, 4, 4, 4)
    target[0, 0, :2] = 1  # 32 voxels
    logits = torch.full((1, 2, 4, 4, 4), -5.0)
    logits[0, 0, :2] = 5  # exact
    logits[0, 1, :1] = 5  # half
    assert mask_iou(logits, target).tolist() == [[1.0, 0.5]]


def test_config_json_round_trip(tmp_path) -> None:
    cfg = TrainConfig(preset="tiny", milestones=(5, 9), target_names=("liver",), cpcl="full")
    save_config(cfg, tmp_path / "c.json")
    assert load_config(tmp_path / "c.json") == cfg
    (tmp_path / "bad.json").write_text(json.dumps({"lr_encodr": 1}))
    with pytest.raises(InputError, match="lr_encodr"):
        load_config(tmp_path / "bad.json")
    with pytest.raises(InputError, match="cpcl"):
        TrainConfig(cpcl="sometimes")


def test_flags_override_config_fields() -> None:
    parser = argparse.ArgumentParser()
    add_config_flags(parser)
    args = parser.parse_args(["--lr-encoder", "1e-5", "--milestones", "10,20", "--flip", "false",
                              "--target-names", "liver,spleen", "--cpcl-rampup-steps", "none",
                              "--manifest", "m.jsonl"])
    cfg = apply_flags(TrainConfig(cpcl_rampup_steps=7), args)
    assert cfg.lr_encoder == 1e-5 and cfg.milestones == (10, 20) and cfg.flip is False
    assert cfg.target_names == ("liver", "spleen") and cfg.cpcl_rampup_steps is None
    assert cfg.manifest == "m.jsonl"
    assert dataclasses.replace(cfg, lr_encoder=TrainConfig().lr_encoder, milestones=(), flip=True,
                               target_names=None, cpcl_rampup_steps=None, manifest=None) \
        == TrainConfig(cpcl_rampup_steps=None)
    with pytest.raises(InputError, match="--steps"):
        apply_flags(TrainConfig(), parser.parse_args(["--steps", "many"]))


BUNDLED = sorted(p.stem for p in (Path(seganypet.train.__file__).parent / "configs").glob("*.json"))


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_configs_load_and_build(name: str) -> None:
    cfg = load_config(resolve_config_path(name))
    assert cfg.steps > 0
    model = build_model(cfg.preset)  # the preset exists and its optimiser groups are sane
    groups = build_optimizer(model, cfg).param_groups
    assert sum(len(g["params"]) for g in groups) == len([p for p in model.parameters()
                                                        if p.requires_grad])


def test_every_bundled_config_is_listed() -> None:
    assert len(BUNDLED) >= 9 and "default" in BUNDLED
