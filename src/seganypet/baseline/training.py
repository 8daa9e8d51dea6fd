"""The task-specific supervised baseline: MONAI SegResNet trained on the same phantoms.

Issue #7 asks for an automatic 3D CNN (no clicks) trained for the same CPU time as our
promptable model, so the tables say what interaction buys. Training is plain nnU-Net-style
supervised learning: multi-class patches (:mod:`seganypet.baseline.patches`), MONAI
``DiceCELoss`` (softmax, one-hot), AdamW with a polynomial learning-rate decay over the *time budget* (the run stops
at ``max_minutes`` with the rate at zero, so a CPU-time-matched run ends converged rather than
cut mid-schedule), bf16 autocast where the device has fast bf16 kernels. The model file: :mod:`seganypet.baseline.network`.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import torch
from monai.losses import DiceCELoss
from tqdm import tqdm

from seganypet.atomic import atomic_path
from seganypet.baseline.network import (
    SupervisedConfig,
    SupervisedModel,
    build_segresnet,
    save_supervised,
)
from seganypet.baseline.patches import SegmentationBatch, sample_segmentation_patch
from seganypet.model.precision import bf16_is_fast
from seganypet.train.config import TrainConfig
from seganypet.train.phantom_cases import phantom_case_generator

__all__ = ["train_supervised"]


def _phantom_stream(config: SupervisedConfig):
    """Endless ``(case, rng)`` pairs: a fresh phantom every ``phantom_reuse`` patches."""
    generate = phantom_case_generator(TrainConfig(
        phantom_tracers=config.phantom_tracers,
        phantom_randomized_fraction=config.phantom_randomized_fraction,
        phantom_lq_fraction=config.phantom_lq_fraction, phantom_voxel_mm=config.phantom_voxel_mm))
    for index in range(1 << 62):
        case = generate(int(np.random.default_rng([config.seed, 11, index]).integers(1 << 31)))
        rng = np.random.default_rng([config.seed, 12, index])
        for _ in range(config.phantom_reuse):
            yield case, rng


def _batches(config: SupervisedConfig):
    stream = _phantom_stream(config)
    class_map = config.class_map
    while True:
        images, labels = [], []
        for _ in range(config.batch_size):
            case, rng = next(stream)
            image, label = sample_segmentation_patch(case, class_map, config.patch_size,
                                                     config.spacing_mm, config.intensity, rng,
                                                     config.foreground_prob)
            images.append(image)
            labels.append(label)
        yield SegmentationBatch(torch.from_numpy(np.stack(images))[:, None],
                                torch.from_numpy(np.stack(labels))[:, None])


def _poly_lr(base: float, fraction: float) -> float:
    """nnU-Net's polynomial decay, ``base * (1 - fraction) ** 0.9``, on the spent budget."""
    return base * max(0.0, 1.0 - fraction) ** 0.9


def train_supervised(config: SupervisedConfig, out_dir: str | Path,
                     device: str | torch.device = "cpu") -> SupervisedModel:
    """Train until the time budget (or ``max_steps``) is spent; write ``model.safetensors``
    (+ ``model.json``) and ``log.csv`` into ``out_dir``. Returns the trained model (on the CPU).

    ``device`` is where the network trains (a torch device string); it is not part of the
    config because it does not change what is learnt, only where."""
    out = Path(out_dir)
    device = torch.device(device)
    out.mkdir(parents=True, exist_ok=True)
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    network = build_segresnet(config).to(device)
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True)
    budget_s = config.max_minutes * 60.0
    start, step, rows = time.perf_counter(), 0, []
    batches = _batches(config)
    progress = tqdm(total=config.max_steps, desc="segresnet", unit="step")
    network.train()
    while True:
        elapsed = time.perf_counter() - start
        fraction = elapsed / budget_s if config.max_minutes > 0 else 0.0
        if config.max_steps is not None:
            fraction = max(fraction, step / config.max_steps)
        if fraction >= 1.0:
            break
        for group in optimizer.param_groups:
            group["lr"] = _poly_lr(config.lr, fraction)
        batch = next(batches)
        with torch.autocast(device.type, dtype=torch.bfloat16,
                            enabled=config.amp and bf16_is_fast(device)):
            logits = network(batch.images.to(device))
        loss = loss_fn(logits.float(), batch.labels.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 12.0)
        optimizer.step()
        step += 1
        value = loss.item()
        rows.append({"step": step, "loss": value, "lr": optimizer.param_groups[0]["lr"],
                     "elapsed_min": (time.perf_counter() - start) / 60})
        progress.update(1)
        progress.set_postfix(loss=f"{value:.3f}")
    progress.close()
    info = {"steps": step, "minutes": (time.perf_counter() - start) / 60,
            "patches": step * config.batch_size, "threads": torch.get_num_threads(),
            "final_loss": float(np.mean([r["loss"] for r in rows[-20:]])) if rows else None}
    model = SupervisedModel(network.to("cpu").eval(), config, info)
    save_supervised(model, out / "model.safetensors")
    _write_log(rows, out / "log.csv")
    return model


def _write_log(rows: list[dict[str, float]], path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["step", "loss", "lr", "elapsed_min"])
        writer.writeheader()
        writer.writerows(rows)
