"""Training config files: the bundled ones by name, and JSON values checked against the
field types of :class:`TrainConfig` (``"lr_encoder": "fast"`` is refused when read, not as
a traceback minutes into training)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

from seganypet.errors import InputError
from seganypet.train.config import TrainConfig

__all__ = ["CONFIG_DIR", "bundled_config_names", "check_config_types", "read_config_file",
           "resolve_config_path"]

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def bundled_config_names() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def resolve_config_path(name: str) -> Path:
    """A config file path, or the bundled ``train/configs/<name>.json``."""
    path = Path(name)
    if path.is_file():
        return path
    bundled = CONFIG_DIR / f"{name.removesuffix('.json')}.json"
    if bundled.is_file():
        return bundled
    raise InputError(f"training config {name!r} not found; give a JSON file or one of "
                     f"{bundled_config_names()}")


def _matches(value: Any, annotation: str) -> bool:
    """Does a JSON value fit a field annotated ``annotation`` (a PEP 563 string)?"""
    if annotation.endswith(" | None"):
        return value is None or _matches(value, annotation.removesuffix(" | None"))
    if annotation.startswith("tuple["):
        item = annotation[len("tuple["):].split(",")[0].split("]")[0].strip()
        return isinstance(value, (list, tuple)) and all(_matches(v, item) for v in value)
    if annotation.startswith("dict["):
        return isinstance(value, dict)
    if annotation == "bool":
        return isinstance(value, bool)
    if annotation == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation == "float":
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value))
    if annotation == "str":
        return isinstance(value, str)
    return True  # an annotation this check does not know: TrainConfig validates it


def check_config_types(values: dict[str, Any], source: str) -> None:
    """InputError naming the first field whose JSON value has the wrong type."""
    fields = {f.name: str(f.type) for f in dataclasses.fields(TrainConfig)}
    for name, value in values.items():
        annotation = fields.get(name)
        if annotation is not None and not _matches(value, annotation):
            raise InputError(f"{source}: {name!r} is {json.dumps(value)[:40]}, but must be "
                             f"{annotation.replace('tuple[', 'list of [')}")


def read_config_file(name_or_path: str | os.PathLike[str]) -> TrainConfig:
    """A bundled config by name or a JSON file, type-checked, as a TrainConfig."""
    path = resolve_config_path(str(name_or_path))
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(values, dict):
        raise InputError(f"{path} must hold a JSON object of training options")
    values.pop("_comment", None)
    check_config_types(values, str(path))
    return TrainConfig.from_dict(values)
