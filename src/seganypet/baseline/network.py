"""The automatic baseline network: MONAI SegResNet, its run configuration and its model file.

The model file is safetensors + a JSON sidecar (architecture, class names, spacing, steps,
minutes): no pickle is ever loaded.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from monai.networks.nets import SegResNet
from safetensors.torch import load_file, save_file

from seganypet.atomic import atomic_path
from seganypet.baseline.classes import ClassMap
from seganypet.errors import InputError

__all__ = ["DEFAULT_ORGANS", "SupervisedConfig", "SupervisedModel", "build_segresnet",
           "load_supervised", "save_supervised"]

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
