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
              "seganypet.server", "seganypet.data"),
    "io": ("seganypet.model", "seganypet.session", "seganypet.train", "seganypet.cli"),
    "quantify": ("seganypet.model", "seganypet.session", "seganypet.train", "seganypet.cli"),
    "session": ("seganypet.train", "seganypet.cli", "seganypet.evaluation"),
    "data": ("seganypet.session", "seganypet.train", "seganypet.cli", "seganypet.model"),
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


def test_import_is_light() -> None:
    code = "import sys, seganypet; print('torch' in sys.modules, 'argparse' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
