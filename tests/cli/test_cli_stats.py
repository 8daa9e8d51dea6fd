"""``seganypet stats`` end to end on NIfTI files, plus the report's CSV/JSON forms."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from seganypet.cli import main
from seganypet.io.nifti import write_nifti
from seganypet.quantify.report import stats_report, write_report
from seganypet.volume import Volume


@pytest.fixture
def phantom(tmp_path, rng):
    """A 'liver' (label 1, SUV ~2) with two 'lesions' (label 2, SUV ~9 and ~6)."""
    spacing = (4.0, 4.0, 3.0)
    affine = np.diag([*spacing, 1.0])
    values = rng.normal(1.0, 0.1, size=(32, 30, 28)).astype(np.float32)
    labels = np.zeros(values.shape, dtype=np.uint8)
    labels[2:20, 2:20, 2:24] = 1
    values[labels == 1] += 1.0
    labels[24:28, 22:26, 4:8] = 2
    labels[24:27, 3:6, 18:21] = 2
    values[24:28, 22:26, 4:8] += 8.0
    values[24:27, 3:6, 18:21] += 5.0
    image = Volume(values, affine, "SUVbw", {"suv": {"factor": 0.25, "method": "BQML",
                                                     "weight_kg": 71.0, "factor_per_slice": [0.25]}})
    write_nifti(image, tmp_path / "pet.nii.gz")
    write_nifti(image.with_array(labels, unit="label"), tmp_path / "labels.nii.gz")
    (tmp_path / "names.json").write_text(json.dumps({"1": "liver", "2": "lesion"}))
    return image, labels, tmp_path


def test_cli_writes_json_matching_numpy(phantom, capsys):
    image, labels, folder = phantom
    out = folder / "out" / "stats.json"
    code = main(["stats", str(folder / "pet.nii.gz"), str(folder / "labels.nii.gz"),
                 "--names", str(folder / "names.json"), "--liver-label", "1",
                 "--components", "-o", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    values = image.array.astype(np.float64)
    by_name = {r["name"]: r for r in report["objects"]}
    assert set(by_name) == {"liver", "lesion"}
    assert by_name["lesion"]["suv_mean"] == pytest.approx(values[labels == 2].mean(), rel=1e-6)
    assert by_name["liver"]["volume_ml"] == pytest.approx((labels == 1).sum() * 0.048, rel=1e-9)
    lesions = [r for r in report["components"] if r["name"] == "lesion"]
    assert sorted(r["voxel_count"] for r in lesions) == [27, 64]
    # both lesions are far above 1.5 x 2 + 2 x 0.1 ~ 3.2; the liver is not
    assert all(r["percist_measurable"] for r in lesions)
    assert not by_name["liver"]["percist_measurable"]
    assert report["liver_reference"]["mean"] == pytest.approx(2.0, abs=0.05)
    assert report["totals"]["count"] == 3


def test_report_csv_flattens_rows_and_carries_suv_parameters(phantom, tmp_path):
    image, labels, _ = phantom
    report = stats_report(image, labels, {1: "liver", 2: "lesion"}, liver_label=1)
    assert report["suv_conversion"]["weight_kg"] == 71.0
    path = write_report(report, tmp_path / "stats.csv")
    rows = list(csv.DictReader(path.open()))
    assert [r["name"] for r in rows] == ["liver", "lesion"]
    assert float(rows[1]["suv_max"]) == pytest.approx(float(image.array[labels == 2].max()), rel=1e-6)
    assert rows[0]["suv_method"] == "BQML" and float(rows[0]["suv_factor"]) == 0.25
    assert "suv_factor_per_slice" not in rows[0]  # lists stay in the JSON report
    assert rows[0]["max_index_i"] and rows[0]["centroid_mm_s"]
    assert float(rows[0]["liver_threshold"]) == pytest.approx(report["liver_reference"]["threshold"])


def test_cli_prints_table_and_rejects_bad_input(phantom, capsys):
    _, _, folder = phantom
    assert main(["stats", str(folder / "pet.nii.gz"), str(folder / "labels.nii.gz")]) == 0
    printed = capsys.readouterr().out
    assert "label_1" in printed and "label_2" in printed
    assert main(["stats", str(folder / "pet.nii.gz"), str(folder / "labels.nii.gz"),
                 "--liver-label", "7"]) == 2
    assert "liver label 7" in capsys.readouterr().err
    assert main(["stats", str(folder / "pet.nii.gz"), str(folder / "labels.nii.gz"),
                 "-o", str(folder / "stats.txt")]) == 2
    other = Volume(np.zeros((5, 5, 5), np.uint8), np.eye(4))
    write_nifti(other, folder / "small.nii.gz")
    assert main(["stats", str(folder / "pet.nii.gz"), str(folder / "small.nii.gz")]) == 2
    assert "grid" in capsys.readouterr().err
