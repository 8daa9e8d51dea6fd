"""Load and save model weights: official SAM-Med3D/SegAnyPET ``.pth``, bare state dicts, and our
own safetensors + JSON config. Nothing here downloads anything.

Official checkpoints are pickles holding an ``argparse.Namespace`` (the training arguments).
They are read with ``torch.load(weights_only=True)`` plus an explicit allow-list, so any other
pickled callable (``os.system``...) is refused instead of executed.
"""

from __future__ import annotations

import argparse
import json
import logging
import pickle
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from seganypet.atomic import atomic_path
from seganypet.errors import InputError
from seganypet.model.build import build_model
from seganypet.model.config import PRESETS, ModelConfig
from seganypet.model.sam import SegAnyPET

__all__ = ["WEIGHTS_DIR", "adopt_weights", "infer_config", "load_model", "load_state_dict_file",
           "save_model"]

logger = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"

# Globals an official checkpoint may contain besides tensors and builtins: the argparse
# Namespace of the training args, and numpy scalars (losses/dices logged as np.float64).
# numpy 1 pickles name the scalar constructor numpy.core..., numpy 2 numpy._core...
_NUMPY_SCALAR = np._core.multiarray.scalar if hasattr(np, "_core") else np.core.multiarray.scalar
_SAFE_GLOBALS: list = [
    argparse.Namespace,
    np.dtype,
    (_NUMPY_SCALAR, "numpy.core.multiarray.scalar"),
    (_NUMPY_SCALAR, "numpy._core.multiarray.scalar"),
    *(type(np.dtype(t)) for t in (np.float64, np.float32, np.int64, np.int32, np.bool_)),
]
_STATE_KEYS = ("model_state_dict", "state_dict", "model")


def _torch_load(path: Path) -> object:
    """``torch.load`` restricted to tensors, containers and the allow-list above."""
    try:
        with torch.serialization.safe_globals(_SAFE_GLOBALS):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        reason = _unpickling_reason(str(err))
        if "GLOBAL" in reason or "global" in reason:
            raise InputError(
                f"refusing to load {path}: it contains pickled objects that are not plain "
                f"weights ({reason}); only tensors, argparse.Namespace and numpy scalars are "
                f"allowed. Re-save the weights as a state dict from a trusted environment"
            ) from None
        raise InputError(f"cannot read {path} as a PyTorch checkpoint ({reason})") from None
    except (RuntimeError, EOFError, OSError) as err:
        raise InputError(f"cannot read {path} as a PyTorch checkpoint: {err}") from None


def _unpickling_reason(message: str) -> str:
    """The informative line of torch's weights-only error (it wraps it in generic advice)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if "GLOBAL" in line or "Unsupported" in line or "global" in line.lower():
            return line
    return lines[-1] if lines else "unreadable pickle"


def _extract_state_dict(obj: object, path: Path) -> dict[str, torch.Tensor]:
    """The weights inside an official/lightning/bare checkpoint, ``module.`` prefixes removed."""
    if isinstance(obj, Mapping):
        for key in _STATE_KEYS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj or not all(
        isinstance(v, torch.Tensor) for v in obj.values()
    ):
        raise InputError(
            f"{path} holds no model weights: expected a state dict or a dict with "
            f"'model_state_dict' (official SAM-Med3D/SegAnyPET format)"
        )
    return {_strip_prefix(k): v for k, v in obj.items()}


def _strip_prefix(key: str) -> str:
    """Drop DDP's ``module.`` (possibly repeated) from a key."""
    while key.startswith("module."):
        key = key[len("module."):]
    return key


def load_state_dict_file(path: Path) -> tuple[dict[str, torch.Tensor], ModelConfig | None]:
    """Read weights (and our config, if the file carries one) from any supported format.

    Torch files may hold ``model_config`` (``ModelConfig.to_dict()``) beside the weights.
    """
    if path.suffix == ".safetensors":
        try:
            state = load_file(path, device="cpu")
        except (SafetensorError, OSError) as err:
            raise InputError(f"cannot read {path} as safetensors: {err}") from None
        return {_strip_prefix(k): v for k, v in state.items()}, _read_config_json(path)
    obj = _torch_load(path)
    # Our training checkpoints (.pth with optimiser state) carry the config as a plain dict.
    config_dict = obj.get("model_config") if isinstance(obj, Mapping) else None
    config = ModelConfig.from_dict(dict(config_dict)) if isinstance(config_dict, Mapping) else None
    return _extract_state_dict(obj, path), config


def _read_config_json(weights: Path) -> ModelConfig | None:
    """Config from the ``.json`` beside the weights, else from the safetensors metadata
    (``save_model`` writes both), else None (then it is inferred from the keys)."""
    sidecar = weights.with_suffix(".json")
    if sidecar.is_file():
        text, source = sidecar.read_text(), str(sidecar)
    else:
        with safe_open(str(weights), framework="pt") as handle:
            text = (handle.metadata() or {}).get("seganypet_config")
        source = f"{weights} metadata"
        if text is None:
            return None
    try:
        return ModelConfig.from_dict(json.loads(text))
    except (json.JSONDecodeError, TypeError) as err:
        raise InputError(f"{source} is not a valid model config JSON: {err}") from None


def _expected_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        model = SegAnyPET(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _mismatch(state: Mapping[str, torch.Tensor], config: ModelConfig) -> tuple[list, list, list]:
    """(missing keys, unexpected keys, keys with a wrong shape) of ``state`` against ``config``."""
    expected = _expected_shapes(config)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if tuple(state[k].shape) != expected[k])
    return missing, unexpected, wrong


def _describe(names: list[str], what: str) -> str:
    shown = ", ".join(names[:5]) + (f" (+{len(names) - 5} more)" if len(names) > 5 else "")
    return f"{len(names)} {what}: {shown}"


def _check_matches(state: Mapping[str, torch.Tensor], config: ModelConfig, source: str) -> None:
    missing, unexpected, wrong = _mismatch(state, config)
    if missing or unexpected or wrong:
        parts = [_describe(n, w) for n, w in
                 ((missing, "missing keys"), (unexpected, "unexpected keys"), (wrong, "wrong shapes"))
                 if n]
        raise InputError(
            f"{source} does not match model {config.name!r}: " + "; ".join(parts)
            + ". Is this a complete SAM-Med3D/SegAnyPET checkpoint of that architecture?"
        )


def infer_config(state: Mapping[str, torch.Tensor], source: str = "checkpoint") -> ModelConfig:
    """The preset whose keys and shapes equal ``state`` exactly; otherwise an InputError that
    names the missing/unexpected keys against the closest preset."""
    scored = []
    for config in PRESETS.values():
        missing, unexpected, wrong = _mismatch(state, config)
        if not (missing or unexpected or wrong):
            return config
        scored.append((len(missing) + len(unexpected) + len(wrong), config))
    closest = min(scored, key=lambda item: item[0])[1]
    _check_matches(state, closest, source)
    raise AssertionError("unreachable")  # _check_matches raised


def model_from_state_dict(
    state: Mapping[str, torch.Tensor], config: ModelConfig | None, source: str
) -> SegAnyPET:
    """Build the model for ``config`` (inferred when None) and load ``state`` strictly."""
    config = config or infer_config(state, source)
    _check_matches(state, config, source)
    # Build on the meta device and adopt the loaded tensors: skips a random initialisation
    # of up to 100 M parameters that would be overwritten anyway. Weights become fp32
    # (checkpoints may be stored in half precision). Each tensor gets its own allocation:
    # views into a safetensors buffer can sit at unaligned offsets (after an odd-sized tensor),
    # where SIMD kernels take other paths and round differently, which broke bit-exact resume.
    weights = {k: v.to(torch.float32, copy=True) if v.is_floating_point() else v.clone()
               for k, v in state.items()}
    with torch.device("meta"):
        model = SegAnyPET(config)
    model.load_state_dict(weights, strict=True, assign=True)
    return model.eval()


def _load_named(name: str) -> SegAnyPET:
    """A shipped model (``weights/<name>.safetensors``) or a randomly initialised preset."""
    shipped = WEIGHTS_DIR / f"{name}.safetensors"
    if shipped.is_file():
        state, config = load_state_dict_file(shipped)
        model = model_from_state_dict(state, config, str(shipped))
        model.weights_path = shipped
        return model
    if name == "default":
        raise InputError(
            "no default model is installed yet (src/seganypet/weights/default.safetensors is "
            "missing); pass the path of a checkpoint file instead"
        )
    if name in PRESETS:
        logger.warning("preset %r has no shipped weights: the model is randomly initialised", name)
        return build_model(name)
    raise InputError(
        f"{name!r} is neither a model file nor a known model; use a checkpoint path, 'default', "
        f"or a preset: {sorted(PRESETS)}"
    )


def load_model(name_or_path: str | Path, device: str | torch.device = "cpu") -> SegAnyPET:
    """Load a model in eval mode.

    ``name_or_path``: ``"default"`` (the shipped weights), a preset name (random weights), an
    official SAM-Med3D/SegAnyPET ``.pth`` (dict with ``model_state_dict``), a bare state dict
    (``module.`` prefixes allowed), or our ``.safetensors`` with its ``.json`` config beside it.
    The architecture of files without a config is inferred from their keys and shapes.
    """
    path = Path(name_or_path)
    if path.is_file():
        state, config = load_state_dict_file(path)
        model = model_from_state_dict(state, config, str(path))
        model.weights_path = path.resolve()
    elif isinstance(name_or_path, str) and "/" not in name_or_path and not path.suffix:
        model = _load_named(name_or_path)
    else:
        raise InputError(f"model file {path} does not exist")
    return model.to(device)


def save_model(model: SegAnyPET, path: str | Path) -> tuple[Path, Path]:
    """Write ``path`` (``.safetensors`` weights) and the JSON config beside it, atomically.

    Returns the two paths written. Existing files are replaced only once complete.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise InputError(f"model files are written as .safetensors, got {path.name}")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    config_text = json.dumps(model.config.to_dict(), indent=2) + "\n"
    sidecar = path.with_suffix(".json")
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"seganypet_config": config_text})
    with atomic_path(sidecar) as tmp:
        tmp.write_text(config_text)
    return path, sidecar


def adopt_weights(model: SegAnyPET, config: ModelConfig) -> tuple[SegAnyPET, list[str]]:
    """A model of ``config`` holding every weight of ``model``, for fine-tuning a checkpoint
    into a newer layout of the same preset: modules that ``config`` adds (a new head) keep
    their fresh initialisation. Returns the model and the names of those new weights.

    Raises:
        InputError: if a weight of ``model`` has no place (or another shape) in ``config``.
    """
    target = SegAnyPET(config)
    try:
        missing, unexpected = target.load_state_dict(model.state_dict(), strict=False)
    except RuntimeError as exc:  # shape mismatches
        raise InputError(f"the weights do not fit the {config.name!r} layout: {exc}") from None
    if unexpected:
        raise InputError(f"the {config.name!r} layout has no place for {sorted(unexpected)[:5]}")
    return target.eval(), sorted(missing)
