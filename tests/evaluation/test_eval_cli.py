"""End to end: ``seganypet evaluate`` on two tiny synthetic cases, through ``main([...])``."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import pytest
from eval_phantoms import LESION, write_tiny_manifest

from seganypet.cli import main
from seganypet.data.manifest import read_manifest, write_manifest
from seganypet.io.nifti import read_nifti


@pytest.fixture
def manifest(tmp_path, rng):
    return write_tiny_manifest(tmp_path / "data", rng)


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_evaluate_both_baselines_writes_csv_markdown_and_plot(manifest, tmp_path, capsys):
    out = tmp_path / "results"
    code = main(["evaluate", "--manifest", str(manifest), "--baseline", "threshold41",
                 "--baseline", "suv2.5", "--clicks", "3", "--strategy", "center", "-o", str(out)])
    assert code == 0
    rows = _rows(out / "results.csv")
    assert len(rows) == 24  # 2 methods x 2 cases x 2 targets x 3 clicks
    assert {(r["method"], r["case_id"], r["target_name"]) for r in rows} == {
        (m, c, t) for m in ("threshold41", "suv2.5") for c in ("case1", "case2")
        for t in ("liver", "lesion")}
    assert [int(r["click"]) for r in rows[:3]] == [1, 2, 3]
    for row in rows:
        dsc = float(row["dice"])
        if row["target_name"] == "lesion":  # uniform 8-SUV sphere: both rules are exact
            assert dsc == 1.0
        elif row["method"] == "suv2.5":  # the 2.0-SUV liver is below the cut-off
            assert dsc == 0.0 and row["click_positive"] == "1"
        else:  # the 41 % isocontour of a uniform 2.0-SUV liver on 0.5 is the liver itself
            assert dsc == 1.0
    table = (out / "summary.md").read_text()
    assert table.startswith("| method | split | target | clicks |")
    assert "| threshold41 | test | liver | 3 | 2 | 1.000 (1.000–1.000) |" in table
    assert "| suv2.5 | test | liver | 1 | 2 | 0.000 (0.000–0.000) |" in table
    png = (out / "dice_vs_clicks.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    summary = _rows(out / "summary.csv")
    assert {r["metric"] for r in summary} >= {"dice", "nsd", "nsd_voxel", "seconds"}
    info = json.loads((out / "run.json").read_text())
    assert info["methods"] == ["threshold41", "suv2.5"] and info["machine"]["cpu_count"]
    assert "--baseline threshold41 --baseline suv2.5" in info["command"]
    assert "summary.md" in capsys.readouterr().out


def test_evaluate_random_strategy_is_reproducible(manifest, tmp_path):
    def clicks(out):
        assert main(["evaluate", "--manifest", str(manifest), "--baseline", "suv2.5",
                     "--clicks", "2", "-o", str(out)]) == 0
        return [(r["click_i"], r["click_j"], r["click_k"]) for r in _rows(out / "results.csv")]
    first, second = clicks(tmp_path / "a"), clicks(tmp_path / "b")
    assert first == second and len(set(first)) > 2


def test_evaluate_model_path_runs_a_session(manifest, tmp_path):
    """The model path (load_model + Session) with the randomly initialised tiny preset: the
    numbers are meaningless, the plumbing is not (clicks follow the ground truth only)."""
    one = [r for r in read_manifest(manifest) if r.case_id == "case1"]
    small = write_manifest([replace(one[0], targets=(LESION,))], tmp_path / "data" / "one.jsonl")
    out = tmp_path / "model"
    assert main(["evaluate", "--manifest", str(small), "--model", "tiny", "--clicks", "2",
                 "-o", str(out)]) == 0
    rows = _rows(out / "results.csv")
    assert [(r["method"], r["target_name"], r["click"]) for r in rows] == [
        ("model:tiny", "lesion", "1"), ("model:tiny", "lesion", "2")]
    lesion_voxels = int((read_nifti(one[0].label).array == LESION).sum())
    for row in rows:
        assert 0.0 <= float(row["dice"]) <= 1.0
        assert float(row["target_volume_ml"]) == pytest.approx(lesion_voxels * 0.048)
        assert float(row["seconds"]) > 0


def test_evaluate_bad_input_is_one_line_exit_2(manifest, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["evaluate", "--manifest", str(tmp_path / "missing.jsonl"), "--baseline",
                 "suv2.5", "-o", str(out)]) == 2
    assert main(["evaluate", "--manifest", str(manifest), "--baseline", "suv2.5",
                 "--split", "train", "-o", str(out)]) == 2
    assert main(["evaluate", "--manifest", str(manifest), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("seganypet evaluate: error:") for line in err)
    assert not out.exists()
