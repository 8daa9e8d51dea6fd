"""User prompts from the command line and from JSON files.

Two JSON layouts are accepted:

* autoPET IV interactive track: ``{"tumor": [[i, j, k], ...], "background": [[i, j, k], ...]}``
  with voxel indices in nibabel (i, j, k) order; all tumour clicks form one object and clicks
  are interleaved as in the challenge (tumour 1, background 1, tumour 2, ...).
* seganypet: ``{"objects": [{"name": "liver", "points": [[i, j, k], ...],
  "negative": [[...]], "space": "voxel" | "world"}]}`` (world = RAS mm); an object may also
  hold ``boxes``, ``scribbles`` and ``lassos`` (:mod:`seganypet.shape_files`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

from seganypet.click import Click
from seganypet.errors import InputError
from seganypet.json_input import read_json_file
from seganypet.shape import Shape
from seganypet.shape_files import shapes_of_entry

__all__ = ["MAX_CLICKS", "ObjectPrompts", "check_click_count", "parse_triplet",
           "read_prompt_file"]


@dataclass
class ObjectPrompts:
    """The clicks of one object, in the order they are applied (voxel-index or world clicks),
    and its drawn shapes (order of application:
    :func:`seganypet.session.prompting.apply_prompts`)."""

    name: str
    clicks: list[Click] = field(default_factory=list)
    shapes: list[Shape] = field(default_factory=list)


def parse_triplet(text: str) -> tuple[float, float, float]:
    """``"12,40,7"`` (or spaces) -> ``(12.0, 40.0, 7.0)``; InputError otherwise."""
    parts = text.replace(",", " ").split()
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise InputError(f"a point needs three numbers like 120,96,301 — got {text!r}")
    return values  # type: ignore[return-value]


# A person clicks a few times per object (autoPET IV allows 10 + 10). Every click costs a
# model decode (~0.1-1 s) and an undo step of what it changed (the mask's bit-packed box and
# the re-decoded patches' logits, seganypet.session.state; 200 clicks on a 96^3 scan keep
# < 10 % of one full mask per click), so 1000 clicks bound a file's run time to minutes.
MAX_CLICKS = 1000
# Far above any real prompt file (1000 clicks are ~50 kB); bounds parse time and nesting.
MAX_PROMPT_FILE_BYTES = 1_000_000
_OBJECT_KEYS = frozenset({"name", "points", "negative", "space", "boxes", "scribbles", "lassos"})
_AUTOPET_KEYS = frozenset({"tumor", "background"})


def _is_number(value: Any) -> bool:
    # JSON true/false arrive as bool, a subclass of int: a click at "true" is a mistake.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _triplets(items: Any, where: str) -> list[tuple[float, float, float]]:
    if not isinstance(items, list):
        raise InputError(f"{where} must be a list of [i, j, k] points")
    if len(items) > MAX_CLICKS:
        raise InputError(f"{where} holds {len(items)} points; at most {MAX_CLICKS} clicks are "
                         "accepted")
    out = []
    for item in items:
        if not (isinstance(item, list) and len(item) == 3 and all(_is_number(v) for v in item)):
            shown = json.dumps(item)[:60]
            raise InputError(f"{where} holds {shown}; every point must be three finite numbers")
        out.append(tuple(float(v) for v in item))
    return out  # type: ignore[return-value]


def _check_keys(data: dict[str, Any], known: frozenset[str], where: str) -> None:
    """Unknown keys are errors: a typo ("negatives") would silently drop clicks."""
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"{where} has unknown key(s) {unknown}; allowed: {sorted(known)}")


def _autopet(data: dict[str, Any]) -> list[ObjectPrompts]:
    _check_keys(data, _AUTOPET_KEYS, "the autoPET prompt file")
    tumour = _triplets(data.get("tumor", []), "'tumor'")
    background = _triplets(data.get("background", []), "'background'")
    clicks: list[Click] = []
    for pos, neg in zip_longest(tumour, background):
        if pos is not None:
            clicks.append(Click(pos, True))
        if neg is not None:
            clicks.append(Click(neg, False))
    return [ObjectPrompts("tumor", clicks)]


def _objects(data: dict[str, Any]) -> list[ObjectPrompts]:
    _check_keys(data, frozenset({"objects"}), "the prompt file")
    if not isinstance(data["objects"], list):
        raise InputError("'objects' must be a list of {\"name\": ..., \"points\": [...]} entries")
    objects = []
    for n, entry in enumerate(data["objects"], start=1):
        if not isinstance(entry, dict):
            raise InputError(f"objects[{n - 1}] must be a JSON object")
        _check_keys(entry, _OBJECT_KEYS, f"objects[{n - 1}]")
        if not isinstance(entry.get("name", ""), str):
            raise InputError(f"objects[{n - 1}].name must be a string")
        space = entry.get("space", "voxel")
        if space not in ("voxel", "world"):
            raise InputError(f"objects[{n - 1}].space must be 'voxel' or 'world', got {space!r}")
        make = Click.at_world if space == "world" else Click
        clicks = [make(p, True) for p in _triplets(entry.get("points", []), "points")]
        clicks += [make(p, False) for p in _triplets(entry.get("negative", []), "negative")]
        shapes = shapes_of_entry(entry, f"objects[{n - 1}]")
        objects.append(ObjectPrompts(str(entry.get("name", f"object_{n}")), clicks, shapes))
    return objects


def read_prompt_file(path: str | os.PathLike[str]) -> list[ObjectPrompts]:
    """Read clicks from a JSON file (either layout of the module docstring)."""
    path = Path(path)
    data = read_json_file(path, "prompt file", MAX_PROMPT_FILE_BYTES)
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
        if not any(c.positive for c in obj.clicks) and not any(s.positive for s in obj.shapes):
            raise InputError(f"{path}: object {obj.name!r} has no positive click or shape")
    check_click_count(sum(len(obj.clicks) for obj in objects), str(path))
    return objects


def check_click_count(count: int, source: str) -> None:
    """Refuse more than ``MAX_CLICKS`` clicks in total (file and command line together)."""
    if count > MAX_CLICKS:
        raise InputError(f"{source}: {count} clicks; at most {MAX_CLICKS} are accepted (each click "
                         "runs the model and keeps an undo step)")
