"""The shipped default model with the isocontour safety net, on scenes it never trained on:
a simulated NEMA IEC body phantom, and the real STS_001 scan (mid-liver click)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seganypet import Session, load_model, read_pet
from seganypet.data.nema import nema_phantom
from seganypet.quantify.delineation import isocontour_from_seed

LIVER_CLICK = (50, 68, 150)  # mid-liver voxel of STS_001 (issue 15)


@pytest.fixture(scope="module")
def default_model():
    return load_model("default")


@pytest.mark.parametrize("diameter", [22.0, 28.0, 37.0])
def test_one_click_per_nema_sphere_gives_its_volume(default_model, diameter: float) -> None:
    phantom = nema_phantom(contrast=4.0, psf_fwhm_mm=6.0, noise=0.1)
    session = Session(default_model)
    session.set_image(phantom.image)
    mask = session.add_point(phantom.centres[diameter]).array > 0
    ratio = mask.sum() / phantom.spheres[diameter].sum()
    assert 0.8 <= ratio <= 1.2, f"{diameter:.0f} mm sphere: {ratio:.2f} of its volume"


@pytest.mark.parametrize("contrast", [4.0, 8.0])
def test_nema_spheres_of_17_mm_and_up_within_15_percent(default_model, contrast: float) -> None:
    """Issue 15's target on the simulated IEC phantom (real NEMA scans are judged elsewhere):
    one click per sphere of 17-37 mm at 4:1 and 8:1, volume within 15 %. The 4:1 22 mm sphere
    needed rule 2's chain (its model mask is the core, x0.37; docs/results.md, 15:52 UTC)."""
    phantom = nema_phantom(contrast=contrast, psf_fwhm_mm=6.0, noise=0.1)
    ratios = {}
    for diameter in (17.0, 22.0, 28.0, 37.0):
        session = Session(default_model)
        session.set_image(phantom.image)
        mask = session.add_point(phantom.centres[diameter]).array > 0
        ratios[diameter] = round(float(mask.sum() / phantom.spheres[diameter].sum()), 2)
    assert all(0.85 <= r <= 1.15 for r in ratios.values()), ratios


@pytest.fixture(scope="module")
def sts001_pet(sts001_dir: Path):
    path = sts001_dir / "derived_nifti" / "STS_001_PET_SUVbw.nii.gz"
    if not path.is_file():
        pytest.skip("STS_001 derived NIfTI not present")
    return read_pet(path)


def test_mid_liver_click_gives_a_liver_sized_mask(default_model, sts001_pet) -> None:
    """Issue 15: the model's own mask is 0.35 L; the plateau snap (on by default) shows the
    liver's opened isocontour inside the click's territory against the heart and the kidney
    (1.44 L)."""
    session = Session(default_model)
    _assert_liver_sized(session, sts001_pet)
    assert session.candidates[session.candidate].source == "territory"
    session.shrink()  # the model's mask it replaced stays a candidate
    assert session.mask.array.sum() * sts001_pet.voxel_volume_ml < 1000.0


def test_mid_liver_click_without_the_plateau_snap_is_the_models_mask(default_model,
                                                                      sts001_pet) -> None:
    """``plateau_snap=False`` keeps rules 1-4: the model's own candidate, a third of the liver."""
    session = Session(default_model, plateau_snap=False)
    session.set_image(sts001_pet)
    litres = (session.add_point(LIVER_CLICK).array > 0).sum() * sts001_pet.voxel_volume_ml / 1000
    assert 0.2 <= litres <= 0.8, f"{litres:.2f} L"
    assert session.candidates[session.candidate].source == "model"


def _assert_liver_sized(session: Session, sts001_pet) -> None:
    session.set_image(sts001_pet)
    mask = session.add_point(LIVER_CLICK).array > 0
    litres = mask.sum() * sts001_pet.voxel_volume_ml / 1000
    assert 1.2 <= litres <= 2.5, f"{litres:.2f} L"
    # Neighbours found from the image itself (no organ labels ship with STS_001): the hottest
    # structures just caudal (kidney) and cranial-medial (heart) of the liver must stay out,
    # and so must the lung, the large low-uptake region above the liver.
    suv = sts001_pet.array
    for box in ((slice(30, 70), slice(55, 95), slice(100, 135)),
                (slice(50, 100), slice(40, 90), slice(160, 200))):
        peak = np.unravel_index(int(np.argmax(suv[box])), suv[box].shape)
        seed = tuple(int(p + b.start) for p, b in zip(peak, box))
        neighbour = isocontour_from_seed(sts001_pet, seed).mask.array > 0
        assert (neighbour & mask).sum() < 0.1 * neighbour.sum(), f"reaches the organ at {seed}"
    lung = (suv < 0.5) & (np.arange(suv.shape[2]) > LIVER_CLICK[2])[None, None, :]
    assert (mask & lung).sum() * sts001_pet.voxel_volume_ml < 20.0, "reaches the lung"


def test_node_beside_the_real_bladder_is_not_the_bladder(default_model, sts001_pet) -> None:
    """A 5 ml node (SUVmax 10) inserted beside STS_001's bladder (SUV ~40): before the clicked
    territory rule the shown mask was the bladder (x20-x36 on such lesions)."""
    from seganypet.data.lesion_insertion import insert_lesion, lesion_solid, touching_centres
    from seganypet.evaluation.metrics import dice
    from seganypet.mask_centre import distance_center

    rng = np.random.default_rng(0)
    radius = (3 * 5000 / (4 * np.pi)) ** (1 / 3)
    centres = touching_centres(sts001_pet, radius, hot_suv=10.0, k_range=(45, 75))
    assert len(centres)
    spacing = np.abs(np.asarray(sts001_pet.spacing))
    lesion = insert_lesion(sts001_pet, lesion_solid(rng, centres[len(centres) // 2] * spacing, 5.0),
                           10.0, rng)
    session = Session(default_model)
    session.set_image(lesion.image)
    mask = session.add_point(distance_center(lesion.truth, sts001_pet.spacing)).array > 0
    assert mask.sum() < 2 * lesion.truth.sum()
    assert dice(mask, lesion.truth) > 0.6
