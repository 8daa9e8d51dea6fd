"""Command-line flags generated from :class:`TrainConfig`: one ``--field-name`` per field.

A flag overrides the value of the config file; parsing follows the field's annotation
(``bool``: true/false/1/0/yes/no; tuples: comma-separated; ``| None``: ``none``). Generating
the flags from the dataclass keeps the CLI and the config from drifting apart.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from seganypet.errors import InputError
from seganypet.train.config import TrainConfig

__all__ = ["add_config_flags", "apply_flags", "parse_value"]

_SKIP = {"extra"}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def parse_value(text: str, annotation: str) -> Any:
    """Parse ``text`` for a field annotated ``annotation`` (a string, as under PEP 563)."""
    if "None" in annotation and text.strip().lower() in ("none", "null", ""):
        return None
    base = annotation.replace(" | None", "").strip()
    if base.startswith("tuple["):
        item = base[len("tuple["):].split(",")[0].split("]")[0].strip()
        return tuple(parse_value(part.strip(), item) for part in text.split(",") if part.strip())
    try:
        if base == "bool":
            lowered = text.strip().lower()
            if lowered not in _TRUE | _FALSE:
                raise ValueError(text)
            return lowered in _TRUE
        if base == "int":
            return int(text)
        if base == "float":
            return float(text)
    except ValueError:
        raise InputError(f"cannot read {text!r} as {base}") from None
    return text


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """Add one optional flag per :class:`TrainConfig` field (default: keep the file's value)."""
    group = parser.add_argument_group("training options (override the config file)")
    for f in dataclasses.fields(TrainConfig):
        if f.name in _SKIP or f.name == "init":
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        group.add_argument(_flag(f.name), dest=f"cfg_{f.name}", metavar=str(f.type).upper()
                           .replace(" ", ""), default=None,
                           help=f"(default {default!r})")


def apply_flags(config: TrainConfig, args: argparse.Namespace) -> TrainConfig:
    """``config`` with every flag given on the command line applied."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(TrainConfig):
        text = getattr(args, f"cfg_{f.name}", None)
        if text is not None:
            try:
                changes[f.name] = parse_value(text, str(f.type))
            except InputError as exc:
                raise InputError(f"{_flag(f.name)}: {exc}") from None
    return dataclasses.replace(config, **changes) if changes else config
