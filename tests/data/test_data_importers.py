"""Importers on tiny fixture folders (autoPET and nnU-Net raw layouts) built in tmp dirs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seganypet.data.importers import assign_splits, import_autopet, import_nnunet
from seganypet.data.manifest import read_manifest, write_manifest
from seganypet.errors import InputError
from seganypet.io.nifti import write_nifti
from seganypet.volume import Volume


def _nifti(path: Path, value: int = 1) -> None:
    write_nifti(Volume(np.full((3, 3, 3), value, dtype=np.uint8), np.eye(4)), path)


def test_autopet_nested_studies(tmp_path: Path) -> None:
    root = tmp_path / "FDG-PET-CT-Lesions"
    for study, labelled in (("PETCT_0a/2002-01-01-NA", True), ("PETCT_0b/2003-05-02-NA", True),
                            ("PETCT_0c/2004-01-01-NA", False)):
        _nifti(root / study / "SUV.nii.gz")
        if labelled:
            _nifti(root / study / "SEG.nii.gz")
        _nifti(root / study / "CTres.nii.gz")
    records = import_autopet(root, tracer="FDG")
    assert [r.case_id for r in records] == ["PETCT_0a_2002-01-01-NA", "PETCT_0b_2003-05-02-NA",
                                            "PETCT_0c_2004-01-01-NA"]
    assert records[0].label == (root / "PETCT_0a/2002-01-01-NA/SEG.nii.gz").resolve()
    assert records[0].label_names == {1: "lesion"} and records[0].tracer == "fdg"
    assert records[2].label is None and records[2].split == "test"
    manifest = write_manifest(records, tmp_path / "autopet.jsonl")
    assert read_manifest(manifest) == records


def test_autopet_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        import_autopet(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="SUV.nii.gz"):
        import_autopet(tmp_path / "empty")


def _nnunet(root: Path, meta: dict, cases: list[str], channels: int, test_cases: list[str] = ()) -> None:
    root.mkdir(parents=True)
    (root / "dataset.json").write_text(json.dumps(meta))
    for case in cases:
        for c in range(channels):
            _nifti(root / "imagesTr" / f"{case}_{c:04d}.nii.gz")
        _nifti(root / "labelsTr" / f"{case}.nii.gz")
    for case in test_cases:
        for c in range(channels):
            _nifti(root / "imagesTs" / f"{case}_{c:04d}.nii.gz")


def test_nnunet_v2_two_channels_picks_pet(tmp_path: Path) -> None:
    root = tmp_path / "Dataset221_AutoPETII"
    meta = {"channel_names": {"0": "CT", "1": "PET"}, "labels": {"background": 0, "tumor": 1},
            "file_ending": ".nii.gz", "numTraining": 2}
    _nnunet(root, meta, ["case_001", "case_002"], 2, ["case_900"])
    records = import_nnunet(root, tracer="psma")
    assert [(r.case_id, r.split) for r in records] == [("case_001", "train"), ("case_002", "train"),
                                                       ("case_900", "test")]
    assert records[0].image.name == "case_001_0001.nii.gz"
    assert records[0].label == (root / "labelsTr" / "case_001.nii.gz").resolve()
    assert records[0].label_names == {1: "tumor"} and records[0].cohort == root.name
    assert records[2].label is None and records[0].meta == {"nnunet_channel": 1}
    assert [r.image.name for r in import_nnunet(root, pet_channel=0)][:1] == ["case_001_0000.nii.gz"]


def test_nnunet_v1_labels_and_errors(tmp_path: Path) -> None:
    root = tmp_path / "Task500_PET"
    _nnunet(root, {"modality": {"0": "SUV"}, "labels": {"0": "background", "1": "liver", "2": "lesion"}},
            ["a"], 1)
    (record,) = import_nnunet(root)
    assert record.label_names == {1: "liver", 2: "lesion"}

    ambiguous = tmp_path / "Dataset1_two"
    _nnunet(ambiguous, {"channel_names": {"0": "T1", "1": "T2"}, "labels": {"background": 0, "x": 1}},
            ["a"], 2)
    with pytest.raises(InputError, match="pet_channel"):
        import_nnunet(ambiguous)
    regions = tmp_path / "Dataset2_regions"
    _nnunet(regions, {"channel_names": {"0": "PET"}, "labels": {"background": 0, "whole": [1, 2]}},
            ["a"], 1)
    with pytest.raises(InputError, match="region-based"):
        import_nnunet(regions)
    (root / "labelsTr" / "a.nii.gz").unlink()
    with pytest.raises(InputError, match="has no label"):
        import_nnunet(root)
    with pytest.raises(InputError, match="dataset.json"):
        import_nnunet(tmp_path)


def test_assign_splits_is_deterministic_and_keeps_test(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    _nnunet(root, {"channel_names": {"0": "PET"}, "labels": {"background": 0, "t": 1}},
            [f"c{n:02d}" for n in range(10)], 1, ["t0"])
    records = import_nnunet(root)
    a = assign_splits(records, val_fraction=0.2, test_fraction=0.1, seed=3)
    b = assign_splits(records, val_fraction=0.2, test_fraction=0.1, seed=3)
    assert a == b
    splits = [r.split for r in a]
    assert splits.count("val") == 2 and splits.count("test") == 2 and splits.count("train") == 7
    assert a[-1].split == "test" and a[-1].case_id == "t0"
    with pytest.raises(InputError):
        assign_splits(records, val_fraction=0.8, test_fraction=0.5)
