"""Cohort throughput of ``seganypet batch``: cases per minute with 1 and 2 workers.

Usage::

    python benchmarks/cohort_throughput.py [--cases 4] [--task lesions|prompts] [--voxel-mm 6]

Writes a cohort of whole-body FDG phantoms with a click file each, then runs the batch
three ways on it: one process (1 worker), two processes as two parts (``--num-parts 2``, run
at the same time) and a Ray pool of two actors (if Ray is installed). Each worker uses one
torch thread. Prints wall seconds, cases per minute, and whether the outputs are byte-identical
to the single run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from seganypet.data.organs import ORGAN_IDS
from seganypet.data.phantom import PhantomConfig, generate_case, write_case
from seganypet.quantify.percist import deepest_voxel


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=4)
    parser.add_argument("--task", choices=("lesions", "prompts"), default="lesions")
    parser.add_argument("--voxel-mm", type=float, default=6.0)
    parser.add_argument("--out", type=Path, default=None, help="work folder (default: a temp dir)")
    return parser.parse_args()


def _cohort(folder: Path, cases: int, voxel_mm: float) -> Path:
    lines = []
    for n in range(cases):
        case = generate_case(np.random.default_rng(700 + n), PhantomConfig(
            tracer="fdg", voxel_mm=voxel_mm, whole_body=True))
        paths = write_case(case, folder, f"case{n}")
        index, _ = deepest_voxel(case.suv, case.label.array == ORGAN_IDS["liver"])
        clicks = {"objects": [{"name": "liver", "points": [list(map(int, index))]}]}
        (folder / f"case{n}_clicks.json").write_text(json.dumps(clicks))
        lines.append({"case_id": f"case{n}", "image": paths["image"].name,
                      "prompts": f"case{n}_clicks.json"})
    manifest = folder / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return manifest


def _batch(manifest: Path, out: Path, task: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "seganypet", "batch", "--manifest", str(manifest), "-o",
            str(out), "--task", task, "--threads", "1", "--no-progress", *extra]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def main() -> None:
    args = _parse()
    work = args.out or Path(tempfile.mkdtemp(prefix="cohort_"))
    manifest = _cohort(work / "inputs", args.cases, args.voxel_mm)
    runs = {}
    start = time.perf_counter()
    subprocess.run(_batch(manifest, work / "one", args.task), check=True)
    runs["1 worker (one process)"] = (time.perf_counter() - start, work / "one")
    start = time.perf_counter()
    parts = [subprocess.Popen(_batch(manifest, work / "two", args.task, "--num-parts", "2",
                                     "--part-id", str(k))) for k in (0, 1)]
    for process in parts:
        if process.wait() != 0:
            raise SystemExit("a part failed")
    runs["2 workers (--num-parts 2)"] = (time.perf_counter() - start, work / "two")
    try:
        import ray  # noqa: F401

        start = time.perf_counter()
        subprocess.run(_batch(manifest, work / "ray", args.task, "--engine", "ray",
                              "--workers", "2"), check=True)
        runs["2 workers (Ray actor pool)"] = (time.perf_counter() - start, work / "ray")
    except ImportError:
        print("Ray not installed: skipped")
    reference = _tree(work / "one")
    print(f"{args.cases} cases, task {args.task}, {args.voxel_mm} mm voxels")
    print("| run | wall s | cases/min | identical to 1 worker |")
    print("|---|---|---|---|")
    for name, (seconds, out) in runs.items():
        print(f"| {name} | {seconds:.1f} | {60 * args.cases / seconds:.2f} | "
              f"{_tree(out) == reference} |")


if __name__ == "__main__":
    main()
