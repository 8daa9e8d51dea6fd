"""Write what a segmentation run produces: mask, DICOM-SEG, PNG preview and stats JSON."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seganypet.atomic import atomic_path
from seganypet.click import Click
from seganypet.volume import Volume

__all__ = ["SegmentationOutputs", "output_paths", "write_segmentation_outputs"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentationOutputs:
    mask: Path
    preview: Path | None
    stats: Path
    dicom_seg: Path | None


def _stem(path: Path) -> Path:
    name = path.name
    for suffix in (".nii.gz", ".nii", ".nrrd", ".mha"):
        if name.endswith(suffix):
            return path.with_name(name[: -len(suffix)])
    return path.with_suffix("")


def output_paths(mask_path: Path, *, preview: bool, dicom_seg: bool) -> SegmentationOutputs:
    """Sibling files of the mask: ``<stem>_preview.png``, ``<stem>_stats.json``, ``<stem>_seg.dcm``."""
    stem = _stem(mask_path)
    return SegmentationOutputs(
        mask=mask_path,
        preview=stem.with_name(stem.name + "_preview.png") if preview else None,
        stats=stem.with_name(stem.name + "_stats.json"),
        dicom_seg=stem.with_name(stem.name + "_seg.dcm") if dicom_seg else None,
    )


def _stats_rows(image: Volume, labels: Volume, names: dict[int, str]) -> list[dict[str, object]]:
    from seganypet.quantify.stats import object_stats

    rows = []
    for row in object_stats(image, labels, names):
        rows.append({"label": row.label, "name": row.name, "voxels": row.voxel_count,
                     "volume_ml": row.volume_ml, "suv_max": row.suv_max, "suv_mean": row.suv_mean,
                     "suv_peak": row.suv_peak, "tlg": row.tlg})
    return rows


def write_segmentation_outputs(image: Volume, labels: Volume, names: dict[int, str],
                               paths: SegmentationOutputs,
                               clicks: Sequence[Click]) -> dict:
    """Write mask (+ names sidecar), optional DICOM-SEG and preview, and the stats JSON.

    Returns the stats document (also written to ``paths.stats``).
    """
    from seganypet.io.labels import write_label_map

    write_label_map(labels, paths.mask, names)
    if paths.dicom_seg is not None:
        from seganypet.io.dicom_seg import write_dicom_seg

        if np.any(labels.array):
            write_dicom_seg(labels, paths.dicom_seg, image, names)
        else:
            log.warning("empty mask: no DICOM-SEG written")
    if paths.preview is not None:
        from seganypet.visualize import save_preview

        save_preview(image, labels.array > 0, paths.preview, clicks=clicks,
                     title=", ".join(names.values()))
    document = {
        "image_unit": image.unit,
        "suv_conversion": image.meta.get("suv"),
        "objects": _stats_rows(image, labels, names),
    }
    with atomic_path(paths.stats) as tmp:
        tmp.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return document
