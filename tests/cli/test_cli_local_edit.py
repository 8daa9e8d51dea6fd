"""``seganypet segment [--no-local-edit]``: a corrective negative click near a hot sphere's edge
removes only what lies near it by default; without the edit the model's whole new mask (which
shrinks the sphere) is written."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from tests.session.conftest import CLICK, ras_scene

from seganypet.cli import main
from seganypet.io.nifti import write_nifti


@pytest.fixture(scope="module")
def sphere_scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    scan, sphere = ras_scene()
    path = tmp_path_factory.mktemp("scan") / "sphere_SUV.nii.gz"
    write_nifti(scan, path)
    return path, sphere


def _segment(scan: Path, out: Path, *flags: str) -> np.ndarray:
    point = ",".join(str(v) for v in CLICK)
    assert main(["segment", str(scan), "-o", str(out), "--point", point,
                 "--negative", "24,22,30", "--no-preview", *flags]) == 0
    return np.asarray(nib.load(str(out)).dataobj) > 0


def test_negative_click_is_local_unless_turned_off(sphere_scan, tmp_path: Path) -> None:
    scan, sphere = sphere_scan
    local = _segment(scan, tmp_path / "local.nii.gz")
    whole = _segment(scan, tmp_path / "whole.nii.gz", "--no-local-edit")
    assert not local[24, 22, 30] and not whole[24, 22, 30]
    assert local.sum() > 0.85 * sphere.sum() > whole.sum()
