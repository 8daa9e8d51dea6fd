"""A statistics report of one image + label map, and its CSV / JSON forms.

The report carries the SUV conversion parameters of the image (``Volume.meta["suv"]``, set
by the PET readers) for provenance, the PERCIST liver reference when a liver label is
given, and a ``percist_measurable`` flag per region (SUVpeak >= the liver threshold).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seganypet.atomic import atomic_path
from seganypet.errors import InputError
from seganypet.quantify.masks import labels_on_grid
from seganypet.quantify.peak import PEAK_RADIUS_MM
from seganypet.quantify.percist import liver_reference
from seganypet.quantify.stats import RegionStats, lesion_table, object_stats, totals
from seganypet.volume import Volume

__all__ = ["report_rows", "stats_report", "write_report"]

_AXES = {"max_index": ("i", "j", "k"), "peak_index": ("i", "j", "k"),
         "centroid_mm": ("r", "a", "s")}


def _region_dicts(rows: Sequence[RegionStats], threshold: float | None) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        record = row.as_dict()
        if threshold is not None:
            record["percist_measurable"] = bool(row.suv_peak >= threshold)
        out.append(record)
    return out


def stats_report(
    image: Volume,
    labels: Volume | np.ndarray,
    names: Mapping[int, str] | None = None,
    liver_label: int | None = None,
    components: bool = False,
    connectivity: int = 18,
) -> dict[str, Any]:
    """Statistics of every object (and optionally every connected component) of ``labels``.

    Args:
        image: SUV volume ``(I, J, K)``; ``image.meta["suv"]`` is copied into the report.
        labels: integer label map on the image grid.
        names: label id -> name.
        liver_label: id of the liver; adds ``liver_reference`` and ``percist_measurable``.
        components: also report each connected component (lesion table) and their totals.
        connectivity: neighbourhood for the components (6, 18 or 26).

    Returns:
        A JSON-serialisable dict with keys ``unit``, ``spacing_mm``, ``voxel_volume_ml``,
        ``peak_radius_mm``, ``suv_conversion``, ``liver_reference``, ``objects`` and, with
        ``components``, ``components`` and ``totals``.
    """
    label_array = labels_on_grid(image, labels)
    reference = None
    if liver_label is not None:
        liver = label_array == int(liver_label)
        if not liver.any():
            raise InputError(f"liver label {liver_label} does not occur in the label map")
        reference = liver_reference(image, liver)
    threshold = None if reference is None else reference.threshold
    report: dict[str, Any] = {
        "unit": image.unit,
        "spacing_mm": list(image.spacing),
        "voxel_volume_ml": image.voxel_volume_ml,
        "peak_radius_mm": PEAK_RADIUS_MM,
        "suv_conversion": image.meta.get("suv"),
        "liver_reference": None if reference is None else reference.as_dict(),
        "objects": _region_dicts(object_stats(image, label_array, names), threshold),
    }
    if components:
        table = lesion_table(image, label_array, names, connectivity=connectivity)
        report["components"] = _region_dicts(table, threshold)
        report["totals"] = totals(table)
    return report


def _scalars(prefix: str, values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Scalar entries of a (nested) dict as ``prefix_key`` columns; lists are left to JSON."""
    out: dict[str, Any] = {}
    for key, value in (values or {}).items():
        if isinstance(value, Mapping):
            out.update(_scalars(f"{prefix}_{key}", value))
        elif value is None or isinstance(value, (str, int, float, bool)):
            out[f"{prefix}_{key}"] = value
    return out


def report_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat dict per region (objects, then components) for a CSV.

    Index/centroid triples become three columns (``max_index_i``..., ``centroid_mm_r``...);
    the liver reference and the scalar SUV conversion parameters are repeated on every row.
    """
    shared = {"unit": report["unit"], **_scalars("liver", report.get("liver_reference")),
              **_scalars("suv", report.get("suv_conversion"))}
    rows = []
    for kind in ("objects", "components"):
        for region in report.get(kind, []):
            row: dict[str, Any] = {"kind": kind[:-1]}
            for key, value in region.items():
                if key in _AXES:
                    row.update({f"{key}_{axis}": v for axis, v in zip(_AXES[key], value)})
                else:
                    row[key] = value
            rows.append({**row, **shared})
    return rows


def write_report(report: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write the report as ``.json`` (everything) or ``.csv`` (:func:`report_rows`), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = json.dumps(report, indent=2, default=str) + "\n"
    elif suffix == ".csv":
        rows = report_rows(report)
        columns = list(dict.fromkeys(key for row in rows for key in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    else:
        raise InputError(f"unknown report format {path.name!r}; use a .csv or .json file name")
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
