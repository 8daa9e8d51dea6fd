"""``seganypet segment [--no-plateau-snap]``: the plateau snap (on by default) from the command
line, on the real STS_001 scan's mid-liver click (issue 15)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from seganypet.cli import main


@pytest.mark.parametrize(("flags", "litres"), [([], (1.2, 2.5)), (["--no-plateau-snap"], (0.2, 0.8))])
def test_mid_liver_click_from_the_command_line(sts001_dir: Path, tmp_path: Path, flags, litres) -> None:
    pet = sts001_dir / "derived_nifti" / "STS_001_PET_SUVbw.nii.gz"
    if not pet.is_file():
        pytest.skip("STS_001 derived NIfTI not present")
    out = tmp_path / "liver.nii.gz"
    assert main(["segment", str(pet), "-o", str(out), "--point", "50,68,150", "--no-preview",
                 *flags]) == 0
    image = nib.load(str(out))
    volume = float(np.asarray(image.dataobj).astype(bool).sum()) * float(
        np.prod(image.header.get_zooms()[:3])) / 1e6
    assert litres[0] <= volume <= litres[1], f"{volume:.2f} L"
