"""Synthetic single-frame DICOM series (PET or CT) written with pydicom, for the io tests.

Geometry comes from a RAS affine exactly as ``Volume`` defines it, so a test can write a
known volume as DICOM and check that reading it back gives the same world-space voxels.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from seganypet.volume import RAS_TO_LPS

PET_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.128"
CT_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.2"

# A quantitative FDG header whose SUVbw factor is easy to compute by hand:
# dose 370 MBq, half-life 3600 s, injection 10:00, scan 11:00 -> decayed dose 185 MBq,
# weight 70 kg -> factor = 70000 g / 185e6 Bq = 3.7837837837837837e-4 ml/Bq.
BASE_HEADER: dict[str, Any] = {
    "Units": "BQML",
    "DecayCorrection": "START",
    "CorrectedImage": ["ATTN", "DECY", "SCAT"],
    "PatientWeight": "70",
    "PatientSize": "1.75",
    "PatientSex": "M",
    "SeriesDate": "20200101",
    "SeriesTime": "110000",
    "AcquisitionDate": "20200101",
    "AcquisitionTime": "110000",
    "Manufacturer": "SYNTHETIC",
}
BASE_RADIOPHARMACEUTICAL: dict[str, Any] = {
    "RadiopharmaceuticalStartTime": "100000",
    "RadionuclideTotalDose": "370000000",
    "RadionuclideHalfLife": "3600",
    "Radiopharmaceutical": "FDG",
}
BASE_FACTOR = 70000.0 / 185e6


def pet_header_dataset(header: Mapping[str, Any] | None = None,
                       radiopharmaceutical: Mapping[str, Any] | None = None) -> Dataset:
    """A pixel-less PET header: BASE_HEADER updated by ``header`` (value None deletes a tag)."""
    ds = Dataset()
    ds.Modality = "PT"
    ds.SOPClassUID = PET_SOP_CLASS
    ds.SOPInstanceUID = generate_uid()
    _apply(ds, {**BASE_HEADER, **(header or {})})
    item = Dataset()
    _apply(item, {**BASE_RADIOPHARMACEUTICAL, **(radiopharmaceutical or {})})
    ds.RadiopharmaceuticalInformationSequence = [item]
    return ds


def _apply(ds: Dataset, values: Mapping[str, Any]) -> None:
    for keyword, value in values.items():
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)


def write_series(directory: Path, values: np.ndarray, affine_ras: np.ndarray, *, modality: str = "PT",
                 header: Mapping[str, Any] | None = None, slopes: np.ndarray | None = None,
                 file_order: np.ndarray | None = None) -> list[Path]:
    """Write ``values`` ``(I, J, K)`` as one DICOM file per k slice on the grid ``affine_ras``.

    Stored pixels are int16 ``round(value / slope_k)``; ``slopes`` default to one per slice
    from the slice maximum. ``file_order`` permutes the file names (readers must sort by
    position, not by name). The i/j columns of the affine must be orthogonal (DICOM rows).
    """
    directory.mkdir(parents=True, exist_ok=True)
    lps = RAS_TO_LPS @ np.asarray(affine_ras, dtype=np.float64)
    col_spacing, row_spacing = np.linalg.norm(lps[:3, 0]), np.linalg.norm(lps[:3, 1])
    iop = np.concatenate([lps[:3, 0] / col_spacing, lps[:3, 1] / row_spacing])
    n_slices = values.shape[2]
    if slopes is None:
        slopes = np.maximum(np.abs(values).reshape(-1, n_slices).max(axis=0), 1e-3) / 30000.0
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    order = np.arange(n_slices) if file_order is None else np.asarray(file_order)
    paths = []
    for k in range(n_slices):
        ds = _slice_dataset(modality, header)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [f"{v:.6f}" for v in lps[:3, :3] @ [0, 0, k] + lps[:3, 3]]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in iop]
        ds.PixelSpacing = [f"{row_spacing:.6f}", f"{col_spacing:.6f}"]
        ds.SliceThickness = f"{np.linalg.norm(lps[:3, 2]):.6f}"
        stored = np.rint(values[:, :, k].T / slopes[k]).astype(np.int16)  # (rows=j, columns=i)
        ds.Rows, ds.Columns = stored.shape
        ds.RescaleSlope, ds.RescaleIntercept = f"{slopes[k]:.10g}", "0"
        ds.PixelData = stored.tobytes()
        path = directory / f"slice_{int(order[k]):04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _slice_dataset(modality: str, header: Mapping[str, Any] | None) -> Dataset:
    ds = pet_header_dataset(header) if modality == "PT" else Dataset()
    sop_class = PET_SOP_CLASS if modality == "PT" else CT_SOP_CLASS
    ds.Modality, ds.SOPClassUID, ds.SOPInstanceUID = modality, sop_class, generate_uid()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "Synthetic^Patient", "SYN001", "19700101"
    ds.PatientSex = ds.get("PatientSex", "M")
    ds.StudyDate, ds.StudyTime, ds.StudyID = "20200101", "100000", "1"
    ds.ReferringPhysicianName, ds.AccessionNumber = "", ""
    ds.SeriesNumber, ds.Manufacturer = 1, "SYNTHETIC"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    return ds
