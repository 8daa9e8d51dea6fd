"""``seganypet phantom`` end to end on small cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from seganypet.cli import main
from seganypet.data.manifest import read_manifest
from seganypet.io.nifti import read_nifti


def test_phantom_cli_writes_cases_manifest_lq_labels_and_gallery(tmp_path: Path, capsys) -> None:
    out = tmp_path / "ph"
    code = main(["phantom", str(out), "--cases", "2", "--seed", "3", "--small", "--tracer", "psma",
                 "--lq-fraction", "0.5", "--val-fraction", "0.5", "--gallery", str(out / "g.png")])
    assert code == 0
    records = read_manifest(out / "manifest.jsonl")
    assert [r.quality for r in records] == ["LQ", "HQ"] and [r.split for r in records] == ["train", "val"]
    assert records[0].label.name == "phantom_3_0000_label_LQ.nii.gz"
    hq = read_nifti(out / records[0].meta["hq_label"])
    lq = read_nifti(records[0].label)
    assert hq.same_grid(lq) and not np.array_equal(hq.array, lq.array)
    info = json.loads((out / "phantom_3_0001.json").read_text())
    assert info["tracer"] == "psma" and info["organ_ids"]["liver"] == 3
    assert {int(k) for k in info["label_names"]} == {
        int(v) for v in np.unique(read_nifti(records[1].label).array)} - {0}
    suv = read_nifti(records[1].image)
    assert suv.array.dtype == np.float32 and suv.array.max() > 5
    assert (out / "g.png").stat().st_size > 10_000
    assert "wrote 2 case(s)" in capsys.readouterr().out

    again = tmp_path / "again"
    assert main(["phantom", str(again), "--cases", "1", "--seed", "3", "--small", "--tracer", "psma"]) == 0
    np.testing.assert_array_equal(read_nifti(again / "phantom_3_0000_SUV.nii.gz").array,
                                  read_nifti(out / "phantom_3_0000_SUV.nii.gz").array)


def test_phantom_cli_bad_input_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["phantom", str(tmp_path), "--lq-fraction", "1.5"]) == 2
    err = capsys.readouterr().err
    assert "--lq-fraction" in err and "Traceback" not in err


def test_phantom_cli_from_totalsegmentator_labels(tmp_path: Path, shared_dir: Path) -> None:
    folder = shared_dir / "data" / "totalsegmentator_example_ct"
    out = tmp_path / "l2p"
    code = main(["phantom", str(out), "--cases", "2", "--tracer", "fdg", "--val-fraction", "0",
                 "--from-labels", str(folder / "example_seg.nii.gz"),
                 "--ct", str(folder / "example_ct_sm.nii.gz")])
    assert code == 0
    records = read_manifest(out / "manifest.jsonl")
    assert [r.cohort for r in records] == ["label2pet-realistic"] * 2
    seg = read_nifti(folder / "example_seg.nii.gz")
    suv = read_nifti(records[0].image)
    assert suv.same_grid(seg)
    liver = float(suv.array[seg.array == 5].mean())
    assert 1.3 <= liver <= 3.3  # FDG liver range, as in test_data_phantom
    other = read_nifti(records[1].image)
    assert not np.array_equal(suv.array, other.array)  # each case is a new draw
    assert main(["phantom", str(out), "--ct", str(folder / "example_ct_sm.nii.gz")]) == 2
