"""DICOM PET series -> SUVbw Volume: the real STS_001 scan and synthetic series."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from pet_dicom_factory import BASE_FACTOR, write_series

import seganypet
from seganypet.errors import InputError
from seganypet.io.grid import reorient_to
from seganypet.io.read import read_mask
from seganypet.volume import Volume


def values_in_world_order(source_array: np.ndarray, source_affine: np.ndarray, target: Volume) -> np.ndarray:
    """Sample ``target`` at the world position of every voxel of the source grid.

    Asserts that every source voxel centre is a target voxel centre (same grid up to axis
    order), so nothing is interpolated. Returns an array shaped like ``source_array``.
    """
    source_to_target = np.linalg.inv(target.affine) @ np.asarray(source_affine, dtype=np.float64)
    index = np.indices(source_array.shape, dtype=np.float64).reshape(3, -1)  # (3, N) source voxels
    target_index = source_to_target[:3, :3] @ index + source_to_target[:3, 3:]  # (3, N)
    rounded = np.rint(target_index).astype(int)
    assert np.abs(target_index - rounded).max() < 0.01
    assert (rounded >= 0).all() and (rounded < np.asarray(target.shape)[:, None]).all()
    return target.array[tuple(rounded)].reshape(source_array.shape)


@pytest.fixture(scope="module")
def sts001_suv(sts001_dir: Path) -> Volume:
    return seganypet.read_pet(sts001_dir / "dicom_pet")


def test_sts001_suv_matches_reference_within_0p1_percent(sts001_suv: Volume, sts001_dir: Path) -> None:
    reference = nib.load(sts001_dir / "derived_nifti" / "STS_001_PET_SUVbw.nii.gz")
    expected = reference.get_fdata(dtype=np.float32)
    ours = values_in_world_order(expected, reference.affine, sts001_suv)
    np.testing.assert_allclose(ours, expected, rtol=1e-3, atol=1e-4)
    assert float(ours.max()) == pytest.approx(66.5, abs=0.05)
    suv = sts001_suv.meta["suv"]
    assert 1.0 / suv["factor"] == pytest.approx(4116.87, rel=1e-5)
    assert suv["weight_kg"] == 71.0 and suv["decay_time_s"] == 2711.0
    assert sts001_suv.unit == "SUVbw" and len(sts001_suv.meta["dicom"]["files"]) == 267


def test_sts001_rtstruct_gtv_mass_matches_reference_mask(sts001_suv: Volume, sts001_dir: Path) -> None:
    mask = read_mask(sts001_dir / "rtstruct" / "RS_GTV_Mass_GTV_Edema.dcm", sts001_suv, roi="GTV_Mass")
    reference = nib.load(sts001_dir / "derived_nifti" / "STS_001_GTV_Mass_mask.nii.gz")
    expected = np.asarray(reference.dataobj) > 0
    ours = values_in_world_order(expected, reference.affine, mask) > 0
    dice = 2 * np.sum(ours & expected) / (ours.sum() + expected.sum())
    assert dice >= 0.9
    assert 0.9 * 5095 < ours.sum() < 1.1 * 5095
    # The lesion's SUVmax inside the GTV is 7.91 in the reference processing.
    assert float(sts001_suv.array[mask.array > 0].max()) == pytest.approx(7.91, abs=0.02)


def oblique_affine(shape_k_step: float = 4.0) -> np.ndarray:
    angle = np.deg2rad(25)
    rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([2.0, 3.0, shape_k_step])
    affine[:3, 3] = [-40.0, 25.0, -100.0]
    return affine


def synthetic_activity(rng: np.random.Generator, shape: tuple[int, int, int] = (12, 10, 8)) -> np.ndarray:
    """Bq/ml-like values with a different range per slice (so per-slice slopes differ)."""
    values = rng.uniform(0, 20000, size=shape)
    return values * np.linspace(0.2, 3.0, shape[2])[None, None, :]


@pytest.mark.parametrize("reverse_slices", [False, True])
def test_synthetic_oblique_series_with_per_slice_slopes(tmp_path: Path, rng: np.random.Generator,
                                                       reverse_slices: bool) -> None:
    values = synthetic_activity(rng)
    affine = oblique_affine()
    if reverse_slices:  # k pointing against the slice normal: the reader re-sorts the slices
        affine = affine @ np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, -1, 7], [0, 0, 0, 1.0]])
    order = rng.permutation(values.shape[2])  # file names in random order
    write_series(tmp_path / "pet", values, affine, file_order=order)
    volume = seganypet.read_pet(tmp_path / "pet")
    aligned = reorient_to(volume, Volume(values, affine))
    slopes = values.reshape(-1, values.shape[2]).max(axis=0) / 30000.0
    # Quantisation to int16: at most half a stored step of each slice.
    tolerance = 0.51 * slopes[None, None, :] * BASE_FACTOR
    assert np.all(np.abs(aligned.array - values * BASE_FACTOR) <= tolerance)
    assert np.allclose(volume.spacing, (2.0, 3.0, 4.0), atol=1e-4)
    assert reverse_slices == (not np.allclose(volume.affine, affine, atol=1e-4))


def test_series_level_mismatch_is_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    values = synthetic_activity(rng, (6, 5, 4))
    paths = write_series(tmp_path / "pet", values, np.diag([2.0, 2.0, 2.0, 1.0]))
    import pydicom

    ds = pydicom.dcmread(paths[2])
    ds.PatientWeight = "80"
    ds.save_as(paths[2])
    with pytest.raises(InputError, match="PatientWeight|weight_kg"):
        seganypet.read_pet(tmp_path / "pet")


def test_two_series_in_one_folder_are_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    values = synthetic_activity(rng, (6, 5, 4))
    write_series(tmp_path / "pet" / "a", values, np.diag([2.0, 2.0, 2.0, 1.0]))
    write_series(tmp_path / "pet" / "b", values, np.diag([2.0, 2.0, 2.0, 1.0]))
    with pytest.raises(InputError, match="2 PET series"):
        seganypet.read_pet(tmp_path / "pet")


def test_missing_slice_is_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    paths = write_series(tmp_path / "pet", synthetic_activity(rng, (6, 5, 5)), np.diag([2.0, 2.0, 2.0, 1.0]))
    paths[2].unlink()
    with pytest.raises(InputError, match="unevenly spaced"):
        seganypet.read_pet(tmp_path / "pet")


def test_pet_is_picked_beside_a_ct_series(tmp_path: Path, rng: np.random.Generator) -> None:
    values = synthetic_activity(rng, (6, 5, 4))
    write_series(tmp_path / "study" / "pet", values, np.diag([2.0, 2.0, 2.0, 1.0]))
    write_series(tmp_path / "study" / "ct", values, np.diag([1.0, 1.0, 1.0, 1.0]), modality="CT")
    volume = seganypet.read_pet(tmp_path / "study")
    assert volume.shape == (6, 5, 4) and volume.unit == "SUVbw"


def test_sul_needs_and_uses_height_and_sex(tmp_path: Path, rng: np.random.Generator) -> None:
    values = synthetic_activity(rng, (6, 5, 4))
    write_series(tmp_path / "pet", values, np.diag([2.0, 2.0, 2.0, 1.0]))
    suv = seganypet.read_pet(tmp_path / "pet")
    sul = seganypet.read_pet(tmp_path / "pet", sul=True)  # header: 1.75 m, M
    assert sul.unit == "SUL"
    np.testing.assert_allclose(sul.array, suv.array * 0.7979586817511067, rtol=1e-6)
    female = seganypet.read_pet(tmp_path / "pet", sul=True, sex="F")
    np.testing.assert_allclose(female.array, suv.array * 0.6456716417910447, rtol=1e-6)
