"""``seganypet segment`` end to end on files (tiny preset checkpoint, random weights)."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
import torch

from seganypet.cli import main
from seganypet.io.nifti import write_nifti
from seganypet.model import build_model, save_model
from seganypet.prompts import read_prompt_file
from seganypet.volume import Volume


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("segment")
    torch.manual_seed(0)
    weights, _ = save_model(build_model("tiny"), root / "tiny.safetensors")
    shape = (40, 36, 30)
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1)
    dist = np.linalg.norm(idx - np.array(shape) / 2, axis=-1)
    affine = np.diag([-3.0, -3.0, 4.0, 1.0])
    image = write_nifti(Volume((1 + 6 * (dist < 5)).astype(np.float32), affine), root / "pet.nii.gz")
    return root, image, weights


def test_segment_writes_mask_preview_and_stats(files) -> None:
    root, image, weights = files
    out = root / "out" / "liver.nii.gz"
    rc = main(["segment", str(image), "-o", str(out), "--point", "20,18,15",
               "--negative", "26,18,15", "--model", str(weights), "--name", "liver",
               "--max-tiles", "4"])
    assert rc == 0
    mask = nib.load(str(out))
    assert mask.shape == (40, 36, 30)
    assert np.allclose(mask.affine, nib.load(str(image)).affine)
    assert json.loads((root / "out" / "liver.json").read_text())["labels"] == {"1": "liver"}
    stats = json.loads((root / "out" / "liver_stats.json").read_text())
    data = np.asarray(mask.dataobj)
    if data.any():
        row = stats["objects"][0]
        assert row["voxels"] == int(data.sum())
        assert row["volume_ml"] == pytest.approx(data.sum() * 36 / 1000)
    assert (root / "out" / "liver_preview.png").stat().st_size > 1000


def test_world_clicks_and_prompt_file(files, tmp_path) -> None:
    _, image, weights = files
    vol_affine = nib.load(str(image)).affine
    world = vol_affine @ np.array([20, 18, 15, 1.0])
    a, b = tmp_path / "a.nii.gz", tmp_path / "b.nii.gz"
    assert main(["segment", str(image), "-o", str(a), "--point", "20,18,15", "--model",
                 str(weights), "--no-preview", "--max-tiles", "2"]) == 0
    # Negative mm values need the --point=... form (argparse would take "-60" for an option).
    assert main(["segment", str(image), "-o", str(b), "--world",
                 "--point=" + ",".join(str(v) for v in world[:3]), "--model", str(weights), "--no-preview",
                 "--max-tiles", "2"]) == 0
    assert np.array_equal(np.asarray(nib.load(str(a)).dataobj), np.asarray(nib.load(str(b)).dataobj))


def test_autopet_prompt_file_is_interleaved(tmp_path) -> None:
    path = tmp_path / "clicks.json"
    path.write_text(json.dumps({"tumor": [[1, 2, 3], [4, 5, 6]], "background": [[7, 8, 9]]}))
    (obj,) = read_prompt_file(path)
    assert [(c.index, c.positive) for c in obj.clicks] == [
        ((1, 2, 3), True), ((7, 8, 9), False), ((4, 5, 6), True)]


@pytest.mark.parametrize("argv, message", [
    (["--point", "500,1,1"], "outside the image"),
    (["--point", "1,2"], "three numbers"),
    (["--negative", "3,3,3"], "positive"),
    ([], "no clicks"),
])
def test_bad_input_is_one_clear_error(files, tmp_path, capsys, argv, message) -> None:
    _, image, weights = files
    out = tmp_path / "m.nii.gz"
    rc = main(["segment", str(image), "-o", str(out), "--model", str(weights), *argv])
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_unknown_model_and_non_3d_image(files, tmp_path, capsys) -> None:
    _, image, _ = files
    assert main(["segment", str(image), "-o", str(tmp_path / "m.nii.gz"), "--point", "1,1,1",
                 "--model", "no-such-model"]) == 2
    assert "no-such-model" in capsys.readouterr().err
    flat = tmp_path / "flat.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((5, 5), np.float32), np.eye(4)), str(flat))
    assert main(["segment", str(flat), "-o", str(tmp_path / "m.nii.gz"), "--point", "1,1,1",
                 "--model", "tiny"]) == 2
    assert "3D" in capsys.readouterr().err
