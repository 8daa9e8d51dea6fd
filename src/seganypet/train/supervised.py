"""The task-specific supervised baseline: MONAI SegResNet trained on the same phantoms.

Issue #7 asks for an automatic 3D CNN (no clicks) trained for the same CPU time as our
promptable model, so the tables say what interaction buys. Training is plain nnU-Net-style
supervised learning: multi-class patches (``supervised_data``), MONAI ``DiceCELoss`` (softmax,
one-hot), AdamW with a polynomial learning-rate decay over the *time budget* (the run stops
at ``max_minutes`` with the rate at zero, so a CPU-time-matched run ends converged rather than
cut mid-schedule), bf16 autocast on CPU. The model file is safetensors + a JSON sidecar
(architecture, class names, spacing, steps, minutes): no pickle is ever loaded.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.losses import DiceCELoss
from monai.networks.nets import SegResNet
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from seganypet.errors import InputError
from seganypet.io.atomic import atomic_path
from seganypet.model.precision import bf16_is_fast
from seganypet.train.config import TrainConfig
from seganypet.train.phantom_cases import phantom_case_generator
from seganypet.train.supervised_data import ClassMap, SegmentationBatch, sample_segmentation_patch

__all__ = ["SupervisedConfig", "SupervisedModel", "load_supervised", "save_supervised",
           "train_supervised"]

DEFAULT_ORGANS = ("brain", "heart", "liver", "spleen", "kidney_left", "kidney_right", "bladder",
                  "aorta", "lung_left", "lung_right", "stomach", "salivary_glands",
                  "heart_cavity", "bone_marrow")


@dataclass(frozen=True)
class SupervisedConfig:
    """Everything a supervised-baseline run depends on.

    The phantom mix defaults to the default promptable model's (FDG + PSMA, half
    domain-randomised, 20 % simulated low-quality labels), with the same voxel spacing,
    intensity transform and organ list, so that only the method differs.
    """

    organs: tuple[str, ...] = DEFAULT_ORGANS
    patch_size: int = 96
    spacing_mm: float = 3.0
    intensity: str = "log1p_suv"
    init_filters: int = 8
    batch_size: int = 2
    lr: float = 1e-3
    weight_decay: float = 1e-5
    max_minutes: float = 60.0
    max_steps: int | None = None
    foreground_prob: float = 0.67
    phantom_tracers: tuple[str, ...] = ("fdg", "psma")
    phantom_randomized_fraction: float = 0.5
    phantom_lq_fraction: float = 0.2
    phantom_reuse: int = 12  # patches per generated case (generation is ~1 s a case)
    phantom_voxel_mm: float | None = None
    seed: int = 2026
    threads: int | None = None
    amp: bool = True  # bf16 autocast, used only where the CPU has fast bf16 kernels

    def __post_init__(self) -> None:
        if self.patch_size % 8:
            raise InputError("the SegResNet patch size must be a multiple of 8")
        if self.max_minutes <= 0 and not self.max_steps:
            raise InputError("give a positive time budget (max_minutes) or max_steps")
        object.__setattr__(self, "organs", tuple(self.organs))
        object.__setattr__(self, "phantom_tracers", tuple(self.phantom_tracers))

    @property
    def class_map(self) -> ClassMap:
        return ClassMap(self.organs)


@dataclass
class SupervisedModel:
    """A trained baseline: the network and what it needs at inference."""

    network: torch.nn.Module
    config: SupervisedConfig
    info: dict[str, Any]

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.config.class_map.names


def build_segresnet(config: SupervisedConfig) -> SegResNet:
    """SegResNet (Myronenko 2018, MONAI): 1 input channel, one output per class."""
    return SegResNet(spatial_dims=3, in_channels=1, out_channels=config.class_map.num_classes,
                     init_filters=config.init_filters, blocks_down=(1, 2, 2, 4),
                     blocks_up=(1, 1, 1), dropout_prob=None)


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


def train_supervised(config: SupervisedConfig, out_dir: str | Path) -> SupervisedModel:
    """Train until the time budget (or ``max_steps``) is spent; write ``model.safetensors``
    (+ ``model.json``) and ``log.csv`` into ``out_dir``. Returns the trained model."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    network = build_segresnet(config)
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
        with torch.autocast("cpu", dtype=torch.bfloat16,
                            enabled=config.amp and bf16_is_fast("cpu")):
            logits = network(batch.images)
        loss = loss_fn(logits.float(), batch.labels)
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
    model = SupervisedModel(network.eval(), config, info)
    save_supervised(model, out / "model.safetensors")
    _write_log(rows, out / "log.csv")
    return model


def _write_log(rows: list[dict[str, float]], path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["step", "loss", "lr", "elapsed_min"])
        writer.writeheader()
        writer.writerows(rows)


def save_supervised(model: SupervisedModel, path: str | Path) -> Path:
    """Write weights (safetensors) and ``<path>.json`` (config, classes, run info) atomically."""
    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.network.state_dict().items()}
    sidecar = {"kind": "segresnet-baseline", "config": dataclasses.asdict(model.config),
               "class_names": list(model.class_names), "info": model.info}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp))
    with atomic_path(path.with_suffix(".json")) as tmp:
        Path(tmp).write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return path


def load_supervised(path: str | Path) -> SupervisedModel:
    """Load a baseline written by :func:`save_supervised` (no pickle involved)."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.safetensors"
    sidecar = path.with_suffix(".json")
    if not path.is_file() or not sidecar.is_file():
        raise InputError(f"no supervised baseline at {path} (need .safetensors + .json)")
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    if meta.get("kind") != "segresnet-baseline":
        raise InputError(f"{sidecar} does not describe a SegResNet baseline")
    config = SupervisedConfig(**meta["config"])
    network = build_segresnet(config)
    network.load_state_dict(load_file(str(path)))
    return SupervisedModel(network.eval(), config, meta.get("info", {}))
