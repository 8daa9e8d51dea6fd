"""Cohort runs: sharded runs equal the single run byte for byte; a killed run resumes without
redoing done cases; a corrupt case lands in failures.csv; the network input works."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seganypet.cli import main

from .conftest import tree_bytes

CMD = [sys.executable, "-m", "seganypet", "batch"]


def _run_args(manifest: Path, out: Path, *extra: str) -> list[str]:
    return ["batch", "--manifest", str(manifest), "-o", str(out), "--task", "prompts",
            "--no-progress", *extra]


def test_single_run_outputs(single_run):
    files = tree_bytes(single_run)
    for n in range(4):
        for name in ("mask.nii.gz", "mask.json", "stats.csv", "DONE"):
            assert f"cases/case{n}/{name}" in files
    summary = list(csv.DictReader((single_run / "summary.csv").open()))
    assert [r["status"] for r in summary] == ["done"] * 4
    assert all(int(r["objects"]) == 2 for r in summary)
    assert (single_run / "failures.csv").read_text() == "case_id,error,message\n"


def test_num_parts_equals_single_run(cohort, single_run):
    out = single_run.parent / "parts"
    for part in (0, 1):
        assert main(_run_args(cohort, out, "--num-parts", "2", "--part-id", str(part))) == 0
    assert tree_bytes(out) == tree_bytes(single_run)


def test_torchrun_two_processes_equals_single_run(cohort, single_run):
    out = single_run.parent / "torchrun"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
               "2", "-m", "seganypet", *_run_args(cohort, out)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert tree_bytes(out) == tree_bytes(single_run)


def test_killed_run_resumes_without_redoing_done_cases(cohort, single_run):
    out = single_run.parent / "killed"
    process = subprocess.Popen([*CMD, *_run_args(cohort, out)[1:]], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    first = out / "cases" / "case0" / "DONE"
    while not first.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    done_before = {p.parent.name: p.stat().st_mtime_ns for p in (out / "cases").glob("*/DONE")}
    assert "case0" in done_before and len(done_before) < 4, "the run was not interrupted"
    # a half-written case (folder without DONE) must be redone, not trusted
    (out / "cases" / "case3").mkdir(parents=True, exist_ok=True)
    (out / "cases" / "case3" / "mask.nii.gz").write_bytes(b"half")
    assert main(_run_args(cohort, out)) == 0
    for case_id, mtime in done_before.items():
        assert (out / "cases" / case_id / "DONE").stat().st_mtime_ns == mtime, case_id
    assert tree_bytes(out) == tree_bytes(single_run)


def test_corrupt_case_lands_in_failures(cohort, tmp_path):
    broken = tmp_path / "broken_SUV.nii.gz"
    broken.write_bytes(b"not a nifti file at all")
    first = json.loads(cohort.read_text().splitlines()[0])
    lines = [json.dumps({k: str(cohort.parent / v) if k != "case_id" else v
                         for k, v in first.items()})]
    lines.append(json.dumps({"case_id": "broken", "image": str(broken),
                             "prompts": str(cohort.parent / "case0_clicks.json")}))
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    assert main(_run_args(manifest, out)) == 0
    failures = list(csv.DictReader((out / "failures.csv").open()))
    assert [f["case_id"] for f in failures] == ["broken"]
    summary = {r["case_id"]: r["status"] for r in csv.DictReader((out / "summary.csv").open())}
    assert summary == {"case0": "done", "broken": "failed"}


def test_network_reads_the_cohort_table(single_run, tmp_path):
    assert main(["network", "--manifest", str(single_run / "network_manifest.jsonl"),
                 "-o", str(tmp_path / "net"), "--r-threshold", "0.0"]) == 0
    nodes = (tmp_path / "net" / "nodes.csv").read_text()
    assert "liver" in nodes and "kidney_left" in nodes


def test_ray_local_pool_equals_single_run(cohort, single_run):
    ray = pytest.importorskip("ray")
    out = single_run.parent / "ray"
    try:
        code = main(_run_args(cohort, out, "--engine", "ray", "--workers", "2"))
    except Exception as exc:  # noqa: BLE001 - Ray that cannot start here is a skip, not a failure
        if ray.is_initialized():
            ray.shutdown()
        pytest.skip(f"Ray could not start: {type(exc).__name__}: {exc}")
    assert code == 0
    assert tree_bytes(out) == tree_bytes(single_run)
