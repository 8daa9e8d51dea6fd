"""Lesion mode's files: label map, lesion table, summary, preview (all atomic, deterministic).

``OUTDIR/``

* ``lesions.nii.gz`` — one label per lesion on the scan's grid (+ ``lesions.json`` names);
* ``lesions.csv`` — label, volume_ml, suv_max, suv_mean, suv_peak, tlg, centroid_mm, score;
* ``summary.json`` — count, TMTV, total TLG, the liver reference and the threshold used;
* ``organs.nii.gz`` — the organs lesion mode found (liver, brain, kidneys, ...; + names);
* ``preview.png`` — coronal MIP and slice with the lesions outlined.

Nothing depends on the clock or the output path, so a case written twice is byte-identical
(what the cohort runner's determinism rests on).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from seganypet.atomic import atomic_path
from seganypet.io.labels import write_label_map
from seganypet.lesions.detect import LesionResult
from seganypet.lesions.editing import lesion_name
from seganypet.quantify.stats import RegionStats, object_stats, totals
from seganypet.visualize import save_preview
from seganypet.volume import Volume

__all__ = ["LESION_COLUMNS", "lesion_rows", "summary_of", "write_lesion_outputs", "write_table"]

LESION_COLUMNS = ("label", "volume_ml", "suv_max", "suv_mean", "suv_peak", "tlg",
                  "centroid_mm", "score")


def lesion_rows(result: LesionResult, stats: list[RegionStats]) -> list[dict[str, Any]]:
    """One dict per lesion with ``LESION_COLUMNS`` (centroid as ``"x;y;z"`` RAS mm) from its
    ``object_stats`` row."""
    return [{
        "label": row.label, "volume_ml": round(row.volume_ml, 4), "suv_max": round(row.suv_max, 4),
        "suv_mean": round(row.suv_mean, 4), "suv_peak": round(row.suv_peak, 4),
        "tlg": round(row.tlg, 4), "centroid_mm": ";".join(f"{v:.1f}" for v in row.centroid_mm),
        "score": result.scores.get(row.label, float("nan")),
    } for row in stats]


def summary_of(image: Volume, result: LesionResult, stats: list[RegionStats]) -> dict[str, Any]:
    """The ``summary.json`` content of one scan."""
    total = totals(stats)
    liver = result.liver
    return {
        "count": int(total["count"]),
        "tmtv_ml": round(total["tmtv_ml"], 4),
        "total_tlg": round(total["total_tlg"], 4),
        "threshold_suv": round(result.threshold, 4),
        "threshold_source": result.threshold_source,
        "liver_reference": None if liver is None else {
            **{k: (round(v, 4) if isinstance(v, float) else v)
               for k, v in liver.reference.as_dict().items()},
            "source": liver.source, "agreement": round(liver.agreement, 4),
            "prompt_index": list(liver.prompt_index)},
        "hot_spots": result.hot_spot_count,
        "organs": {str(k): v for k, v in sorted(result.organ_names.items())},
        "unit": image.unit,
    }


def write_table(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """A CSV with ``header`` (always written, also without rows), ``\n`` line ends, atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    _write_text(path, buffer.getvalue())
    return path


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_lesion_outputs(image: Volume, result: LesionResult, outdir: str | os.PathLike[str],
                         preview: bool = True) -> dict[str, Path]:
    """Write lesion mode's files into ``outdir``; returns their paths by kind."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    stats = object_stats(image, result.labels)
    rows = lesion_rows(result, stats)
    names = {row["label"]: lesion_name(row["label"]) for row in rows}
    paths = {"labels": outdir / "lesions.nii.gz", "table": outdir / "lesions.csv",
             "summary": outdir / "summary.json", "organs": outdir / "organs.nii.gz"}
    write_label_map(result.labels, paths["labels"], names)
    write_label_map(result.organs, paths["organs"], result.organ_names)
    write_table(paths["table"], LESION_COLUMNS, [[row[c] for c in LESION_COLUMNS] for row in rows])
    summary = summary_of(image, result, stats)
    _write_text(paths["summary"], json.dumps(summary, indent=1, sort_keys=True) + "\n")
    if preview:
        paths["preview"] = save_preview(
            image, result.labels.array > 0, outdir / "preview.png",
            title=f"{summary['count']} lesions, TMTV {summary['tmtv_ml']:.1f} ml "
                  f"(SUV >= {result.threshold:.2f}, {result.threshold_source})")
    return paths
