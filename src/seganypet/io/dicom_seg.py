"""DICOM-SEG (highdicom) <-> label-map Volumes.

Writing references the PET series the mask was drawn on (one SEG frame per source slice,
empty frames omitted), so PACS and viewers overlay it on that series. Label ids are written
as consecutive segment numbers 1..N in increasing id order; reading returns segment numbers
and names. Reading onto a reference grid uses highdicom's ``match_geometry`` (axis
permutation, flips, padding; never interpolation).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

import seganypet
from seganypet.errors import InputError
from seganypet.io.atomic import atomic_path
from seganypet.io.dicom import read_dicom_files, select_series
from seganypet.io.dicom_geometry import series_geometry
from seganypet.io.grid import reorient_to
from seganypet.io.itk import ijk_to_zyx, zyx_to_ijk
from seganypet.volume import RAS_TO_LPS, Volume

__all__ = ["read_dicom_seg", "write_dicom_seg"]


def write_dicom_seg(labels: Volume, path: str | os.PathLike[str], source: Volume | str | os.PathLike[str],
                    names: Mapping[int, str] | None = None, series_description: str = "seganypet") -> Path:
    """Write a label map as a DICOM-SEG referencing the source PET series, atomically.

    Args:
        labels: ``(I, J, K)`` integer labels on the source image's grid (0 = background).
        path: output ``.dcm`` file.
        source: the PET Volume read from DICOM (its ``meta["dicom"]`` lists the files) or the
            folder of the series.
        names: label id -> segment label (default ``"label <id>"``).
    """
    reference, datasets = _source_series(source)
    aligned = reorient_to(labels, reference)
    ids = [int(v) for v in np.unique(aligned.array) if v != 0]
    if not ids:
        raise InputError("the mask is empty; there is nothing to write as DICOM-SEG")
    seg = _segmentation(aligned.array, ids, datasets, names or {}, series_description)
    path = Path(path)
    with atomic_path(path) as tmp:
        seg.save_as(tmp)
    return path


def read_dicom_seg(path: str | os.PathLike[str], reference: Volume | None = None) -> Volume:
    """Read a DICOM-SEG as a label map (segment numbers), optionally on ``reference``'s grid.

    Returns:
        uint8/uint16 Volume ``(I, J, K)``; ``meta["label_names"]`` = {segment number: label}.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        seg = hd.seg.segread(path)
        volume = seg.get_volume(combine_segments=True, relabel=False, atol=0.1)
    except Exception as exc:  # highdicom/pydicom raise many types on corrupt or irregular SEGs
        raise InputError(f"cannot read {path} as a 3D DICOM-SEG: {exc}") from exc
    if reference is not None:
        target = hd.Volume(np.zeros(reference.shape, np.uint8),
                           RAS_TO_LPS @ reference.affine, "PATIENT")
        try:
            volume = volume.match_geometry(target, tol=0.05)
        except RuntimeError as exc:
            raise InputError(f"{path} does not lie on the image's grid: {exc}") from exc
    names = {int(item.SegmentNumber): str(item.SegmentLabel) for item in seg.SegmentSequence}
    return _to_volume(volume, names, path, reference)


def _to_volume(volume: hd.Volume, names: dict[int, str], path: Path, reference: Volume | None) -> Volume:
    array = np.asarray(volume.array)
    if reference is not None:  # matched onto an (I, J, K)-shaped highdicom volume: no transpose
        return Volume(array.astype(np.uint16 if array.max(initial=0) > 255 else np.uint8),
                      reference.affine.copy(), "label", {"label_names": names, "source": str(path)})
    # highdicom's own volume is (slices, rows, columns) with an index -> LPS affine.
    affine = RAS_TO_LPS @ volume.affine[:, [2, 1, 0, 3]]
    return Volume(zyx_to_ijk(array).astype(np.uint16 if array.max(initial=0) > 255 else np.uint8),
                  affine, "label", {"label_names": names, "source": str(path)})


def _segmentation(labels: np.ndarray, ids: Sequence[int], datasets: Sequence[Dataset],
                  names: Mapping[int, str], series_description: str) -> hd.seg.Segmentation:
    """The highdicom SEG of ``labels`` ``(I, J, K)``; ``datasets`` are the k-sorted source slices."""
    # highdicom wants (frames, rows, columns) in the order of source_images, segment numbers 1..N.
    relabelled = np.zeros(labels.shape, dtype=np.uint16 if len(ids) > 255 else np.uint8)
    for number, label_id in enumerate(ids, start=1):
        relabelled[labels == label_id] = number
    with warnings.catch_warnings():
        # Single-component patient names ("STS_001") are common in anonymised data; not our concern.
        warnings.filterwarnings("ignore", message=".*unlikely to represent the intended person name")
        seg = hd.seg.Segmentation(
            source_images=datasets,
            pixel_array=ijk_to_zyx(relabelled),
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=_descriptions(ids, names),
            series_instance_uid=hd.UID(), series_number=900, sop_instance_uid=hd.UID(), instance_number=1,
            manufacturer="seganypet", manufacturer_model_name="seganypet",
            software_versions=seganypet.__version__, device_serial_number="0",
            series_description=series_description,
        )
    return seg


def _source_series(source: Volume | str | os.PathLike[str]) -> tuple[Volume, list[Dataset]]:
    """The reference grid and its datasets, sorted along k like the Volume."""
    if isinstance(source, Volume):
        files = source.meta.get("dicom", {}).get("files")
        if not files:
            raise InputError("the source image was not read from DICOM, so a DICOM-SEG cannot "
                             "reference it; write NIfTI instead or pass the DICOM series folder")
        datasets = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
        return source, datasets
    directory = Path(source)
    datasets, _ = select_series(read_dicom_files(directory), None, directory)
    geometry = series_geometry(datasets)
    ordered = [datasets[i] for i in geometry.order]
    return Volume(np.zeros(geometry.shape, np.uint8), geometry.affine, "label"), ordered


def _descriptions(ids: Sequence[int], names: Mapping[int, str]) -> list[hd.seg.SegmentDescription]:
    algorithm = hd.AlgorithmIdentificationSequence(
        name="seganypet", family=codes.cid7162.ArtificialIntelligence, version=seganypet.__version__)
    return [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=str(names.get(label_id, f"label {label_id}"))[:64],
            segmented_property_category=codes.SCT.Tissue,
            segmented_property_type=codes.SCT.Tissue,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.SEMIAUTOMATIC,
            algorithm_identification=algorithm,
        )
        for number, label_id in enumerate(ids, start=1)
    ]
