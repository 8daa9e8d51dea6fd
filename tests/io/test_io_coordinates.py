"""One scan stored many ways (RAS, LPS, flipped, permuted, oblique; NIfTI, NRRD, MHA, DICOM)
gives the same world-space mask for the same world-space click, and written masks overlay
their source in nibabel and SimpleITK alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cc3d
import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from pet_dicom_factory import write_series

import seganypet
from seganypet.volume import RAS_TO_LPS, Volume

SHAPE = (20, 16, 12)
THRESHOLD = 2.0


def base_scan(oblique: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(I, J, K)`` GML (already-SUV) values with two separate hot blobs, and its RAS affine."""
    grid = np.indices(SHAPE, dtype=np.float64)
    hot_a = np.sum((grid - np.array([5, 5, 4])[:, None, None, None]) ** 2, axis=0) <= 6
    hot_b = np.sum((grid - np.array([14, 10, 8])[:, None, None, None]) ** 2, axis=0) <= 8
    values = 1.0 + 4.0 * hot_a + 8.0 * hot_b + 0.01 * grid[0]
    affine = np.diag([2.0, 2.5, 3.0, 1.0])
    affine[:3, 3] = [-20.0, -15.0, 40.0]
    if oblique:
        angle = np.deg2rad(30)
        rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
        affine[:3, :3] = rotation @ affine[:3, :3]
    return values, affine


def restored(values: np.ndarray, affine: np.ndarray, axes: tuple[int, int, int],
             flips: tuple[bool, bool, bool]) -> tuple[np.ndarray, np.ndarray]:
    """The same world grid stored with array axes permuted and flipped (affine adjusted)."""
    index_map = np.eye(4)  # new index -> old index
    new_values = np.transpose(values, axes)
    for new_axis, flip in enumerate(flips):
        if flip:
            new_values = np.flip(new_values, axis=new_axis)
    for new_axis, old_axis in enumerate(axes):
        sign = -1.0 if flips[new_axis] else 1.0
        index_map[old_axis, :] = 0
        index_map[old_axis, new_axis] = sign
        index_map[old_axis, 3] = values.shape[old_axis] - 1 if flips[new_axis] else 0
    return np.ascontiguousarray(new_values), affine @ index_map


def write_nifti_file(path: Path, values: np.ndarray, affine: np.ndarray) -> Path:
    nib.save(nib.Nifti1Image(values.astype(np.float32), affine), str(path))
    return path


def write_sitk_file(path: Path, values: np.ndarray, affine: np.ndarray) -> Path:
    image = sitk.GetImageFromArray(np.transpose(values, (2, 1, 0)).astype(np.float32))
    lps = RAS_TO_LPS @ affine
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    image.SetSpacing(spacing.tolist())
    image.SetDirection((lps[:3, :3] / spacing).ravel().tolist())
    image.SetOrigin(lps[:3, 3].tolist())
    sitk.WriteImage(image, str(path))
    return path


def write_dicom_dir(path: Path, values: np.ndarray, affine: np.ndarray) -> Path:
    write_series(path, values, affine, header={"Units": "GML"})
    return path


STORAGES: dict[str, tuple[tuple[int, int, int], tuple[bool, bool, bool]]] = {
    "as-is": ((0, 1, 2), (False, False, False)),
    "lps-flipped": ((0, 1, 2), (True, True, False)),
    "k-flipped": ((0, 1, 2), (False, False, True)),
    "permuted": ((1, 0, 2), (False, True, False)),
    "axial-last-first": ((2, 0, 1), (True, False, False)),
}
WRITERS: dict[str, Callable[[Path, np.ndarray, np.ndarray], Path]] = {
    "scan.nii.gz": write_nifti_file,
    "scan.nrrd": write_sitk_file,
    "scan.mha": write_sitk_file,
    "dicom": write_dicom_dir,
}


def threshold_component_mask(volume: Volume, click_mm: np.ndarray) -> Volume:
    """Deterministic stand-in segmenter: the connected component above THRESHOLD at the click."""
    index = volume.nearest_index(click_mm)
    components = cc3d.connected_components(volume.array > THRESHOLD, connectivity=6)
    label = components[index]
    assert label != 0, "the click must hit a hot voxel"
    return volume.with_array((components == label).astype(np.uint8), unit="label")


def world_points(mask: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Sorted RAS mm centres ``(N, 3)`` of the nonzero voxels, rounded to 1 µm."""
    index = np.argwhere(mask > 0).astype(np.float64)
    world = index @ affine[:3, :3].T + affine[:3, 3]
    world = np.round(world, 3) + 0.0  # + 0.0 turns -0.0 into 0.0
    return world[np.lexsort(world.T[::-1])]


@pytest.mark.parametrize("oblique", [False, True], ids=["axis-aligned", "oblique"])
@pytest.mark.parametrize("storage", sorted(STORAGES))
@pytest.mark.parametrize("file_name", sorted(WRITERS))
def test_same_world_click_gives_same_world_mask(tmp_path: Path, oblique: bool, storage: str,
                                                file_name: str) -> None:
    values, affine = base_scan(oblique)
    expected = world_points(values > 7.0, affine)  # blob b (values >= 9) in world mm
    click_mm = affine[:3, :3] @ np.array([14, 10, 8]) + affine[:3, 3]
    axes, flips = STORAGES[storage]
    stored_values, stored_affine = restored(values, affine, axes, flips)
    path = WRITERS[file_name](tmp_path / file_name, stored_values, stored_affine)
    volume = seganypet.read_pet(path)
    mask = threshold_component_mask(volume, click_mm)
    got = world_points(mask.array, mask.affine)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=2e-3)


@pytest.mark.parametrize("suffix", [".nii.gz", ".nrrd", ".mha"])
@pytest.mark.parametrize("oblique", [False, True], ids=["axis-aligned", "oblique"])
def test_written_mask_overlays_source_in_nibabel_and_simpleitk(tmp_path: Path, suffix: str,
                                                              oblique: bool) -> None:
    values, affine = base_scan(oblique)
    stored_values, stored_affine = restored(values, affine, (1, 0, 2), (True, False, True))
    source = seganypet.read_pet(write_nifti_file(tmp_path / "scan.nii.gz", stored_values, stored_affine))
    mask = threshold_component_mask(source, affine[:3, :3] @ np.array([5, 5, 4]) + affine[:3, 3])
    expected = world_points(mask.array, source.affine)
    out = seganypet.write_mask(mask, tmp_path / f"mask{suffix}", name="blob")

    if suffix == ".nii.gz":
        img = nib.load(str(out))
        np.testing.assert_allclose(world_points(np.asarray(img.dataobj), img.affine), expected, atol=2e-3)
    image = sitk.ReadImage(str(out))
    array_ijk = np.transpose(sitk.GetArrayFromImage(image), (2, 1, 0))
    lps = np.array([image.TransformIndexToPhysicalPoint([int(v) for v in idx])
                    for idx in np.argwhere(array_ijk > 0)])
    ras = np.round(lps * np.array([-1.0, -1.0, 1.0]), 3) + 0.0
    np.testing.assert_allclose(ras[np.lexsort(ras.T[::-1])], expected, atol=2e-3)
    # And the package reads it back onto the source grid, voxel for voxel.
    back = seganypet.read_mask(out, reference=source)
    assert np.array_equal(back.array, mask.array)
    assert back.meta["label_names"] == {1: "blob"}
