"""End-to-end training on tiny phantoms: the loss falls, resume is bit-exact, CLI + export work."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from seganypet.cli import main
from seganypet.model import build_model, load_model, save_model
from seganypet.train.checkpoint import latest_checkpoint, load_checkpoint
from seganypet.train.config import TrainConfig
from seganypet.train.data import patch_spec
from seganypet.train.interaction import ClickPlan, InteractiveStep
from seganypet.train.loop import _apply_milestones, build_optimizer, build_scheduler, train
from seganypet.train.phantom_cases import phantom_case_generator
from seganypet.train.sources import PatchSource, PhantomCases

TINY = TrainConfig(preset="tiny", phantom_voxel_mm=8.0, phantom_pool=2, phantom_reuse=6,
                   phantom_lq_fraction=0.0, clicks_max=3, batch_size=2, steps=4,
                   lr_encoder=2e-3, lr_decoder=2e-3, amp="off", threads=2, log_every=1, seed=7)


def _held_out_loss(model, cfg: TrainConfig) -> float:
    """Loss of ``model`` on 8 fixed patches (sample numbers far beyond the training stream)."""
    held = dataclasses.replace(cfg, phantom_seed_offset=99)
    source = PatchSource(held, patch_spec(held, model.config), None,
                         PhantomCases(phantom_case_generator(held), held))
    step = InteractiveStep(model, held).eval()
    with torch.no_grad():
        losses = [step(source.batch([10_000 + 2 * i, 10_001 + 2 * i]), ClickPlan(2))[0]
                  for i in range(4)]
    return float(torch.stack(losses).mean())


def test_a_few_steps_reduce_the_loss(tmp_path) -> None:
    torch.manual_seed(0)
    init = tmp_path / "init.safetensors"
    save_model(build_model("tiny"), init)
    cfg = dataclasses.replace(TINY, init=str(init), steps=12, out_dir=str(tmp_path / "run"))
    before = _held_out_loss(load_model(init), cfg)
    result = train(cfg)
    trained, state, saved_cfg = load_checkpoint(tmp_path / "run")
    after = _held_out_loss(trained, cfg)
    assert result.step == state.step == 12 and saved_cfg == cfg
    assert after < 0.85 * before, (before, after)
    assert (tmp_path / "run" / "log.csv").read_text().count("\n") == 13  # header + 12 steps


def test_resume_continues_bit_exactly(tmp_path) -> None:
    # elastic warping draws from each sample's own generator, so it resumes exactly too
    cfg = dataclasses.replace(TINY, cpcl="full", phantom_lq_fraction=0.5, cpcl_n_pt=2,
                              cpcl_rampup_steps=10, warmup_steps=2, milestones=(3,),
                              elastic_mm=16.0, elastic_control_points=3, elastic_prob=0.5)
    straight = train(dataclasses.replace(cfg, out_dir=str(tmp_path / "a")))
    half = dataclasses.replace(cfg, steps=2, out_dir=str(tmp_path / "b"))
    first = train(half)
    second = train(dataclasses.replace(cfg, out_dir=str(tmp_path / "b")), resume=tmp_path / "b")
    assert first.losses + second.losses == straight.losses  # exactly, not approximately
    assert latest_checkpoint(tmp_path / "b").name == "step_0000004"
    a, _, _ = load_checkpoint(tmp_path / "a")
    b, _, _ = load_checkpoint(tmp_path / "b")
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), name


def test_cli_train_and_export(tmp_path, capsys) -> None:
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps(dataclasses.replace(TINY, steps=1).to_dict()))
    out = tmp_path / "run"
    assert main(["train", str(config), "--out-dir", str(out), "--clicks-max", "2"]) == 0
    assert main(["export-model", str(out), "--out", str(tmp_path / "m.safetensors")]) == 0
    exported = load_model(tmp_path / "m.safetensors")
    trained, _, saved = load_checkpoint(out)
    assert saved.clicks_max == 2
    assert all(torch.equal(x, y) for x, y in
               zip(exported.state_dict().values(), trained.state_dict().values()))
    assert main(["train", str(tmp_path / "missing.json")]) == 2
    assert "not found" in capsys.readouterr().err


def test_resume_with_new_milestones_follows_the_new_schedule() -> None:
    model = build_model("tiny")
    old = dataclasses.replace(TINY, warmup_steps=2, milestones=(4,), gamma=0.5, lr_encoder=1.0,
                              lr_decoder=0.1)
    optimizer = build_optimizer(model, old)
    scheduler = build_scheduler(optimizer, old)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    saved_opt, saved_sched = optimizer.state_dict(), scheduler.state_dict()
    new = dataclasses.replace(old, milestones=(6,), gamma=0.1)  # extend the run
    optimizer = build_optimizer(model, new)
    scheduler = build_scheduler(optimizer, new)
    optimizer.load_state_dict(saved_opt)
    scheduler.load_state_dict(saved_sched)
    _apply_milestones(scheduler, new)
    lrs = []
    for _ in range(5):  # steps 4..8
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    assert lrs == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.1])  # no cut at 4, x0.1 at 6


def test_export_average_is_the_mean_of_the_last_checkpoints(tmp_path) -> None:
    from seganypet.train.checkpoint import TrainState, recent_checkpoints, save_checkpoint

    run = tmp_path / "run"
    models = []
    for step in (1, 2, 3, 4):
        torch.manual_seed(step)
        models.append(build_model("tiny"))
        state = TrainState(step=step, optimizer={}, scheduler={}, scaler=None,
                           torch_rng=torch.get_rng_state())
        save_checkpoint(run, models[-1], state, TINY)
    assert [p.name for p in recent_checkpoints(run, 2)] == ["step_0000003", "step_0000004"]
    out = tmp_path / "avg.safetensors"
    assert main(["export-model", str(run), "--average", "3", "--out", str(out)]) == 0
    averaged = load_model(out).state_dict()
    name = "image_encoder.patch_embed.proj.weight"
    expected = sum(m.state_dict()[name] for m in models[1:]) / 3  # step 1 rotated out
    assert torch.allclose(averaged[name], expected, atol=1e-6)
    assert main(["export-model", str(run), "--average", "5", "--out", str(out)]) == 2
