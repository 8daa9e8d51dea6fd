"""End to end: ``seganypet evaluate`` with both baselines on two tiny synthetic cases."""

from __future__ import annotations

import csv
import json

import pytest
from eval_phantoms import write_tiny_manifest

from seganypet.cli import main


@pytest.fixture
def manifest(tmp_path, rng):
    return write_tiny_manifest(tmp_path / "data", rng)


@pytest.mark.parametrize("baseline", ["threshold41", "suv2.5"])
def test_evaluate_baseline_writes_csv_markdown_and_plot(manifest, tmp_path, baseline, capsys):
    out = tmp_path / f"results_{baseline}"
    code = main(["evaluate", "--manifest", str(manifest), "--baseline", baseline,
                 "--clicks", "3", "--strategy", "center", "-o", str(out)])
    assert code == 0
    with open(out / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # 2 cases x 2 targets x 3 clicks, in order
    assert len(rows) == 12
    assert {(r["case_id"], r["target_name"]) for r in rows} == {
        (c, t) for c in ("case1", "case2") for t in ("liver", "lesion")}
    assert [int(r["click"]) for r in rows[:3]] == [1, 2, 3]
    lesion = [r for r in rows if r["target_name"] == "lesion"]
    liver = [r for r in rows if r["target_name"] == "liver"]
    assert all(float(r["dice"]) == 1.0 for r in lesion)  # uniform hot sphere: exact
    if baseline == "suv2.5":  # the 2.0-SUV liver is below the cut-off: never segmented
        assert all(float(r["dice"]) == 0.0 and r["click_positive"] == "1" for r in liver)
    else:  # the 41 % isocontour of the liver (uniform 2.0 SUV on 0.5) is the liver itself
        assert all(float(r["dice"]) == 1.0 for r in liver)
    table = (out / "summary.md").read_text()
    assert table.startswith("| method | split | target | clicks |")
    assert f"| {baseline} | test | lesion | 3 | 2 | 1.000 (1.000–1.000) |" in table
    png = (out / "dice_vs_clicks.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    with open(out / "summary.csv", newline="") as handle:
        summary = list(csv.DictReader(handle))
    assert {r["metric"] for r in summary} >= {"dice", "nsd", "nsd_voxel", "seconds"}
    info = json.loads((out / "run.json").read_text())
    assert info["method"] == baseline and info["clicks"] == 3 and info["machine"]["cpu_count"]
    assert "summary.md" in capsys.readouterr().out


def test_evaluate_random_strategy_is_reproducible(manifest, tmp_path):
    def clicks(out):
        assert main(["evaluate", "--manifest", str(manifest), "--baseline", "suv2.5",
                     "--clicks", "2", "-o", str(out)]) == 0
        with open(out / "results.csv", newline="") as handle:
            return [(r["click_i"], r["click_j"], r["click_k"]) for r in csv.DictReader(handle)]
    first, second = clicks(tmp_path / "a"), clicks(tmp_path / "b")
    assert first == second and len(set(first)) > 2


def test_evaluate_bad_input_is_one_line_exit_2(manifest, tmp_path, capsys):
    assert main(["evaluate", "--manifest", str(tmp_path / "missing.jsonl"), "--baseline",
                 "suv2.5", "-o", str(tmp_path / "o")]) == 2
    assert main(["evaluate", "--manifest", str(manifest), "--baseline", "suv2.5",
                 "--split", "train", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("seganypet evaluate: error:") for line in err)
    assert not (tmp_path / "o").exists()
