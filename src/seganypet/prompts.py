"""User prompts from the command line and from JSON files.

Two JSON layouts are accepted:

* autoPET IV interactive track: ``{"tumor": [[i, j, k], ...], "background": [[i, j, k], ...]}``
  with voxel indices in nibabel (i, j, k) order; all tumour clicks form one object and clicks
  are interleaved as in the challenge (tumour 1, background 1, tumour 2, ...).
* seganypet: ``{"objects": [{"name": "liver", "points": [[i, j, k], ...],
  "negative": [[...]], "space": "voxel" | "world"}]}`` (world = RAS mm).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

from seganypet.errors import InputError

__all__ = ["ObjectPrompts", "PromptClick", "parse_triplet", "read_prompt_file"]


@dataclass(frozen=True)
class PromptClick:
    """One click: three coordinates (voxel indices or RAS mm) and its sign."""

    coords: tuple[float, float, float]
    positive: bool = True


@dataclass
class ObjectPrompts:
    """The clicks of one object, in the order they are applied."""

    name: str
    clicks: list[PromptClick] = field(default_factory=list)
    world: bool = False


def parse_triplet(text: str) -> tuple[float, float, float]:
    """``"12,40,7"`` (or spaces) -> ``(12.0, 40.0, 7.0)``; InputError otherwise."""
    parts = text.replace(",", " ").split()
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3:
        raise InputError(f"a point needs three numbers like 120,96,301 — got {text!r}")
    return values  # type: ignore[return-value]


def _triplets(items: Any, where: str) -> list[tuple[float, float, float]]:
    if not isinstance(items, list):
        raise InputError(f"{where} must be a list of [i, j, k] points")
    out = []
    for item in items:
        if not (isinstance(item, (list, tuple)) and len(item) == 3
                and all(isinstance(v, (int, float)) for v in item)):
            raise InputError(f"{where} holds {item!r}; every point must be three numbers")
        out.append(tuple(float(v) for v in item))
    return out  # type: ignore[return-value]


def _autopet(data: dict[str, Any]) -> list[ObjectPrompts]:
    tumour = _triplets(data.get("tumor", []), "'tumor'")
    background = _triplets(data.get("background", []), "'background'")
    clicks: list[PromptClick] = []
    for pos, neg in zip_longest(tumour, background):
        if pos is not None:
            clicks.append(PromptClick(pos, True))
        if neg is not None:
            clicks.append(PromptClick(neg, False))
    return [ObjectPrompts("tumor", clicks)]


def _objects(data: dict[str, Any]) -> list[ObjectPrompts]:
    objects = []
    for n, entry in enumerate(data["objects"], start=1):
        if not isinstance(entry, dict):
            raise InputError(f"objects[{n - 1}] must be a JSON object")
        space = entry.get("space", "voxel")
        if space not in ("voxel", "world"):
            raise InputError(f"objects[{n - 1}].space must be 'voxel' or 'world', got {space!r}")
        clicks = [PromptClick(p, True) for p in _triplets(entry.get("points", []), "points")]
        clicks += [PromptClick(p, False) for p in _triplets(entry.get("negative", []), "negative")]
        objects.append(ObjectPrompts(str(entry.get("name", f"object_{n}")), clicks, space == "world"))
    return objects


def read_prompt_file(path: str | os.PathLike[str]) -> list[ObjectPrompts]:
    """Read clicks from a JSON file (either layout of the module docstring)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"prompt file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object with 'objects' or 'tumor'/'background'")
    if "objects" in data:
        objects = _objects(data)
    elif "tumor" in data or "background" in data:
        objects = _autopet(data)
    else:
        raise InputError(f"{path}: expected the keys 'objects' (seganypet) or 'tumor'/'background' "
                         "(autoPET IV)")
    for obj in objects:
        if not any(c.positive for c in obj.clicks):
            raise InputError(f"{path}: object {obj.name!r} has no positive click")
    return objects
