from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from seganypet.errors import InputError
from seganypet.io.nifti import read_nifti, write_nifti
from seganypet.volume import InvalidVolumeError, Volume


def oblique_affine() -> np.ndarray:
    angle = np.deg2rad(20)
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.diag([2.0, 3.0, 4.0])
    affine[:3, 3] = [-100.0, 20.0, 5.0]
    return affine


def test_spacing_origin_and_index_world_roundtrip() -> None:
    vol = Volume(np.zeros((4, 5, 6), np.float32), oblique_affine(), "SUVbw")
    assert vol.spacing == pytest.approx((2.0, 3.0, 4.0))
    assert vol.origin == pytest.approx((-100.0, 20.0, 5.0))
    idx = np.array([[1.0, 2.0, 3.0], [0.5, 4.0, 5.5]])
    assert np.allclose(vol.world_to_index(vol.index_to_world(idx)), idx)
    # LPS flips the first two world axes and nothing else.
    assert np.allclose(vol.index_to_lps(idx)[:, :2], -vol.index_to_world(idx)[:, :2])
    assert np.allclose(vol.lps_to_index(vol.index_to_lps(idx)), idx)
    assert vol.voxel_volume_ml == pytest.approx(24.0 / 1000)


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4, 5), (0, 3, 3)])
def test_non_3d_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(InvalidVolumeError):
        Volume(np.zeros(shape), np.eye(4))


def test_singular_affine_refused() -> None:
    with pytest.raises(InputError, match="singular"):
        Volume(np.zeros((2, 2, 2)), np.diag([1.0, 0.0, 1.0, 1.0]))


def test_nifti_roundtrip_keeps_affine_and_array(tmp_path) -> None:
    arr = np.random.default_rng(0).random((4, 5, 6)).astype(np.float32)
    vol = Volume(arr, oblique_affine())
    out = write_nifti(vol, tmp_path / "a.nii.gz")
    back = read_nifti(out)
    assert np.array_equal(back.array, arr)
    assert np.allclose(back.affine, vol.affine, atol=1e-5)
    assert np.allclose(nib.load(str(out)).affine, vol.affine, atol=1e-5)
    assert not list(tmp_path.glob(".*tmp*")), "temporary files must not be left behind"


def test_nifti_nan_and_corrupt_refused(tmp_path) -> None:
    arr = np.ones((3, 3, 3), np.float32)
    arr[1, 1, 1] = np.nan
    nib.save(nib.Nifti1Image(arr, np.eye(4)), str(tmp_path / "nan.nii.gz"))
    with pytest.raises(InvalidVolumeError, match="NaN"):
        read_nifti(tmp_path / "nan.nii.gz")
    (tmp_path / "bad.nii.gz").write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(InvalidVolumeError, match="cannot read"):
        read_nifti(tmp_path / "bad.nii.gz")
