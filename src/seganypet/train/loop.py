"""The training loop: optimiser, schedule, mixed precision, accumulation, DDP, checkpoints.

``train(config)`` runs ``config.steps`` optimiser steps (or until ``max_minutes``), logging
to ``<out_dir>/log.jsonl`` and ``log.csv`` and checkpointing every
``config.checkpoint_minutes`` and at the end (rank 0 only). ``resume=<run dir>`` continues a
run bit-exactly: the data stream and the clicks are pure functions of ``(seed, step)`` and
the optimiser/scheduler/scaler states are restored.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from seganypet.model import build_model, get_preset, load_model
from seganypet.model.checkpoint import adopt_weights
from seganypet.model.precision import bf16_is_fast
from seganypet.model.sam import SegAnyPET
from seganypet.train import cpcl
from seganypet.train.checkpoint import (
    TrainState,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from seganypet.train.config import TrainConfig
from seganypet.train.data import patch_spec
from seganypet.train.distributed import (
    DistContext,
    global_sample_indices,
    init_distributed,
    shutdown_distributed,
)
from seganypet.train.interaction import ClickPlan, InteractiveStep
from seganypet.train.phantom_cases import phantom_case_generator
from seganypet.train.sources import ManifestCases, PatchSource, PhantomCases

__all__ = ["TrainResult", "build_optimizer", "build_scheduler", "click_plan", "train"]

log = logging.getLogger(__name__)
_LOG_FIELDS = ("step", "loss", "first_dice", "last_dice", "iou_loss", "n_clicks", "lam",
               "lr_encoder", "lr_decoder", "sec_per_step", "patches_per_s", "elapsed_min")


@dataclass
class TrainResult:
    """What a run did: final step, per-step mean losses, output folder, last checkpoint."""

    step: int
    losses: list[float] = field(default_factory=list)
    out_dir: Path | None = None
    checkpoint: Path | None = None


def build_optimizer(model: SegAnyPET, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with the image encoder at ``lr_encoder`` and prompt encoder + decoder at
    ``lr_decoder`` (upstream: 8e-4 / 8e-5), weight decay on every parameter as upstream.
    With ``freeze_encoder`` the encoder's group is empty (its weights stay as loaded)."""
    if cfg.freeze_encoder:
        model.image_encoder.requires_grad_(False)
    encoder = [p for p in model.image_encoder.parameters() if p.requires_grad]
    encoder_ids = {id(p) for p in encoder}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in encoder_ids]
    groups = [{"params": encoder, "lr": cfg.lr_encoder, "name": "image_encoder"},
              {"params": rest, "lr": cfg.lr_decoder, "name": "prompt_and_mask_decoder"}]
    return torch.optim.AdamW(groups, betas=cfg.betas, weight_decay=cfg.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig):
    """MultiStepLR (per optimiser step) after an optional linear warm-up."""
    multistep = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(cfg.milestones), cfg.gamma)
    if cfg.warmup_steps <= 0:
        return multistep
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1.0 / cfg.warmup_steps,
                                               total_iters=cfg.warmup_steps)
    return torch.optim.lr_scheduler.ChainedScheduler([warmup, multistep], optimizer)


def _apply_milestones(scheduler, cfg: TrainConfig) -> None:
    """After loading a scheduler state, let the current config's milestones and gamma rule the
    steps to come (so a finished run can be extended with ``--resume --steps N --milestones``);
    with an unchanged config this is a no-op."""
    subs = getattr(scheduler, "_schedulers", [scheduler])
    for sub in subs:
        if isinstance(sub, torch.optim.lr_scheduler.MultiStepLR):
            sub.milestones = Counter(cfg.milestones)
            sub.gamma = cfg.gamma


def click_plan(cfg: TrainConfig, step: int, micro: int) -> ClickPlan:
    """Number of clicks of a micro-batch (same on every rank) and the CPCL weight λ(step)."""
    rng = np.random.default_rng([cfg.seed, 3, step, micro])
    n_clicks = int(rng.integers(cfg.clicks_min, cfg.clicks_max + 1))
    lam = 0.0
    if cfg.cpcl != "off":
        lam = cpcl.rampup_weight(step, cfg.rampup_steps, cfg.cpcl_omega_max, cfg.cpcl_rampup_power)
    return ClickPlan(n_clicks, lam)


def _amp(cfg: TrainConfig, device: torch.device):
    """(autocast context factory, GradScaler or None): bf16 on CPU, fp16 + scaler on CUDA.

    ``auto`` on a CPU without fast bf16 kernels (AVX2 only) trains in fp32: there bf16 is
    many times slower, not faster.
    """
    if cfg.amp == "off" or (cfg.amp == "auto" and device.type == "cpu" and not bf16_is_fast(device)):
        return contextlib.nullcontext, None
    if device.type == "cuda" and cfg.amp in ("auto", "fp16"):
        scaler = torch.amp.GradScaler("cuda")
        return (lambda: torch.autocast("cuda", dtype=torch.float16)), scaler
    return (lambda: torch.autocast(device.type, dtype=torch.bfloat16)), None


def _initial_model(cfg: TrainConfig) -> SegAnyPET:
    if cfg.init is None:
        return build_model(cfg.preset)
    init = Path(cfg.init)
    if init.is_dir():
        init = latest_checkpoint(init) / "model.safetensors"
    model = load_model(str(init) if init.exists() else cfg.init)
    if model.config.name != cfg.preset:
        log.warning("init checkpoint is a %r model; preset %r is ignored", model.config.name,
                    cfg.preset)
        return model
    preset = get_preset(cfg.preset)
    if model.config != preset:  # an older layout of this preset: take its weights over
        model, fresh = adopt_weights(model, preset)
        log.info("init: %d weights new in the current %r layout start fresh: %s", len(fresh),
                 cfg.preset, ", ".join(fresh))
    return model


def _patch_source(cfg: TrainConfig, model: SegAnyPET) -> PatchSource:
    manifest = ManifestCases(cfg.manifest, cfg.seed) if cfg.manifest else None
    phantoms = PhantomCases(phantom_case_generator(cfg), cfg) if cfg.phantoms else None
    return PatchSource(cfg, patch_spec(cfg, model.config), manifest, phantoms)


class _RunLog:
    """Rank-0 JSONL + CSV log of the step statistics (appends when resuming)."""

    def __init__(self, out_dir: Path, enabled: bool) -> None:
        self.enabled = enabled
        if not enabled:
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        self.jsonl = out_dir / "log.jsonl"
        self.csv = out_dir / "log.csv"
        if not self.csv.exists():
            self.csv.write_text(",".join(_LOG_FIELDS) + "\n", encoding="utf-8")

    def write(self, row: dict[str, float]) -> None:
        if not self.enabled:
            return
        with self.jsonl.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        with self.csv.open("a", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerow([row.get(k, "") for k in _LOG_FIELDS])


@dataclass
class _Run:
    """The live objects of a run (so the loop functions stay small)."""

    cfg: TrainConfig
    ctx: DistContext
    model: SegAnyPET
    step_module: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    scaler: object
    autocast: object
    source: PatchSource
    step: int = 0
    elapsed_s: float = 0.0


def _setup(cfg: TrainConfig, resume: str | Path | None, ctx: DistContext) -> _Run:
    torch.manual_seed(cfg.seed)
    state = None
    if resume is not None:
        model, state, saved_cfg = load_checkpoint(resume)
        if saved_cfg.seed != cfg.seed:
            log.warning("resuming with seed %d (checkpoint used %d)", cfg.seed, saved_cfg.seed)
    else:
        model = _initial_model(cfg)
    model = model.to(ctx.device).train()
    optimizer = build_optimizer(model, cfg)
    scheduler = build_scheduler(optimizer, cfg)
    autocast, scaler = _amp(cfg, ctx.device)
    step_module: torch.nn.Module = InteractiveStep(model, cfg)
    if ctx.distributed:
        # Some parameters get no gradient in a given step (e.g. the single-mask token when a
        # batch makes only one, multimask, decode), hence find_unused_parameters.
        step_module = DistributedDataParallel(
            step_module, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None,
            find_unused_parameters=True)
    run = _Run(cfg, ctx, model, step_module, optimizer, scheduler, scaler, autocast,
               _patch_source(cfg, model))
    if state is not None:
        optimizer.load_state_dict(state.optimizer)
        scheduler.load_state_dict(state.scheduler)
        _apply_milestones(scheduler, cfg)
        if scaler is not None and state.scaler:
            scaler.load_state_dict(state.scaler)
        torch.set_rng_state(state.torch_rng)
        run.step, run.elapsed_s = state.step, state.elapsed_s
    return run


def _optimizer_step(run: _Run) -> dict[str, float]:
    """One optimiser step over ``grad_accum`` micro-batches; returns the mean statistics."""
    cfg, ctx = run.cfg, run.ctx
    totals: dict[str, float] = {}
    for micro in range(cfg.grad_accum):
        indices = global_sample_indices(run.step, micro, cfg.grad_accum, cfg.batch_size, ctx)
        batch = run.source.batch(indices).to(ctx.device)
        plan = click_plan(cfg, run.step, micro)
        last = micro == cfg.grad_accum - 1
        sync = contextlib.nullcontext() if last or not ctx.distributed else run.step_module.no_sync()
        with sync:
            with run.autocast():
                loss, stats = run.step_module(batch, plan)
            scaled = loss / cfg.grad_accum
            (run.scaler.scale(scaled) if run.scaler is not None else scaled).backward()
        for key, value in stats.items():
            totals[key] = totals.get(key, 0.0) + float(value) / cfg.grad_accum
    if run.scaler is not None:
        run.scaler.unscale_(run.optimizer)
    if cfg.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.grad_clip)
    if run.scaler is not None:
        run.scaler.step(run.optimizer)
        run.scaler.update()
    else:
        run.optimizer.step()
    run.optimizer.zero_grad(set_to_none=True)
    run.scheduler.step()
    run.step += 1
    return totals


def _checkpoint(run: _Run, out_dir: Path) -> Path | None:
    if not run.ctx.is_main:
        return None
    state = TrainState(
        step=run.step, optimizer=run.optimizer.state_dict(), scheduler=run.scheduler.state_dict(),
        scaler=run.scaler.state_dict() if run.scaler is not None else None,
        torch_rng=torch.get_rng_state(), elapsed_s=run.elapsed_s)
    folder = save_checkpoint(out_dir, run.model, state, run.cfg)
    log.info("checkpoint %s", folder)
    return folder


def _progress(run: _Run):
    if not run.ctx.is_main:
        return None
    from tqdm import tqdm  # only the main rank shows progress

    return tqdm(total=run.cfg.steps, initial=run.step, desc="train", unit="step",
                mininterval=5.0, dynamic_ncols=True)


def _row(run: _Run, stats: dict[str, float], seconds: float) -> dict[str, float]:
    patches = run.cfg.batch_size * run.cfg.grad_accum * run.ctx.world_size
    lrs = run.scheduler.get_last_lr()
    return {"step": run.step, **{k: round(v, 5) for k, v in stats.items()},
            "lr_encoder": lrs[0], "lr_decoder": lrs[1], "sec_per_step": round(seconds, 3),
            "patches_per_s": round(patches / max(seconds, 1e-9), 3),
            "elapsed_min": round(run.elapsed_s / 60.0, 2)}


def _out_of_time(ctx: DistContext, deadline: float) -> bool:
    """Whether to stop now; under DDP rank 0 decides for all, so no rank waits forever."""
    late = time.monotonic() >= deadline
    if not ctx.distributed:
        return late
    flag = torch.tensor([1.0 if late else 0.0], device=ctx.device)
    torch.distributed.broadcast(flag, src=0)
    return bool(flag.item())


def train(cfg: TrainConfig, *, resume: str | Path | None = None,
          max_minutes: float | None = None, device: str | None = None) -> TrainResult:
    """Run (or continue) training; returns the final step and the per-step losses.

    Args:
        cfg: the run's configuration (``out_dir`` receives logs and checkpoints).
        resume: a run dir / checkpoint folder to continue from (config ``cfg`` still applies).
        max_minutes: stop (with a checkpoint) after this much wall time in this process.
        device: ``"cpu"``, ``"cuda"`` or None (CUDA if available).
    """
    ctx = init_distributed(device)
    if cfg.threads and not ctx.distributed:
        torch.set_num_threads(cfg.threads)
    run = _setup(cfg, resume, ctx)
    out_dir = Path(cfg.out_dir)
    run_log = _RunLog(out_dir, ctx.is_main)
    result = TrainResult(step=run.step, out_dir=out_dir)
    started = last_save = time.monotonic()
    deadline = math.inf if max_minutes is None else started + 60.0 * max_minutes
    bar = _progress(run)
    try:
        while run.step < cfg.steps and not _out_of_time(ctx, deadline):
            tick = time.monotonic()
            stats = _optimizer_step(run)
            seconds = time.monotonic() - tick
            run.elapsed_s += seconds
            result.losses.append(stats["loss"])
            row = _row(run, stats, seconds)
            if run.step % cfg.log_every == 0 or run.step == cfg.steps:
                run_log.write(row)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{stats['loss']:.3f}", dice1=f"{stats['first_dice']:.2f}")
            if time.monotonic() - last_save > 60.0 * cfg.checkpoint_minutes:
                result.checkpoint = _checkpoint(run, out_dir) or result.checkpoint
                last_save = time.monotonic()
        result.checkpoint = _checkpoint(run, out_dir) or result.checkpoint
    finally:
        if bar is not None:
            bar.close()
        shutdown_distributed(ctx)
    result.step = run.step
    return result
