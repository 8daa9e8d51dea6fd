"""Hostile and mistaken inputs across every entry point of the CLI (issue 14).

Each row of ``CASES`` runs the real ``main([...])`` on tiny files and must end with exit
code 2, exactly one line on stderr (no traceback), every input file byte-for-byte unchanged
and no output or temporary file left behind. A few behaviours that are not failures (the
umask, SIGTERM during a write, the blank-scan warning) have their own tests below.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
import torch

from seganypet.cli import main
from seganypet.data.manifest import CaseRecord, read_manifest, write_manifest
from seganypet.model import build_model, save_model
from seganypet.train.config_files import bundled_config_names, read_config_file

_FACTORY = Path(__file__).parent / "io" / "pet_dicom_factory.py"
_spec = importlib.util.spec_from_file_location("pet_dicom_factory", _FACTORY)
factory = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(factory)  # type: ignore[union-attr]

AFFINE = np.diag([-4.0, -4.0, 4.0, 1.0])
SHAPE = (24, 24, 20)


class Hostile:
    """A pickled object that is not plain data (its class is not on any allow-list)."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _nifti(path: Path, array: np.ndarray) -> Path:
    nib.save(nib.Nifti1Image(array, AFFINE), str(path))
    return path


def _json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _gzip_bomb(path: Path) -> Path:
    """A valid NIfTI header claiming 1024^3 uint8 voxels, followed by 1 MB of zeros (~1 kB gz)."""
    header = nib.Nifti1Header()
    header.set_data_shape((1024, 1024, 1024))
    header.set_data_dtype(np.uint8)
    header["vox_offset"] = 352
    path.write_bytes(gzip.compress(header.binaryblock + b"\0" * 4 + b"\0" * 1_000_000))
    return path


def _rgb_nifti(path: Path) -> Path:
    rgb = np.zeros(SHAPE, dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    nib.save(nib.Nifti1Image(rgb, AFFINE), str(path))
    return path


def _vector_mha(path: Path) -> Path:
    image = sitk.GetImageFromArray(np.zeros((*SHAPE[::-1], 3), np.uint8), isVector=True)
    sitk.WriteImage(image, str(path))
    return path


def _deep_json(path: Path, depth: int = 100_000) -> Path:
    path.write_text('{"objects": ' + "[" * depth + "]" * depth + "}", encoding="utf-8")
    return path


def _dicom(directory: Path, **header: str) -> Path:
    values = np.full((8, 8, 4), 1000.0, np.float32)
    values[3:5, 3:5, 1:3] = 8000.0
    factory.write_series(directory, values, np.diag([4.0, 4.0, 4.0, 1.0]), header=header)
    return directory


def _bad_model_dir(root: Path, weights: Path, name: str, **changes: object) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "tiny.safetensors").write_bytes(weights.read_bytes())
    config = json.loads(weights.with_suffix(".json").read_text())
    _json(folder / "tiny.json", {**config, **changes})
    return folder / "tiny.safetensors"


def _hostile_run(root: Path, weights: Path) -> Path:
    step = root / "hostile_run" / "checkpoints" / "step_000001"
    step.mkdir(parents=True)
    (step.parent / "latest").write_text("step_000001")
    (step / "model.safetensors").write_bytes(weights.read_bytes())
    (step / "model.json").write_bytes(weights.with_suffix(".json").read_bytes())
    torch.save({"step": 1, "payload": Hostile()}, step / "train_state.pt")
    return root / "hostile_run"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Every input file of the table, in one folder (hashed before and after each case)."""
    root = tmp_path_factory.mktemp("inputs")
    torch.manual_seed(0)
    weights, _ = save_model(build_model("tiny"), root / "tiny.safetensors")
    scan = np.ones(SHAPE, np.float32)
    scan[8:14, 8:14, 7:12] = 6.0
    _nifti(root / "pet.nii.gz", scan)
    labels = (scan > 3).astype(np.uint8)
    _nifti(root / "labels.nii.gz", labels)
    _json(root / "labels.json", {"labels": {"1": "lesion"}})
    _json(root / "names.json", {"1": "lesion"})
    _json(root / "m_stats.json", {"objects": [{"points": [[10, 10, 9]]}]})
    _nifti(root / "complex.nii.gz", np.ones(SHAPE, np.complex64))
    _nifti(root / "frames.nii.gz", np.ones((*SHAPE, 3), np.float32))
    os.link(root / "pet.nii.gz", root / "pet_link.nii.gz")
    _rgb_nifti(root / "rgb.nii.gz")
    _vector_mha(root / "rgb.mha")
    _gzip_bomb(root / "bomb.nii.gz")
    _dicom(root / "PETDIR")
    _dicom(root / "PET_LATE_INJECTION", SeriesTime="093000", AcquisitionTime="093000")
    _dicom(root / "PET_HEAVY", PatientWeight="500")
    (root / "notes.txt").write_text("not a model\n")
    _bad_model_dir(root, weights, "model_size0", image_size=0)
    _bad_model_dir(root, weights, "model_negative", image_size=-32)
    _bad_model_dir(root, weights, "model_text_spacing", spacing_mm="text")
    _hostile_run(root, weights)
    auto = root / "bad_automatic"
    auto.mkdir()
    (auto / "model.safetensors").write_bytes(weights.read_bytes())
    _json(auto / "model.json", {"config": {"patch_size": "big"}, "classes": 3})
    prompts = {
        "p_unknown_key.json": {"objects": [{"points": [[10, 10, 9]], "negatives": [[1, 1, 1]]}]},
        "p_bool.json": {"objects": [{"points": [[10, True, 9]]}]},
        "p_nan.json": None,
        "p_many.json": {"objects": [{"points": [[10, 10, 9]] * 10_000}]},
        "p_top_key.json": {"objects": [{"points": [[10, 10, 9]]}], "clicks": []},
    }
    for name, data in prompts.items():
        if data is not None:
            _json(root / name, data)
    (root / "p_nan.json").write_text('{"objects": [{"points": [[NaN, 10, 9]]}]}')
    _deep_json(root / "p_deep.json")
    _deep_json(root / "names_deep.json")
    _json(root / "train_bad_type.json", {"preset": "tiny", "phantoms": True, "lr_encoder": "fast"})
    _json(root / "train_ok.json", {"preset": "tiny", "phantoms": True, "steps": 1,
                                   "out_dir": str(root.parent / "train_out")})
    write_manifest([CaseRecord("c0", root / "pet.nii.gz", root / "labels.nii.gz", {1: "lesion"},
                               cohort="test", tracer="fdg", split="test", quality="HQ")],
                   root / "manifest.jsonl")
    (root / "evaluation").mkdir()
    write_manifest(read_manifest(root / "manifest.jsonl"), root / "evaluation" / "run.json")
    (root / "existing_file.txt").write_text("keep me\n")
    return root


@dataclass(frozen=True)
class Case:
    """argv built from (inputs folder, fresh output folder); ``expect`` must be in the message."""

    name: str
    argv: Callable[[Path, Path], list[str]]
    expect: str
    folders: tuple[str, ...] = ()  # existing folders to create in the output area first


def _seg(*extra: str) -> Callable[[Path, Path], list[str]]:
    def argv(i: Path, o: Path) -> list[str]:
        return ["segment", str(i / "pet.nii.gz"), "--model", str(i / "tiny.safetensors"),
                "--point", "10,10,9", *[e.format(i=i, o=o) for e in extra]]
    return argv


def _cmd(*parts: str) -> Callable[[Path, Path], list[str]]:
    return lambda i, o: [p.format(i=i, o=o) for p in parts]


def _seg_image(image: str) -> Callable[[Path, Path], list[str]]:
    return _cmd("segment", "{i}/" + image, "-o", "{o}/m.nii.gz", "--point", "1,1,1",
                "--model", "{i}/tiny.safetensors")


def _seg_prompts(name: str) -> Callable[[Path, Path], list[str]]:
    return _cmd("segment", "{i}/pet.nii.gz", "-o", "{o}/m.nii.gz", "--prompts", "{i}/" + name,
                "--model", "{i}/tiny.safetensors")


CASES = [
    # --- segment: outputs that would destroy inputs, or that we cannot write
    Case("segment -o the input scan", _seg("-o", "{i}/pet.nii.gz"), "input"),
    Case("segment -o inside the DICOM input folder",
         _cmd("segment", "{i}/PETDIR", "-o", "{i}/PETDIR/mask.nii.gz", "--point", "1,1,1"),
         "inside the input folder"),
    Case("segment -o a DICOM slice", _cmd("segment", "{i}/PETDIR", "-o",
                                          "{i}/PETDIR/slice_0001.dcm", "--point", "1,1,1"),
         "cannot write this file type"),
    Case("segment -o mask.png", _seg("-o", "{o}/mask.png"), ".nii.gz"),
    Case("segment -o mask (no suffix)", _seg("-o", "{o}/mask"), ".nii.gz"),
    Case("segment -o mask.txt", _seg("-o", "{o}/mask.txt"), ".nii.gz"),
    Case("segment -o an existing folder", _seg("-o", "{o}/dir.nii.gz"), "existing folder",
         ("dir.nii.gz",)),
    Case("segment: a folder named like the preview", _seg("-o", "{o}/m.nii.gz"),
         "existing folder", ("m_preview.png",)),
    Case("segment: mask sidecar would replace the model config",
         _seg("-o", "{i}/tiny.nii.gz"), "input"),
    Case("segment: stats JSON would replace the prompt file",
         _cmd("segment", "{i}/pet.nii.gz", "-o", "{i}/m.nii.gz", "--prompts", "{i}/m_stats.json",
              "--model", "{i}/tiny.safetensors"), "input"),
    # --- segment: models and devices
    Case("segment --model a text file", _cmd("segment", "{i}/pet.nii.gz", "-o", "{o}/m.nii.gz",
                                             "--point", "10,10,9", "--model", "{i}/notes.txt"),
         "--model"),
    Case("segment model.json image_size 0", _cmd(
        "segment", "{i}/pet.nii.gz", "-o", "{o}/m.nii.gz", "--point", "10,10,9",
        "--model", "{i}/model_size0/tiny.safetensors"), "--model"),
    Case("segment model.json negative size", _cmd(
        "segment", "{i}/pet.nii.gz", "-o", "{o}/m.nii.gz", "--point", "10,10,9",
        "--model", "{i}/model_negative/tiny.safetensors"), "--model"),
    Case("segment model.json text spacing", _cmd(
        "segment", "{i}/pet.nii.gz", "-o", "{o}/m.nii.gz", "--point", "10,10,9",
        "--model", "{i}/model_text_spacing/tiny.safetensors"), "--model"),
    Case("segment --device banana", _seg("-o", "{o}/m.nii.gz", "--device", "banana"), "--device"),
    Case("segment --max-tiles 0", _seg("-o", "{o}/m.nii.gz", "--max-tiles", "0"), "--max-tiles"),
    # --- prompts
    Case("prompts: unknown key 'negatives'", _seg_prompts("p_unknown_key.json"), "negatives"),
    Case("prompts: unknown top-level key", _seg_prompts("p_top_key.json"), "clicks"),
    Case("prompts: JSON true as a coordinate", _seg_prompts("p_bool.json"), "three finite"),
    Case("prompts: NaN coordinate", _seg_prompts("p_nan.json"), "three finite"),
    Case("prompts: 10,000 points", _seg_prompts("p_many.json"), "at most"),
    Case("prompts: 100k-deep JSON", _seg_prompts("p_deep.json"), "nested too deeply"),
    Case("--point nan", _seg("-o", "{o}/m.nii.gz", "--point", "nan,1,1"), "three numbers"),
    # --- image content and size (checked from the header, before reading voxels)
    Case("gzip bomb claiming 1024^3 voxels", _seg_image("bomb.nii.gz"), "limit"),
    Case("complex NIfTI", _seg_image("complex.nii.gz"), "complex"),
    Case("RGB NIfTI", _seg_image("rgb.nii.gz"), "colour"),
    Case("RGB MHA", _seg_image("rgb.mha"), "colour"),
    Case("segment --half-life inf (file input)", _seg("-o", "{o}/m.nii.gz", "--half-life", "inf"),
         "--half-life"),
    # --- suv
    Case("suv -o an existing folder", _cmd("suv", "{i}/PETDIR", "-o", "{o}/dir.nii.gz"),
         "existing folder", ("dir.nii.gz",)),
    Case("suv -o inside the DICOM folder", _cmd("suv", "{i}/PETDIR", "-o",
                                                "{i}/PETDIR/suv.nii.gz"), "inside the input"),
    Case("suv -o suv.png", _cmd("suv", "{i}/PETDIR", "-o", "{o}/suv.png"), ".nii.gz"),
    Case("suv --json onto a DICOM slice", _cmd("suv", "{i}/PETDIR", "-o", "{o}/s.nii.gz",
                                               "--json", "{i}/PETDIR/slice_0000.dcm"), "--json"),
    Case("suv: injection after scan time, no date", _cmd(
        "suv", "{i}/PET_LATE_INJECTION", "-o", "{o}/s.nii.gz"), "RadiopharmaceuticalStartTime"),
    Case("suv --half-life inf", _cmd("suv", "{i}/PETDIR", "-o", "{o}/s.nii.gz", "--half-life",
                                     "inf"), "--half-life"),
    Case("suv --half-life nan", _cmd("suv", "{i}/PETDIR", "-o", "{o}/s.nii.gz", "--half-life",
                                     "nan"), "--half-life"),
    Case("suv --half-life 0", _cmd("suv", "{i}/PETDIR", "-o", "{o}/s.nii.gz", "--half-life", "0"),
         "--half-life"),
    Case("suv --weight 500", _cmd("suv", "{i}/PETDIR", "-o", "{o}/s.nii.gz", "--weight", "500"),
         "--weight"),
    Case("suv: header weight 500 kg", _cmd("suv", "{i}/PET_HEAVY", "-o", "{o}/s.nii.gz"),
         "PatientWeight"),
    Case("suv --injection-time garbage", _cmd("suv", "{i}/PETDIR", "-o", "{o}/s.nii.gz",
                                              "--injection-time", "noon"), "--injection-time"),
    # --- stats
    Case("stats -o the labels' sidecar", _cmd("stats", "{i}/pet.nii.gz", "{i}/labels.nii.gz",
                                              "-o", "{i}/labels.json"), "input"),
    Case("stats --names n.json -o n.json", _cmd("stats", "{i}/pet.nii.gz", "{i}/labels.nii.gz",
                                                "--names", "{i}/names.json", "-o",
                                                "{i}/names.json"), "input"),
    Case("stats -o an existing folder", _cmd("stats", "{i}/pet.nii.gz", "{i}/labels.nii.gz",
                                             "-o", "{o}/dir.json"), "existing folder",
         ("dir.json",)),
    Case("stats -o stats.txt", _cmd("stats", "{i}/pet.nii.gz", "{i}/labels.nii.gz", "-o",
                                    "{o}/stats.txt"), ".csv"),
    Case("stats --names 100k-deep JSON", _cmd("stats", "{i}/pet.nii.gz", "{i}/labels.nii.gz",
                                              "--names", "{i}/names_deep.json"), "names_deep"),
    # --- phantom
    Case("phantom into an existing file", _cmd("phantom", "-o", "{i}/existing_file.txt",
                                               "--small"), "existing file"),
    Case("phantom (legacy positional) into an existing file",
         _cmd("phantom", "{i}/existing_file.txt", "--small"), "existing file"),
    Case("phantom --voxel-mm nan", _cmd("phantom", "-o", "{o}/ph", "--voxel-mm", "nan"),
         "--voxel-mm"),
    Case("phantom --gallery not a PNG", _cmd("phantom", "-o", "{o}/ph", "--small", "--gallery",
                                             "{o}/g.jpg"), "--gallery"),
    # --- evaluate
    Case("evaluate --automatic with a bad model.json", _cmd(
        "evaluate", "--manifest", "{i}/manifest.jsonl", "--automatic", "{i}/bad_automatic",
        "-o", "{o}/ev"), "--automatic"),
    Case("evaluate -o an existing file", _cmd("evaluate", "--manifest", "{i}/manifest.jsonl",
                                              "--baseline", "suv2.5", "-o",
                                              "{i}/existing_file.txt"), "existing file"),
    Case("evaluate --device cuda:7", _cmd("evaluate", "--manifest", "{i}/manifest.jsonl",
                                          "--model", "{i}/tiny.safetensors", "--device",
                                          "cuda:7", "-o", "{o}/ev"), "--device"),
    Case("evaluate: run.json would replace the manifest", _cmd(
        "evaluate", "--manifest", "{i}/evaluation/run.json", "--baseline", "suv2.5",
        "-o", "{i}/evaluation"), "input"),
    # --- network
    Case("network -o an existing file", _cmd("network", "--manifest", "{i}/manifest.jsonl",
                                             "-o", "{i}/existing_file.txt"), "existing file"),
    Case("network --fdr nan", _cmd("network", "--manifest", "{i}/manifest.jsonl", "-o", "{o}/n",
                                   "--fdr", "nan"), "--fdr"),
    # --- train, train-baseline, export-model
    Case("train config 'lr_encoder': 'fast'", _cmd("train", "{i}/train_bad_type.json"),
         "lr_encoder"),
    Case("train --device cuda on CPU torch", _cmd("train", "{i}/train_ok.json", "--device",
                                                  "cuda"), "--device"),
    Case("train --device banana", _cmd("train", "{i}/train_ok.json", "--device", "banana"),
         "--device"),
    Case("train --resume a hostile train_state.pt", _cmd(
        "train", "{i}/train_ok.json", "--resume", "{i}/hostile_run"), "not a plain training state"),
    Case("train unknown config name", _cmd("train", "no_such_config"), "not found"),
    Case("train-baseline -o an existing file", _cmd("train-baseline", "-o",
                                                    "{i}/existing_file.txt"), "existing file"),
    Case("train-baseline --voxel-mm inf", _cmd("train-baseline", "-o", "{o}/b", "--voxel-mm",
                                               "inf"), "--voxel-mm"),
    Case("train-baseline --device banana", _cmd("train-baseline", "-o", "{o}/b", "--device",
                                                "banana"), "--device"),
    Case("export-model --name ../x", _cmd("export-model", "{i}/hostile_run", "--name", "../x"),
         "--name"),
    Case("export-model -o x.pt", _cmd("export-model", "{i}/hostile_run", "-o", "{o}/x.pt"),
         ".safetensors"),
    Case("train --lr-encoder nan", _cmd("train", "{i}/train_ok.json", "--lr-encoder", "nan"),
         "lr_encoder"),
    Case("phantom --lesions -3", _cmd("phantom", "-o", "{o}/ph", "--lesions=-3"), "--lesions"),
    Case("phantom --seed -1", _cmd("phantom", "-o", "{o}/ph", "--seed=-1"), "--seed"),
    Case("segment: a 4D image", _seg_image("frames.nii.gz"), "4D"),
    Case("segment -o a hard link of the input", _seg("-o", "{i}/pet_link.nii.gz"), "input"),
    # --- demo
    Case("demo -o an existing file", _cmd("demo", "-o", "{i}/existing_file.txt"),
         "existing file"),
    Case("demo --device banana", _cmd("demo", "-o", "{o}/demo", "--device", "banana"), "--device"),
]


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_table_covers_every_entry_point() -> None:
    commands = {case.argv(Path("i"), Path("o"))[0] for case in CASES}
    assert {"segment", "suv", "stats", "phantom", "evaluate", "network", "train",
            "train-baseline", "export-model", "demo"} <= commands
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_line_exit_2_and_harmless(case: Case, inputs: Path, tmp_path: Path,
                                                    capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name in case.folders:
        (out / name).mkdir()
    before_inputs, before_outputs = _hashes(inputs), sorted(out.rglob("*"))
    capsys.readouterr()
    try:
        code = main(case.argv(inputs, out))
    except SystemExit as exc:  # argparse rejects bad option values by exiting
        code = exc.code
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2, captured
    assert len(lines) == 1, lines
    assert "Traceback" not in captured.err + captured.out
    assert case.expect in lines[0], lines[0]
    assert _hashes(inputs) == before_inputs  # nothing read was changed, nothing added
    assert sorted(out.rglob("*")) == before_outputs  # no output, no temporary file


def test_outputs_honour_the_umask(inputs: Path, tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        assert main(["stats", str(inputs / "pet.nii.gz"), str(inputs / "labels.nii.gz"),
                     "-o", str(tmp_path / "stats.json")]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "stats.json").stat().st_mode & 0o777 == 0o640


def test_blank_scan_warns(inputs: Path, tmp_path: Path, caplog) -> None:
    blank = _nifti(tmp_path / "blank.nii.gz", np.zeros(SHAPE, np.float32))
    with caplog.at_level("WARNING"):
        code = main(["segment", str(blank), "-o", str(tmp_path / "m.nii.gz"), "--point", "10,10,9",
                     "--model", str(inputs / "tiny.safetensors"), "--no-preview"])
    assert code == 0
    assert any("no positive voxel" in r.getMessage() for r in caplog.records)


def test_sigterm_during_a_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    """A real process, killed while the atomic writer holds a temporary file."""
    series = tmp_path / "BIG"
    values = np.random.default_rng(0).uniform(500, 5000, (160, 160, 120)).astype(np.float32)
    factory.write_series(series, values, np.diag([2.0, 2.0, 2.0, 1.0]))
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "seganypet", "suv", str(series), "-o",
                                str(out / "suv.nii.gz")], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if out.is_dir() and any(p.name.startswith(".suv.nii.gz.") for p in out.iterdir()):
            process.send_signal(signal.SIGTERM)
            break
        time.sleep(0.002)
    else:
        process.kill()
        pytest.fail("the writer's temporary file never appeared")
    _, err = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert list(out.iterdir()) == []  # neither the temporary file nor a partial output
    assert b"Traceback" not in err


@pytest.mark.parametrize("name", bundled_config_names())
def test_every_bundled_train_config_passes_the_type_check(name: str) -> None:
    assert read_config_file(name).preset
