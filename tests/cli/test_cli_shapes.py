"""``seganypet segment --box/--scribble/--lasso`` and ``seganypet evaluate --protocol`` end to
end on files, with the shipped default model on a small hot-sphere scan."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from seganypet.cli import main
from seganypet.data.manifest import CaseRecord, write_manifest
from seganypet.io.nifti import write_nifti
from seganypet.volume import Volume

SHAPE, CENTRE = (41, 41, 45), (20, 20, 22)


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> tuple[Path, Path, np.ndarray]:
    root = tmp_path_factory.mktemp("shapes")
    affine = np.diag([4.0, 4.0, 3.0, 1.0])
    volume = Volume(np.zeros(SHAPE, np.float32), affine)
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in SHAPE], indexing="ij"), -1)
    sphere = np.linalg.norm(volume.index_to_world(idx) - volume.index_to_world(CENTRE),
                            axis=-1) < 14.0
    image = write_nifti(volume.with_array((1.0 + 7.0 * sphere).astype(np.float32)),
                        root / "pet.nii.gz")
    label = write_nifti(volume.with_array(sphere.astype(np.uint8)), root / "label.nii.gz")
    return image, label, sphere


def mask_of(path: Path) -> np.ndarray:
    return np.asarray(nib.load(str(path)).dataobj) > 0


def test_segment_with_a_box(scan, tmp_path) -> None:
    image, _, sphere = scan
    lo, hi = np.argwhere(sphere).min(0), np.argwhere(sphere).max(0)
    out = tmp_path / "box.nii.gz"
    box = ",".join(str(int(v)) for v in (*lo, *hi))
    assert main(["segment", str(image), "-o", str(out), "--box", box, "--no-preview"]) == 0
    mask = mask_of(out)
    assert (mask & sphere).sum() >= 0.9 * sphere.sum()
    outside = np.ones(SHAPE, bool)
    outside[lo[0]:hi[0] + 1, lo[1]:hi[1] + 1, lo[2]:hi[2] + 1] = False
    assert not mask[outside].any()


def test_segment_with_autopet_v_scribbles_and_a_lasso(scan, tmp_path) -> None:
    image, _, sphere = scan
    i, j, k = CENTRE
    strokes = tmp_path / "scribbles.json"
    strokes.write_text(json.dumps({"tumor": [[i - 1, j, k], [i, j, k], [i + 1, j, k]],
                                   "background": []}), encoding="utf-8")
    lasso = tmp_path / "lasso.json"
    lasso.write_text(json.dumps([[i - 2, j - 2, k], [i + 2, j - 2, k], [i, j + 2, k]]),
                     encoding="utf-8")
    out = tmp_path / "s.nii.gz"
    assert main(["segment", str(image), "-o", str(out), "--scribble", str(strokes),
                 "--lasso", str(lasso), "--no-preview"]) == 0
    mask = mask_of(out)
    assert (mask & sphere).sum() >= 0.9 * sphere.sum()
    assert mask[i - 1:i + 2, j, k].all()


def test_prompt_file_objects_take_shapes(scan, tmp_path) -> None:
    image, _, sphere = scan
    lo, hi = np.argwhere(sphere).min(0), np.argwhere(sphere).max(0)
    prompts = tmp_path / "prompts.json"
    prompts.write_text(json.dumps({"objects": [{"name": "sphere", "boxes": [
        {"lo": lo.tolist(), "hi": hi.tolist()}]}]}), encoding="utf-8")
    out = tmp_path / "p.nii.gz"
    assert main(["segment", str(image), "-o", str(out), "--prompts", str(prompts),
                 "--no-preview"]) == 0
    assert (mask_of(out) & sphere).sum() >= 0.9 * sphere.sum()


@pytest.mark.parametrize(("argv", "message"), [
    (["--box", "1,2,3,4,5"], "six numbers"),
    (["--box", "9,9,9,1,1,1"], "above hi"),
    (["--box", "0,0,0,90,9,9"], "outside the image"),
    (["--lasso", "MISSING"], "not found"),
])
def test_bad_shapes_are_one_line_exit_2(scan, tmp_path, capsys, argv, message) -> None:
    image, _, _ = scan
    out = tmp_path / "bad.nii.gz"
    argv = [a if a != "MISSING" else str(tmp_path / "none.json") for a in argv]
    assert main(["segment", str(image), "-o", str(out), "--no-preview", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not out.exists()


def test_evaluate_protocol_boxes_writes_auc(scan, tmp_path, capsys) -> None:
    image, label, _ = scan
    manifest = write_manifest([CaseRecord("sphere", image, label, {1: "lesion_1"},
                                          split="test", targets=(1,))], tmp_path / "m.jsonl")
    out = tmp_path / "eval"
    assert main(["evaluate", "--manifest", str(manifest), "--model", "default", "--clicks", "2",
                 "--protocol", "boxes", "--strategy", "center", "-o", str(out)]) == 0
    with open(out / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["method"] for r in rows} == {"model:default box3d", "model:default box2d"}
    assert [r["interaction"] for r in rows if r["method"].endswith("box3d")] == ["box", "click"]
    assert "AUC-DMM" in (out / "auc.md").read_text()
    assert json.loads((out / "run.json").read_text())["protocol"] == "boxes"
