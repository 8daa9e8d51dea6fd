"""``seganypet segment --grow N / --shrink N``: step the first-click candidate by volume."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import torch

from seganypet.cli import main
from seganypet.io.nifti import write_nifti
from seganypet.model import build_model, save_model
from seganypet.volume import Volume


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Tiny random-weight model (one patch: shown masks are the candidates); a hot core (SUV 9) in a warm halo (SUV 4) in background 1,
    so the isocontour candidates give at least two scales."""
    root = tmp_path_factory.mktemp("grow")
    torch.manual_seed(0)
    weights, _ = save_model(build_model("tiny"), root / "tiny.safetensors")
    shape = (40, 36, 30)
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1)
    dist = np.linalg.norm(idx - np.array([20, 18, 15]), axis=-1)
    image = (1 + 3 * (dist < 8) + 5 * (dist < 3.5)).astype(np.float32)
    path = write_nifti(Volume(image, np.diag([4.0, 4.0, 4.0, 1.0])), root / "pet.nii.gz")
    return root, path, weights


def _segment(files, name: str, *extra: str) -> tuple[int, int]:
    root, image, weights = files
    out = root / f"{name}.nii.gz"
    rc = main(["segment", str(image), "-o", str(out), "--point", "20,18,15", "--model",
               str(weights), "--max-tiles", "1", "--no-preview", *extra])
    return rc, int(np.asarray(nib.load(str(out)).dataobj).sum()) if rc == 0 else -1


def test_shrink_then_grow_changes_the_volume_and_past_the_end_is_one_line(files, capsys) -> None:
    rc, shown = _segment(files, "shown")
    assert rc == 0
    rc, smaller = _segment(files, "smaller", "--shrink", "1")
    if rc == 0:  # the shown candidate can already be the smallest
        assert smaller < shown
    rc, _ = _segment(files, "huge", "--grow", "50")
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no larger candidate" in err[0]
    with pytest.raises(SystemExit):
        main(["segment", "x.nii.gz", "-o", "y.nii.gz", "--point", "1,1,1", "--grow", "1",
              "--shrink", "1"])
