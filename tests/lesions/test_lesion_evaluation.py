"""autoPET-style lesion evaluation: detection matching on hand-made masks, and the CLI on a
phantom (model vs SUV >= 4 vs PERCIST, automatic then corrected)."""

from __future__ import annotations

import csv
import json

import numpy as np

from seganypet.cli import main
from seganypet.data.manifest import CaseRecord, write_manifest
from seganypet.evaluation.lesions import area_under_dice, detection


def test_detection_matches_at_iou_01():
    truth = np.zeros((20, 20, 20), bool)
    truth[2:6, 2:6, 2:6] = True          # 64 voxels, found by a half-overlapping prediction
    truth[12:16, 12:16, 12:16] = True    # missed
    pred = np.zeros((20, 20, 20), np.int32)
    pred[2:6, 2:6, 4:8] = 1              # IoU 32 / 96 = 0.33
    pred[10:11, 2:4, 2:4] = 2            # touches no lesion: a false positive
    result = detection(pred, truth, voxel_ml=1.0, min_lesion_ml=1.0)
    assert result == {"true_lesions": 2, "found": 1, "false_positive_lesions": 1}


def test_area_under_dice_keeps_the_last_value():
    rows = [{"iteration": 0, "dice": 0.5}, {"iteration": 1, "dice": 1.0}]
    assert area_under_dice(rows, 2) == (0.75 + 1.0) / 2


def test_evaluate_task_lesions_cli(lesion_phantom, tmp_path):
    info = json.loads(lesion_phantom["info"].read_text())
    record = CaseRecord("wb", lesion_phantom["image"], lesion_phantom["label"],
                        {int(k): v for k, v in info["label_names"].items()}, cohort="phantom",
                        split="test")
    manifest = write_manifest([record], tmp_path / "m.jsonl")
    assert main(["evaluate", "--task", "lesions", "--manifest", str(manifest), "--clicks", "2",
                 "-o", str(tmp_path / "out")]) == 0
    rows = list(csv.DictReader((tmp_path / "out" / "lesions_results.csv").open()))
    assert {r["method"] for r in rows} == {"model", "suv4", "percist"}
    for method in ("model", "suv4", "percist"):
        mine = [r for r in rows if r["method"] == method]
        assert mine[0]["iteration"] == "0" and len(mine) <= 3
        assert all(0.0 <= float(r["dice"]) <= 1.0 for r in mine)
    auto = {r["method"]: r for r in rows if r["iteration"] == "0"}
    # the fixed SUV 4 threshold keeps brain, bladder and kidneys: far more false lesions
    assert int(auto["suv4"]["false_positive_lesions"]) > int(auto["model"]["false_positive_lesions"])
    assert float(auto["model"]["sensitivity"]) >= 0.5
    summary = list(csv.DictReader((tmp_path / "out" / "lesions_summary.csv").open()))
    assert [s["method"] for s in summary] == ["model", "suv4", "percist"]
