"""``seganypet demo`` (the README's main job): phantom -> clicks -> masks -> files, offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from seganypet.cli import main


def _histories(text: str) -> dict[str, list[float]]:
    found = re.findall(r"^\s+(\S+)\s+Dice vs ground truth after each of \d+ click\(s\): (.+)$",
                       text, flags=re.MULTILINE)
    return {name: [float(v) for v in steps.split(" -> ")] for name, steps in found}


def test_demo_segments_and_refines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", str(out), "--clicks", "3"]) == 0
    histories = _histories(capsys.readouterr().out)
    assert next(iter(histories)) == "liver" and len(histories) == 2
    assert all(len(h) == 3 for h in histories.values())
    liver, lesion = histories["liver"], next(v for k, v in histories.items() if k != "liver")
    # the model's own one-click liver is weak (0.34); the plateau snap (on by default) shows the
    # liver's own isocontour (0.69). The corrective clicks then first lose, then regain it
    # (0.40, 0.72): the model overreacts to a single corrective click (docs/results.md,
    # "three clicks with and without the plateau snap"); the demo must still end liver-sized.
    assert liver[0] > 0.6 and liver[-1] > 0.65
    assert lesion[0] > 0.6 and max(lesion) > 0.85
    seg = nib.load(out / "segmentation.nii.gz")
    truth = nib.load(out / "phantom_truth.nii.gz")
    assert np.allclose(seg.affine, truth.affine) and seg.shape == truth.shape
    labels = np.asarray(seg.dataobj)
    assert set(np.unique(labels)) == {0, 1, 2}
    stats = json.loads((out / "segmentation_stats.json").read_text())
    volumes = {o["name"]: o["volume_ml"] for o in stats["objects"]}
    voxel_ml = float(np.prod(seg.header.get_zooms()[:3])) / 1000.0
    assert volumes["liver"] == pytest.approx(float((labels == 1).sum()) * voxel_ml, rel=1e-6)
    assert (out / "segmentation_preview.png").stat().st_size > 10_000


def test_demo_rejects_zero_clicks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", str(tmp_path / "x"), "--clicks", "0"]) != 0
    assert "--clicks must be at least 1" in capsys.readouterr().err
