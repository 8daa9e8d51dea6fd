"""Package structure rules: data flows io -> preprocess -> model -> session -> cli, and
importing the package does no work (no argparse, no torch) until a name is used."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "seganypet"

# package -> packages it must never import (directly, at any nesting level)
FORBIDDEN = {
    "model": ("seganypet.session", "seganypet.train", "seganypet.cli", "seganypet.evaluation",
              "seganypet.server", "seganypet.data", "seganypet.io", "seganypet.baseline"),
    "io": ("seganypet.model", "seganypet.session", "seganypet.train", "seganypet.cli"),
    "quantify": ("seganypet.model", "seganypet.session", "seganypet.train", "seganypet.cli",
                 "seganypet.data"),
    "session": ("seganypet.train", "seganypet.cli", "seganypet.evaluation", "seganypet.clicks",
                "seganypet.baseline", "seganypet.server"),
    "data": ("seganypet.session", "seganypet.train", "seganypet.cli", "seganypet.model"),
    "evaluation": ("seganypet.train", "seganypet.cli", "seganypet.server"),
    "baseline": ("seganypet.session", "seganypet.cli", "seganypet.evaluation", "seganypet.server"),
    "train": ("seganypet.cli", "seganypet.evaluation", "seganypet.server", "seganypet.baseline"),
    "server": ("seganypet.train", "seganypet.cli", "seganypet.evaluation"),
    # the thin client runs in plugins and scripts: no torch, no server stack, no readers
    "client": ("torch", "fastapi", "starlette", "uvicorn", "seganypet.model", "seganypet.session",
               "seganypet.io", "seganypet.quantify", "seganypet.train", "seganypet.cli"),
}

# Top-level modules. The foundation (geometry, clicks, errors, atomic files) imports nothing
# of the package but itself; the pipeline steps never reach up into the layers above them.
FOUNDATION = ("atomic", "click", "errors", "grid", "json_input", "mask_centre", "orientation",
              "shape", "volume")
FOUNDATION_ALLOWED = tuple(f"seganypet.{name}" for name in FOUNDATION)
_UPPER = ("seganypet.session", "seganypet.train", "seganypet.cli", "seganypet.server",
          "seganypet.evaluation", "seganypet.baseline")
TOP_LEVEL_FORBIDDEN = {
    "preprocess": (*_UPPER, "seganypet.model", "seganypet.io", "seganypet.data"),
    "postprocess": (*_UPPER, "seganypet.model", "seganypet.io", "seganypet.data"),
    "clicks": (*_UPPER, "seganypet.model", "seganypet.io", "seganypet.data"),
    "strokes": (*_UPPER, "seganypet.model", "seganypet.io", "seganypet.data"),
    "shape_files": (*_UPPER, "seganypet.model", "seganypet.io", "seganypet.data"),
    "prompts": (*_UPPER, "seganypet.model", "seganypet.io", "seganypet.data"),
    "visualize": (*_UPPER, "seganypet.model", "seganypet.data"),
    "segmentation_outputs": (*_UPPER, "seganypet.model", "seganypet.data"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_direction(package: str) -> None:
    bad = []
    for path in sorted((SRC / package).rglob("*.py")):
        for name in imported_modules(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[package]):
                bad.append(f"{path.relative_to(SRC)} imports {name}")
    assert not bad, "\n".join(bad)


def _violations(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{path.relative_to(SRC)} imports {name}" for name in sorted(imported_modules(path))
            if any(name == bad or name.startswith(bad + ".") for bad in forbidden)]


@pytest.mark.parametrize("module", sorted(TOP_LEVEL_FORBIDDEN))
def test_top_level_module_direction(module: str) -> None:
    bad = _violations(SRC / f"{module}.py", TOP_LEVEL_FORBIDDEN[module])
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("module", FOUNDATION)
def test_foundation_imports_only_the_foundation(module: str) -> None:
    names = {n for n in imported_modules(SRC / f"{module}.py") if n.startswith("seganypet")}
    assert names <= set(FOUNDATION_ALLOWED), sorted(names - set(FOUNDATION_ALLOWED))


def test_every_top_level_module_has_a_rule() -> None:
    ruled = set(FOUNDATION) | set(TOP_LEVEL_FORBIDDEN) | {"__init__", "__main__"}
    modules = {p.stem for p in SRC.glob("*.py")}
    assert modules <= ruled, f"top-level modules without an import rule: {sorted(modules - ruled)}"


def _module_of(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _reachable(start: str) -> set[str]:
    """Modules of the package reachable from ``start`` through imports (any nesting level)."""
    graph = {_module_of(p): {n for n in imported_modules(p) if n.startswith("seganypet")}
             for p in SRC.rglob("*.py")}
    seen, stack = set(), [m for m in graph if m == start or m.startswith(start + ".")]
    while stack:
        module = stack.pop()
        if module in seen:
            continue
        seen.add(module)
        stack.extend(n for n in graph.get(module, ()) if n in graph)
    return seen


def test_evaluation_never_reaches_training_code() -> None:
    """Not even indirectly: the automatic baseline lives in seganypet.baseline, not train."""
    reached = sorted(m for m in _reachable("seganypet.evaluation") if m.startswith("seganypet.train"))
    assert not reached, reached


def test_import_is_light() -> None:
    code = "import sys, seganypet; print('torch' in sys.modules, 'argparse' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
