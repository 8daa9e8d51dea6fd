"""Manifest round trip, path resolution, validation and filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seganypet.data.manifest import (
    CaseRecord,
    by_quality,
    by_split,
    by_tracer,
    filter_records,
    read_manifest,
    write_manifest,
)
from seganypet.errors import InputError


def _records(root: Path) -> list[CaseRecord]:
    return [
        CaseRecord("a", root / "img" / "a.nii.gz", root / "lab" / "a.nii.gz", {1: "liver", 101: "lesion_1"},
                   cohort="phantom", tracer="FDG", split="train", quality="HQ",
                   targets=(101,), meta={"seed": 3, "lesions": [{"id": 101, "diameter_mm": 12.5}]}),
        CaseRecord("b", root / "img" / "b.nii.gz", root / "lab" / "b.nii.gz", {"3": "kidney_left"},
                   cohort="phantom", tracer="psma", split="val", quality="LQ"),
        CaseRecord("c", root / "img" / "c.nii.gz", None, {}, cohort="autopet", tracer="fdg",
                   split="test", quality="HQ"),
    ]


def test_round_trip_keeps_every_field_and_stores_relative_paths(tmp_path: Path) -> None:
    records = _records(tmp_path / "data")
    manifest = write_manifest(records, tmp_path / "data" / "manifest.jsonl")
    first = json.loads(manifest.read_text().splitlines()[0])
    assert first["image"] == "img/a.nii.gz"  # relative to the manifest folder
    assert first["label_names"] == {"1": "liver", "101": "lesion_1"}
    back = read_manifest(manifest)
    assert back == [
        CaseRecord(r.case_id, r.image.resolve(), None if r.label is None else r.label.resolve(),
                   r.label_names, r.cohort, r.tracer, r.split, r.quality, r.targets, r.meta)
        for r in records
    ]
    assert back[0].tracer == "fdg" and back[0].targets == (101,) and back[0].target_ids == (101,)
    assert back[1].label_names == {3: "kidney_left"} and back[1].target_ids == (3,)
    assert back[2].label is None


def test_relative_paths_resolve_against_manifest_folder_not_cwd(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "ds").mkdir()
    line = {"case_id": "x", "image": "../imgs/x.nii.gz", "label": "labs/x.nii.gz",
            "label_names": {"1": "liver"}, "cohort": "c", "tracer": "fdg", "split": "train",
            "quality": "HQ"}
    (tmp_path / "ds" / "m.jsonl").write_text("# comment\n\n" + json.dumps(line) + "\n")
    monkeypatch.chdir(tmp_path / "ds" )
    (rec,) = read_manifest(Path("m.jsonl"))
    assert rec.image == (tmp_path / "imgs" / "x.nii.gz").resolve()
    assert rec.label == (tmp_path / "ds" / "labs" / "x.nii.gz").resolve()


def test_paths_outside_the_manifest_tree_still_round_trip(tmp_path: Path) -> None:
    rec = CaseRecord("x", tmp_path / "elsewhere" / "x.nii.gz", None, {1: "a"})
    manifest = write_manifest([rec], tmp_path / "deep" / "er" / "m.jsonl")
    assert json.loads(manifest.read_text())["image"] == "../../elsewhere/x.nii.gz"
    assert read_manifest(manifest)[0].image == rec.image.resolve()


@pytest.mark.parametrize(
    ("bad_line", "fragment"),
    [
        ("{not json", "line 2"),
        ('{"case_id": "y"}', "missing key"),
        ('[1, 2]', "JSON object"),
    ],
)
def test_bad_line_names_the_line_number(tmp_path: Path, bad_line: str, fragment: str) -> None:
    good = json.loads(json.dumps({"case_id": "x", "image": "x.nii.gz", "label": None,
                                  "label_names": {}, "cohort": "", "tracer": "fdg",
                                  "split": "train", "quality": "HQ"}))
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps(good) + "\n" + bad_line + "\n")
    with pytest.raises(InputError, match="line 2") as info:
        read_manifest(path)
    assert fragment in str(info.value)


@pytest.mark.parametrize(("key", "value"), [("split", "training"), ("quality", "medium"),
                                            ("label_names", {"liver": "1"})])
def test_invalid_field_values_are_refused(tmp_path: Path, key: str, value: object) -> None:
    obj = {"case_id": "x", "image": "x.nii.gz", "label": None, "label_names": {}, "cohort": "",
           "tracer": "fdg", "split": "train", "quality": "HQ", key: value}
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps(obj) + "\n")
    with pytest.raises(InputError, match=r"line 1: .*" + ("label_names" if key == "label_names" else key)):
        read_manifest(path)


def test_duplicate_case_ids_are_refused(tmp_path: Path) -> None:
    rec = CaseRecord("x", tmp_path / "x.nii.gz", None, {})
    with pytest.raises(InputError, match="duplicated"):
        write_manifest([rec, rec], tmp_path / "m.jsonl")
    line = json.dumps({"case_id": "x", "image": "x", "label": None, "label_names": {},
                       "cohort": "", "tracer": "fdg", "split": "train", "quality": "HQ"})
    (tmp_path / "m2.jsonl").write_text(line + "\n" + line + "\n")
    with pytest.raises(InputError, match="line 2.*line 1"):
        read_manifest(tmp_path / "m2.jsonl")


def test_missing_manifest_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_manifest(tmp_path / "nope.jsonl")


def test_filters(tmp_path: Path) -> None:
    records = _records(tmp_path)
    assert [r.case_id for r in by_split(records, "train")] == ["a"]
    assert [r.case_id for r in by_split(records, ["val", "test"])] == ["b", "c"]
    assert [r.case_id for r in by_quality(records, "LQ")] == ["b"]
    assert [r.case_id for r in by_tracer(records, "FDG")] == ["a", "c"]
    assert [r.case_id for r in filter_records(records, tracer="fdg", quality="HQ", cohort="autopet")] == ["c"]
    assert filter_records(records) == records
