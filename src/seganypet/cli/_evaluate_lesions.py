"""``seganypet evaluate --task lesions``: autoPET-style whole-body lesion evaluation.

Lesion mode (``--model``, default the shipped model), a fixed SUV >= 4 threshold and the
PERCIST threshold alone, each automatic at iteration 0 and then corrected by ``--clicks``
simulated clicks (``seganypet.evaluation.lesions``). Writes ``lesions_results.csv`` (one row
per scan, method and iteration), ``lesions_summary.csv`` and ``lesions_summary.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from seganypet.evaluation.lesions import LESION_METHODS, area_under_dice, evaluate_lesion_case
from seganypet.lesions.outputs import write_table

__all__ = ["run_lesion_evaluation", "summarise"]

_COLUMNS = ("method", "scans", "dice_auto", "dice_final", "auc_dice", "fpv_ml_auto", "fnv_ml_auto",
            "sensitivity_auto", "fp_lesions_per_scan_auto", "sensitivity_final",
            "fp_lesions_per_scan_final", "seconds_auto")


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not np.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def summarise(rows: list[dict[str, Any]], n_clicks: int) -> list[list[Any]]:
    """Per method: mean over scans of the automatic and the final iteration, and the AUC."""
    table = []
    for method in LESION_METHODS:
        mine = [r for r in rows if r["method"] == method]
        if not mine:
            continue
        scans = sorted({r["case_id"] for r in mine})
        per = {c: sorted((r for r in mine if r["case_id"] == c), key=lambda r: r["iteration"])
               for c in scans}
        auto, final = [p[0] for p in per.values()], [p[-1] for p in per.values()]
        found = sum(r["found"] for r in auto), sum(r["found"] for r in final)
        total = sum(r["true_lesions"] for r in auto)
        table.append([
            method, len(scans), _mean([r["dice"] for r in auto]), _mean([r["dice"] for r in final]),
            _mean([area_under_dice(p, n_clicks) for p in per.values()]),
            _mean([r["fpv_ml"] for r in auto]), _mean([r["fnv_ml"] for r in auto]),
            found[0] / total if total else float("nan"),
            _mean([r["false_positive_lesions"] for r in auto]),
            found[1] / total if total else float("nan"),
            _mean([r["false_positive_lesions"] for r in final]),
            _mean([r["seconds"] for r in auto])])
    return table


def _markdown(table: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    for row in table:
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run_lesion_evaluation(args: argparse.Namespace) -> int:
    from seganypet.data.manifest import filter_records, read_manifest
    from seganypet.errors import InputError
    from seganypet.lesions import LesionSettings
    from seganypet.model import load_model

    records = read_manifest(args.manifest)
    if args.splits:
        records = filter_records(records, split=list(args.splits))
    records = [r for r in records if r.label is not None]
    if not records:
        raise InputError(f"{args.manifest}: no labelled case to evaluate")
    model = load_model(args.model[0] if args.model else "default", device=args.device)
    rows: list[dict[str, Any]] = []
    for record in records:
        for method in LESION_METHODS:
            rows += evaluate_lesion_case(record, method, model, LesionSettings(),
                                         n_clicks=args.clicks, seed=args.seed)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    write_table(out / "lesions_results.csv", list(rows[0]), [list(r.values()) for r in rows])
    table = summarise(rows, args.clicks)
    write_table(out / "lesions_summary.csv", _COLUMNS, table)
    text = _markdown(table)
    (out / "lesions_summary.md").write_text(text, encoding="utf-8")
    print(text, end="")
    print(f"wrote {out / 'lesions_results.csv'}, {out / 'lesions_summary.csv'}, "
          f"{out / 'lesions_summary.md'}")
    return 0
