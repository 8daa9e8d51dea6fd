"""Cohort tables from the case folders (deterministic: manifest order, fixed formatting).

* ``summary.csv`` — one row per case: status and, for lesions, count, TMTV, total TLG, the
  liver reference and the threshold; for prompts, objects and total volume;
* ``lesions.csv`` — every lesion of every case (``case_id`` + the case's ``lesions.csv``);
* ``failures.csv`` — ``case_id,error,message`` of each failed case;
* ``network_manifest.jsonl`` — a data manifest whose labels are each case's organs (lesions
  task: ``organs.nii.gz``) or masks (prompts task), the input of
  ``seganypet network --manifest``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from seganypet.batch.manifest import BatchCase
from seganypet.data.manifest import CaseRecord, write_manifest
from seganypet.lesions.outputs import LESION_COLUMNS, write_table

__all__ = ["collect_tables"]

_SUMMARY = {"lesions": ("case_id", "status", "count", "tmtv_ml", "total_tlg", "threshold_suv",
                        "threshold_source", "liver_mean", "liver_sd"),
            "prompts": ("case_id", "status", "objects", "volume_ml")}
_LABELS = {"lesions": "organs.nii.gz", "prompts": "mask.nii.gz"}


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _summary_row(task: str, case: BatchCase, folder: Path, status: str) -> list:
    if status != "done":
        return [case.case_id, status] + [""] * (len(_SUMMARY[task]) - 2)
    if task == "lesions":
        s = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        liver = s.get("liver_reference") or {}
        return [case.case_id, status, s["count"], s["tmtv_ml"], s["total_tlg"], s["threshold_suv"],
                s["threshold_source"], liver.get("mean", ""), liver.get("sd", "")]
    _, rows = _read_csv(folder / "stats.csv")
    return [case.case_id, status, len(rows), f"{sum(float(r[2]) for r in rows):.4f}"]


def _network_record(task: str, case: BatchCase, folder: Path) -> CaseRecord:
    label = folder / _LABELS[task]
    sidecar = label.with_name(label.name.removesuffix(".nii.gz") + ".json")
    names = json.loads(sidecar.read_text(encoding="utf-8"))["labels"]
    return CaseRecord(case.case_id, case.image, label, {int(k): v for k, v in names.items()},
                      cohort="batch", tracer=case.tracer, split="test", quality="HQ")


def collect_tables(cases: list[BatchCase], out: Path, task: str) -> dict[str, Path]:
    """Write the cohort tables of ``cases`` (manifest order) from ``out/cases``."""
    from seganypet.batch.runner import FAILED, case_status

    summary, lesions, failures, network = [], [], [], []
    lesion_header: list[str] = []
    for case in cases:
        folder = out / "cases" / case.case_id
        status = case_status(folder)
        summary.append(_summary_row(task, case, folder, status))
        if status == "failed":
            failure = json.loads((folder / FAILED).read_text(encoding="utf-8"))
            failures.append([case.case_id, failure["error"], failure["message"]])
        elif status == "done":
            network.append(_network_record(task, case, folder))
            if task == "lesions":
                lesion_header, rows = _read_csv(folder / "lesions.csv")
                lesions += [[case.case_id, *row] for row in rows]
    paths = {"summary": out / "summary.csv", "failures": out / "failures.csv",
             "network": out / "network_manifest.jsonl"}
    write_table(paths["summary"], _SUMMARY[task], summary)
    write_table(paths["failures"], ("case_id", "error", "message"), failures)
    write_manifest(network, paths["network"])
    if task == "lesions":
        paths["lesions"] = out / "lesions.csv"
        write_table(paths["lesions"], ["case_id", *(lesion_header or LESION_COLUMNS)], lesions)
    return paths
