"""A 4-case cohort of coarse phantoms with click files, and helpers to compare output trees."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seganypet.data.organs import ORGAN_IDS
from seganypet.data.phantom import PhantomConfig, generate_case, write_case
from seganypet.quantify.percist import deepest_voxel

ORGANS = ("liver", "kidney_left")


def _clicks(case) -> dict:
    objects = []
    for organ in ORGANS:
        index, _ = deepest_voxel(case.suv, case.label.array == ORGAN_IDS[organ])
        objects.append({"name": organ, "points": [list(map(int, index))]})
    return {"objects": objects}


@pytest.fixture(scope="session")
def cohort(tmp_path_factory) -> Path:
    """``manifest.jsonl`` of 4 phantoms (8 mm voxels), each with a click JSON on two organs."""
    folder = tmp_path_factory.mktemp("cohort")
    lines = []
    for n in range(4):
        case = generate_case(np.random.default_rng(300 + n), PhantomConfig(small=True, n_lesions=1))
        paths = write_case(case, folder, f"case{n}")
        (folder / f"case{n}_clicks.json").write_text(json.dumps(_clicks(case)))
        lines.append({"case_id": f"case{n}", "image": paths["image"].name,
                      "prompts": f"case{n}_clicks.json"})
    manifest = folder / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return manifest


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes)."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def single_run(cohort, tmp_path_factory) -> Path:
    """The reference: the whole cohort in one process."""
    from seganypet.cli import main

    out = tmp_path_factory.mktemp("runs") / "single"
    assert main(["batch", "--manifest", str(cohort), "-o", str(out), "--task", "prompts",
                 "--no-progress"]) == 0
    return out
