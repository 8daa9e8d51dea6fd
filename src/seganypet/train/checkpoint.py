"""Training checkpoints: a folder per save, loadable without unpickling arbitrary objects.

``<out_dir>/checkpoints/step_000123/`` holds
* ``model.safetensors`` + ``model.json`` — written by ``seganypet.model.save_model``, so the
  folder's model file loads directly with ``seganypet.load_model``;
* ``train_state.pt`` — optimiser, scheduler, grad-scaler and RNG states: plain dicts, lists,
  numbers and tensors only, read back with ``torch.load(weights_only=True)``;
* ``train_config.json`` — the :class:`TrainConfig` of the run.
``<out_dir>/checkpoints/latest`` names the newest complete folder (written last, atomically),
so an interrupted save never becomes the resume point.
"""

from __future__ import annotations

import logging
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from seganypet.errors import InputError
from seganypet.io.atomic import atomic_path
from seganypet.model import load_model, save_model
from seganypet.model.sam import SegAnyPET
from seganypet.train.config import TrainConfig, load_config, save_config

__all__ = ["TrainState", "average_weights", "latest_checkpoint", "load_checkpoint",
           "recent_checkpoints", "save_checkpoint"]

log = logging.getLogger(__name__)
_KEEP = 3


@dataclass
class TrainState:
    """Everything besides the weights that resuming needs."""

    step: int
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    scaler: dict[str, Any] | None
    torch_rng: torch.Tensor
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "optimizer": self.optimizer, "scheduler": self.scheduler,
                "scaler": self.scaler, "torch_rng": self.torch_rng, "elapsed_s": self.elapsed_s}


def save_checkpoint(out_dir: str | Path, model: SegAnyPET, state: TrainState,
                    config: TrainConfig) -> Path:
    """Write ``checkpoints/step_<step>/`` and point ``latest`` at it; keep the last 3."""
    root = Path(out_dir) / "checkpoints"
    folder = root / f"step_{state.step:07d}"
    tmp = root / f".{folder.name}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    save_model(model, tmp / "model.safetensors")
    torch.save(state.to_dict(), tmp / "train_state.pt")
    save_config(config, tmp / "train_config.json")
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    with atomic_path(root / "latest") as pointer:
        pointer.write_text(folder.name + "\n", encoding="utf-8")
    for old in sorted(root.glob("step_*"))[:-_KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def latest_checkpoint(path: str | Path) -> Path:
    """The checkpoint folder for ``path``: a run dir, its ``checkpoints/`` or a step folder."""
    path = Path(path)
    for root in (path / "checkpoints", path):
        pointer = root / "latest"
        if pointer.is_file():
            return root / pointer.read_text(encoding="utf-8").strip()
    if (path / "train_state.pt").is_file():
        return path
    raise InputError(f"no training checkpoint found in {path} (expected checkpoints/latest)")


def recent_checkpoints(path: str | Path, count: int) -> list[Path]:
    """The last ``count`` step folders of a run (oldest first), ending at its latest one."""
    latest = latest_checkpoint(path)
    steps = sorted(p for p in latest.parent.glob("step_*") if p.name <= latest.name)
    if count < 1 or count > len(steps):
        raise InputError(f"cannot average {count} checkpoints: {latest.parent} keeps {len(steps)}")
    return steps[-count:]


def average_weights(folders: list[Path]) -> SegAnyPET:
    """Uniform average of the float weights of checkpoints of one run (SWA over its tail).

    Averaging late checkpoints of a small-batch run cancels part of the step-to-step noise of
    the last iterates; integer buffers are taken from the newest checkpoint.
    """
    models = [load_model(folder / "model.safetensors") for folder in folders]
    merged = models[-1]
    states = [m.state_dict() for m in models]
    averaged = {}
    for name, value in states[-1].items():
        if value.is_floating_point():
            averaged[name] = torch.stack([s[name].float() for s in states]).mean(0).to(value.dtype)
        else:
            averaged[name] = value
    merged.load_state_dict(averaged)
    return merged


def load_checkpoint(path: str | Path) -> tuple[SegAnyPET, TrainState, TrainConfig]:
    """Model (eval mode, CPU), training state and config of a checkpoint folder or run dir."""
    folder = latest_checkpoint(path)
    model = load_model(folder / "model.safetensors")
    state_file = folder / "train_state.pt"
    try:
        raw = torch.load(state_file, map_location="cpu", weights_only=True)
        state = TrainState(step=int(raw["step"]), optimizer=raw["optimizer"],
                           scheduler=raw["scheduler"], scaler=raw["scaler"],
                           torch_rng=raw["torch_rng"], elapsed_s=float(raw.get("elapsed_s", 0.0)))
    except (pickle.UnpicklingError, RuntimeError, EOFError, KeyError, TypeError,
            ValueError, AttributeError) as err:
        # One line, and never torch's advice to retry with weights_only=False: a state
        # file holding other objects may be hostile.
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        reason = next((line for line in lines if "global" in line.lower()), lines[-1] if lines
                      else type(err).__name__)
        raise InputError(f"cannot resume from {state_file}: not a plain training state "
                         f"({reason.split('. Please')[0]})") from None
    return model, state, load_config(folder / "train_config.json")
