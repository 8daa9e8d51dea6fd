"""RTSTRUCT rasterisation on a synthetic structure set with hand-counted voxels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

import seganypet
from seganypet.errors import InputError
from seganypet.io.rtstruct import rtstruct_roi_names
from seganypet.volume import Volume

# RAS grid: voxel (i, j, k) at (i, j, 2k) mm, so LPS = (-i, -j, 2k).
GRID = Volume(np.zeros((20, 20, 6), np.float32), np.diag([1.0, 1.0, 2.0, 1.0]))


def square_lps(low: float, high: float, k: float) -> list[float]:
    """A square in voxel units (corners at ``low``/``high`` in i and j) as flat LPS ContourData."""
    corners = [(low, low), (high, low), (high, high), (low, high)]
    return [c for i, j in corners for c in (-i, -j, 2.0 * k)]


def write_rtstruct(path: Path, rois: dict[str, list[list[float]]]) -> Path:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.481.3"
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.Modality = "RTSTRUCT"
    ds.StructureSetROISequence, ds.ROIContourSequence = [], []
    for number, (name, contours) in enumerate(rois.items(), start=1):
        roi = Dataset()
        roi.ROINumber, roi.ROIName = number, name
        ds.StructureSetROISequence.append(roi)
        item = Dataset()
        item.ReferencedROINumber = number
        item.ContourSequence = []
        for data in contours:
            contour = Dataset()
            contour.ContourGeometricType = "CLOSED_PLANAR"
            contour.NumberOfContourPoints = len(data) // 3
            contour.ContourData = [f"{v:.4f}" for v in data]
            item.ContourSequence.append(contour)
        ds.ROIContourSequence.append(item)
    ds.save_as(path, enforce_file_format=True)
    return path


def test_square_with_hole_is_filled_by_even_odd_rule(tmp_path: Path) -> None:
    # Outer square covers voxel centres 2..12 (11 x 11 = 121), the hole 5..8 (4 x 4 = 16).
    path = write_rtstruct(tmp_path / "rs.dcm", {
        "ring": [square_lps(1.5, 12.5, 2), square_lps(4.5, 8.5, 2)],
        "block": [square_lps(1.5, 3.5, k) for k in (1, 2, 3)],  # 2 x 2 voxels on 3 slices
    })
    assert rtstruct_roi_names(path) == ["ring", "block"]
    ring = seganypet.read_mask(path, reference=GRID, roi="ring")
    assert int(ring.array.sum()) == 121 - 16
    assert ring.array[2, 2, 2] == 1 and ring.array[6, 6, 2] == 0 and ring.array[:, :, [1, 3]].sum() == 0
    block = seganypet.read_mask(path, reference=GRID, roi="block")
    assert int(block.array.sum()) == 12 and block.array[2:4, 2:4, 1:4].all()


def test_unknown_roi_and_off_slice_contours_are_refused(tmp_path: Path) -> None:
    path = write_rtstruct(tmp_path / "rs.dcm", {"tilted": [square_lps(1.5, 5.5, 2.5)]})
    with pytest.raises(InputError, match="no ROI named 'gtv'.*tilted"):
        seganypet.read_mask(path, reference=GRID, roi="gtv")
    with pytest.raises(InputError, match="do not lie on the image's slices"):
        seganypet.read_mask(path, reference=GRID, roi="tilted")
    with pytest.raises(InputError, match="RTSTRUCT"):
        seganypet.read_mask(path)
