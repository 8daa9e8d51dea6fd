"""Label maps with JSON sidecars, and DICOM-SEG written against a PET series and read back."""

from __future__ import annotations

import json
from pathlib import Path

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
import pytest
from pet_dicom_factory import write_series

import seganypet
from seganypet.errors import InputError
from seganypet.io.labels import sidecar_path
from seganypet.volume import Volume


def label_volume(shape: tuple[int, int, int], affine: np.ndarray) -> Volume:
    labels = np.zeros(shape, dtype=np.uint16)
    labels[1:4, 2:5, 1:3] = 1
    labels[6:9, 1:3, 2:4] = 7
    return Volume(labels, affine, "label")


@pytest.mark.parametrize("max_label,dtype", [(200, np.uint8), (300, np.uint16)])
def test_label_map_dtype_and_sidecar_round_trip(tmp_path: Path, max_label: int, dtype: type) -> None:
    labels = label_volume((10, 6, 5), np.diag([2.0, 2.0, 3.0, 1.0]))
    array = labels.array.copy()
    array[0, 0, 0] = max_label
    path = seganypet.write_label_map(labels.with_array(array), tmp_path / "organs.nii.gz",
                                     {1: "liver", 7: "spleen", max_label: "lesion"})
    assert nib.load(str(path)).get_data_dtype() == dtype
    assert json.loads(sidecar_path(path).read_text())["labels"] == {"1": "liver", "7": "spleen",
                                                                     str(max_label): "lesion"}
    back = seganypet.read_label_map(path)
    assert np.array_equal(back.array, array) and back.array.dtype == dtype
    assert back.meta["label_names"] == {1: "liver", 7: "spleen", max_label: "lesion"}
    assert np.allclose(back.affine, labels.affine)


def test_label_map_with_fractions_is_refused_and_nothing_written(tmp_path: Path) -> None:
    labels = Volume(np.full((4, 4, 4), 0.5), np.eye(4))
    with pytest.raises(InputError, match="whole numbers"):
        seganypet.write_label_map(labels, tmp_path / "bad.nii.gz")
    assert list(tmp_path.iterdir()) == []


def test_mask_on_another_grid_is_refused(tmp_path: Path) -> None:
    image = Volume(np.zeros((6, 6, 6), np.float32), np.diag([2.0, 2.0, 2.0, 1.0]))
    mask = Volume(np.ones((6, 6, 6), np.uint8), np.diag([3.0, 2.0, 2.0, 1.0]))
    path = seganypet.write_mask(mask, tmp_path / "mask.nii.gz")
    with pytest.raises(InputError, match="not the image grid"):
        seganypet.read_mask(path, reference=image)


def oblique_affine() -> np.ndarray:
    angle = np.deg2rad(20)
    affine = np.eye(4)
    affine[:3, :3] = np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)],
                               [0, np.sin(angle), np.cos(angle)]]) @ np.diag([2.0, 2.5, 3.0])
    affine[:3, 3] = [10.0, -30.0, 55.0]
    return affine


@pytest.fixture
def synthetic_pet(tmp_path: Path, rng: np.random.Generator) -> Volume:
    values = rng.uniform(100, 20000, size=(10, 6, 5))
    write_series(tmp_path / "pet", values, oblique_affine(), file_order=rng.permutation(5))
    return seganypet.read_pet(tmp_path / "pet")


def test_dicom_seg_round_trip_on_synthetic_series(tmp_path: Path, synthetic_pet: Volume) -> None:
    labels = label_volume(synthetic_pet.shape, synthetic_pet.affine)
    out = seganypet.write_dicom_seg(labels, tmp_path / "seg.dcm", synthetic_pet, {1: "liver", 7: "lesion"})
    ds = pydicom.dcmread(out)
    assert ds.Modality == "SEG"
    referenced = {item.ReferencedSOPInstanceUID for series in ds.ReferencedSeriesSequence
                  for item in series.ReferencedInstanceSequence}
    assert referenced <= set(synthetic_pet.meta["dicom"]["sop_instance_uids"])
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == synthetic_pet.meta["dicom"]["series_instance_uid"]

    back = seganypet.read_dicom_seg(out, reference=synthetic_pet)
    expected = np.select([labels.array == 1, labels.array == 7], [1, 2], 0)  # segments 1..N
    assert np.array_equal(back.array, expected)
    assert back.meta["label_names"] == {1: "liver", 2: "lesion"}
    # Without a reference: the SEG's own grid must hold the same world voxels.
    own = seganypet.read_dicom_seg(out)
    world = own.index_to_world(np.argwhere(own.array == 2))
    index = np.rint(synthetic_pet.world_to_index(world)).astype(int)
    assert np.all(labels.array[tuple(index.T)] == 7) and len(index) == np.sum(labels.array == 7)


def test_dicom_seg_from_series_folder_and_via_read_mask(tmp_path: Path, synthetic_pet: Volume) -> None:
    labels = label_volume(synthetic_pet.shape, synthetic_pet.affine)
    out = seganypet.write_dicom_seg(labels, tmp_path / "seg.dcm", tmp_path / "pet")
    mask = seganypet.read_mask(out, reference=synthetic_pet)
    assert np.array_equal(mask.array, (labels.array > 0).astype(np.uint8))


def test_dicom_seg_needs_a_dicom_source(tmp_path: Path) -> None:
    image = Volume(np.zeros((4, 4, 4), np.float32), np.eye(4))
    with pytest.raises(InputError, match="not read from DICOM"):
        seganypet.write_dicom_seg(image.with_array(np.ones((4, 4, 4), np.uint8)), tmp_path / "s.dcm", image)
    assert not (tmp_path / "s.dcm").exists()


def test_sts001_gtv_dicom_seg_round_trip(tmp_path: Path, sts001_dir: Path) -> None:
    pet = seganypet.read_pet(sts001_dir / "dicom_pet")
    gtv = seganypet.read_mask(sts001_dir / "rtstruct" / "RS_GTV_Mass_GTV_Edema.dcm", pet, roi="GTV_Mass")
    out = seganypet.write_dicom_seg(gtv, tmp_path / "gtv_seg.dcm", pet, {1: "GTV_Mass"})
    seg = hd.seg.segread(out)
    assert seg.SegmentSequence[0].SegmentLabel == "GTV_Mass"
    back = seganypet.read_mask(out, reference=pet)
    assert np.array_equal(back.array, gtv.array) and int(back.array.sum()) == int(gtv.array.sum())
