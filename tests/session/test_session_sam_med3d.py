"""The sam-med3d preset, loaded with the golden deterministic weights (spec §2), runs end to
end through the Session on the real STS_001 whole-body FDG scan.

Random weights make the mask values meaningless; the point is the official-architecture
path (1.5 mm RAS patches, upstream z-score, quirk mode) producing a mask file with the scan's
exact geometry, without a crash.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from seganypet.cli import main
from seganypet.io.read import read_pet
from seganypet.model import save_model
from seganypet.model.checkpoint import model_from_state_dict
from seganypet.session import Session


@pytest.mark.slow
def test_sam_med3d_golden_weights_segment_sts001(golden_weights, sts001_dir, tmp_path) -> None:
    model = model_from_state_dict(golden_weights, None, "golden weights")
    assert model.config.name == "sam-med3d" and model.config.upstream_quirks
    image = read_pet(sts001_dir / "derived_nifti" / "STS_001_PET_SUVbw.nii.gz")
    gtv = np.asarray(nib.load(str(sts001_dir / "derived_nifti" / "STS_001_GTV_Mass_mask.nii.gz")).dataobj)
    click = tuple(int(v) for v in np.argwhere(gtv).mean(0).round())
    session = Session(model, max_tiles=2)
    session.set_image(image)
    assert not session.multimask  # upstream's candidate tokens were never trained
    mask = session.add_point(click)
    tile = session.current.tiles[(0, 0, 0)]
    assert tile.grid.size == 128 and tile.grid.spacing == pytest.approx((1.5,) * 3)
    assert tile.logits.shape == (32, 32, 32) and np.isfinite(tile.logits).all()
    assert mask.shape == image.shape and np.array_equal(mask.affine, image.affine)

    # The same from the DICOM series through the CLI, with the click given in world mm
    # (the DICOM array need not share the NIfTI's axis order) and the weights from a file.
    weights, _ = save_model(model, tmp_path / "golden.safetensors")
    out = tmp_path / "gtv.nii.gz"
    world = ",".join(f"{v:.3f}" for v in image.index_to_world(click))
    assert main(["segment", str(sts001_dir / "dicom_pet"), "-o", str(out), "--world",
                 f"--point={world}", "--model", str(weights), "--max-tiles", "1"]) == 0
    written = nib.load(str(out))
    dicom_image = read_pet(sts001_dir / "dicom_pet")
    assert written.shape == dicom_image.shape
    assert np.allclose(written.affine, dicom_image.affine, atol=1e-3)
    assert np.asarray(written.dataobj).any()  # the golden weights find the GTV
    assert (tmp_path / "gtv_seg.dcm").exists()  # DICOM input -> DICOM-SEG beside the mask
