"""Boxes, scribbles and lassos from the command line and from JSON files.

Layouts accepted (all coordinates are voxel indices ``(i, j, k)`` in nibabel order unless
``"space": "world"``, RAS mm):

* seganypet: ``{"boxes": [{"lo": [i, j, k], "hi": [i, j, k], "positive": true}],
  "scribbles": [{"points": [[i, j, k], ...], "positive": true}],
  "lassos": [{"points": [[i, j, k], ...], "positive": false}]}`` (every key optional,
  ``positive`` defaults to true, each entry may say ``"space": "world"``). The same keys may
  appear in the objects of a ``--prompts`` file (:mod:`seganypet.prompts`).
* one shape: ``[[i, j, k], ...]`` or ``{"points": [...], "positive": ..., "space": ...}``,
  of the kind the option names (``--scribble`` or ``--lasso``).
* autoPET V scribbles, as its interactive loop writes them: ``{"tumor": [[x, y, z], ...],
  "background": [[x, y, z], ...]}`` or the Grand Challenge form ``{"type": "Multiple points",
  "points": [{"point": [x, y, z], "name": "tumor" | "background"}, ...]}``. Each list holds
  the *voxels* of the accumulated strokes (``np.argwhere`` indices of the label array, not
  polylines), so voxels are grouped into strokes by 26-adjacency and every stroke becomes one
  scribble of voxels (``joined=False``), tumour positive, background negative. Tumour strokes
  come first. (In autoPET IV the same two keys hold *clicks*: ``--prompts`` keeps reading them
  as clicks; ``--scribble`` reads them as stroke voxels.)
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from seganypet.errors import InputError
from seganypet.json_input import read_json_file
from seganypet.shape import MAX_SHAPE_POINTS, Shape

__all__ = ["MAX_SHAPES", "parse_box", "read_shape_file", "shapes_of_entry"]

# A person draws a handful of shapes per object; each costs one or two decoder calls.
MAX_SHAPES = 100
# autoPET V files list every stroke voxel; a few MB is far above five accumulated strokes.
MAX_SHAPE_FILE_BYTES = 5_000_000
_KINDS = {"boxes": "box", "scribbles": "scribble", "lassos": "lasso"}
_SHAPE_KEYS = frozenset({"points", "positive", "space"})
_BOX_KEYS = frozenset({"lo", "hi", "positive", "space"})


def _is_number(value: Any) -> bool:
    # JSON true/false arrive as bool, a subclass of int: a coordinate "true" is a mistake.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _point(item: Any, where: str) -> tuple[float, float, float]:
    if not (isinstance(item, list) and len(item) == 3 and all(_is_number(v) for v in item)):
        raise InputError(f"{where} holds {json.dumps(item)[:60]}; every point must be three "
                         "finite numbers [i, j, k]")
    return tuple(float(v) for v in item)  # type: ignore[return-value]


def _points(items: Any, where: str) -> list[tuple[float, float, float]]:
    if not isinstance(items, list):
        raise InputError(f"{where} must be a list of [i, j, k] points")
    if len(items) > MAX_SHAPE_POINTS:
        raise InputError(f"{where} holds {len(items)} points; at most {MAX_SHAPE_POINTS}")
    return [_point(item, where) for item in items]


def _flags(entry: dict[str, Any], where: str) -> tuple[bool, bool]:
    positive = entry.get("positive", True)
    if not isinstance(positive, bool):
        raise InputError(f"{where}.positive must be true or false, got {positive!r}")
    space = entry.get("space", "voxel")
    if space not in ("voxel", "world"):
        raise InputError(f"{where}.space must be 'voxel' or 'world', got {space!r}")
    return positive, space == "world"


def _check_keys(entry: Any, known: frozenset[str], where: str) -> None:
    if not isinstance(entry, dict):
        raise InputError(f"{where} must be a JSON object")
    unknown = sorted(set(entry) - known)
    if unknown:  # a typo ("positve") would silently flip a shape's sign
        raise InputError(f"{where} has unknown key(s) {unknown}; allowed: {sorted(known)}")


def _shape(entry: Any, kind: str, where: str) -> Shape:
    if kind == "box":
        _check_keys(entry, _BOX_KEYS, where)
        if "lo" not in entry or "hi" not in entry:
            raise InputError(f"{where} needs 'lo' and 'hi' corners")
        positive, world = _flags(entry, where)
        return Shape.box(_point(entry["lo"], f"{where}.lo"), _point(entry["hi"], f"{where}.hi"),
                         positive, world)
    _check_keys(entry, _SHAPE_KEYS, where)
    positive, world = _flags(entry, where)
    points = _points(entry.get("points", []), f"{where}.points")
    return Shape(kind, points, positive, world)  # type: ignore[arg-type]


def shapes_of_entry(entry: dict[str, Any], where: str) -> list[Shape]:
    """The shapes under ``boxes`` / ``scribbles`` / ``lassos`` of one JSON object, in that
    order (boxes first: a box is the natural first prompt of an object)."""
    shapes: list[Shape] = []
    for key, kind in _KINDS.items():
        entries = entry.get(key, [])
        if not isinstance(entries, list):
            raise InputError(f"{where}.{key} must be a list")
        shapes += [_shape(e, kind, f"{where}.{key}[{n}]") for n, e in enumerate(entries)]
    return shapes


def _strokes(voxels: list[tuple[float, float, float]], positive: bool) -> list[Shape]:
    """Voxel lists -> one voxel scribble per 26-connected group."""
    if not voxels:
        return []
    array = np.rint(np.asarray(voxels))
    pairs = cKDTree(array).query_pairs(r=math.sqrt(3) + 1e-6, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])),
                       shape=(len(array), len(array)))
    count, label = connected_components(graph, directed=False)
    return [Shape.scribble(array[label == n], positive, joined=False) for n in range(count)]


def _autopet_v(data: dict[str, Any], where: str) -> list[Shape]:
    if data.get("type") == "Multiple points":
        _check_keys(data, frozenset({"type", "points", "version", "name"}), where)
        if not isinstance(data.get("points"), list):
            raise InputError(f"{where}: 'points' must be a list of {{\"point\", \"name\"}} entries")
        split: dict[str, list] = {"tumor": [], "background": []}
        for n, item in enumerate(data["points"]):
            name = item.get("name") if isinstance(item, dict) else None
            if name not in split:
                raise InputError(f"{where}: points[{n}].name must be 'tumor' or 'background'")
            split[name].append(_point(item.get("point"), f"{where}: points[{n}].point"))
        tumour, background = split["tumor"], split["background"]
    else:
        _check_keys(data, frozenset({"tumor", "background"}), where)
        tumour = _points(data.get("tumor", []), f"{where}: 'tumor'")
        background = _points(data.get("background", []), f"{where}: 'background'")
    return _strokes(tumour, True) + _strokes(background, False)


def read_shape_file(path: str | os.PathLike[str], kind: str) -> list[Shape]:
    """Shapes from a JSON file (module docstring); a bare point list is one ``kind`` shape."""
    path = Path(path)
    data = read_json_file(path, "shape file", MAX_SHAPE_FILE_BYTES)
    where = str(path)
    if isinstance(data, list):
        shapes = [Shape(kind, _points(data, where))]  # type: ignore[arg-type]
    elif not isinstance(data, dict):
        raise InputError(f"{where}: expected a JSON object or a list of [i, j, k] points")
    elif "points" in data and data.get("type") != "Multiple points":
        shapes = [_shape(data, kind, where)]
    elif set(data) & set(_KINDS):
        _check_keys(data, frozenset(_KINDS), where)
        shapes = shapes_of_entry(data, where)
    elif kind == "scribble" and ({"tumor", "background"} & set(data) or "type" in data):
        shapes = _autopet_v(data, where)
    else:
        raise InputError(f"{where}: expected 'points', 'boxes'/'scribbles'/'lassos'"
                         + (" or autoPET V 'tumor'/'background'" if kind == "scribble" else ""))
    if not shapes:
        raise InputError(f"{where} holds no shape")
    if len(shapes) > MAX_SHAPES:
        raise InputError(f"{where} holds {len(shapes)} shapes; at most {MAX_SHAPES}")
    return shapes


def parse_box(text: str, world: bool = False) -> Shape:
    """``"i0,j0,k0,i1,j1,k1"`` (or spaces) -> a positive box (voxel indices, or RAS mm corners
    when ``world``); InputError otherwise."""
    parts = text.replace(",", " ").split()
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 6 or not all(math.isfinite(v) for v in values):
        raise InputError(f"a box needs six numbers i0,j0,k0,i1,j1,k1 — got {text!r}")
    return Shape.box(values[:3], values[3:], world=world)
