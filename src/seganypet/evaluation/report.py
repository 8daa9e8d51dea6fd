"""Evaluation outputs: per-click CSV, summary CSV, a markdown table and a DSC-vs-clicks plot.

All files are written atomically. The plot uses matplotlib's object API with the Agg canvas,
so no global pyplot state or display is touched.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from seganypet.atomic import atomic_path
from seganypet.evaluation.aggregate import GROUP_BY, Summary, summarize

__all__ = ["REPORT_FILES", "markdown_table", "plot_dice_vs_clicks", "write_csv", "write_report"]

REPORT_FILES = {
    "results": "results.csv",
    "summary": "summary.csv",
    "table": "summary.md",
    "plot": "dice_vs_clicks.png",
}
_SUMMARY_METRICS = ("dice", "nsd", "nsd_voxel", "fp_volume_ml", "fn_volume_ml", "seconds")


def write_csv(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write dict rows as CSV (columns in first-seen order), atomically."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


def _fmt(value: float, digits: int = 3) -> str:
    return "–" if not math.isfinite(value) else f"{value:.{digits}f}"


def _median_iqr(summary: Summary | None, digits: int = 3) -> str:
    if summary is None or summary.n == 0:
        return "–"
    median, q1, q3 = (_fmt(v, digits) for v in (summary.median, summary.q1, summary.q3))
    return f"{median} ({q1}–{q3})"


def _ci(summary: Summary | None) -> str:
    if summary is None or not math.isfinite(summary.ci_low):
        return "–"
    return f"[{_fmt(summary.ci_low)}, {_fmt(summary.ci_high)}]"


def markdown_table(summaries: Iterable[Summary], clicks: Sequence[int] = (1, 3, 5)) -> str:
    """One line per method, split, target and click count in ``clicks``: median (IQR) of DSC,
    NSD at both tolerances and FP/FN volumes, the 95 % CI of the median DSC, and latency."""
    by_key = {(s.group, s.metric): s for s in summaries}
    groups = list(dict.fromkeys(s.group for s in by_key.values() if s.group[-1] in clicks))
    columns = ["method", "split", "target", "clicks", "n", "DSC median (IQR)", "DSC 95 % CI",
               "NSD median (IQR)", "NSD@voxel median (IQR)", "FP ml", "FN ml", "s/click"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for group in groups:
        found = {m: by_key.get((group, m)) for m in _SUMMARY_METRICS}
        dsc = found["dice"]
        cells = [*map(str, group), str(dsc.n if dsc else 0), _median_iqr(dsc), _ci(dsc),
                 _median_iqr(found["nsd"]), _median_iqr(found["nsd_voxel"]),
                 _median_iqr(found["fp_volume_ml"], 2), _median_iqr(found["fn_volume_ml"], 2),
                 _median_iqr(found["seconds"], 2)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_dice_vs_clicks(summaries: Iterable[Summary], path: str | os.PathLike[str]) -> Path:
    """Median DSC (line) and IQR (band) against the click number, one line per method,
    split and target."""
    curves: dict[tuple[Any, ...], list[Summary]] = {}
    for s in summaries:
        if s.metric == "dice" and s.n > 0:
            curves.setdefault(s.group[:-1], []).append(s)
    figure = Figure(figsize=(7, 4.5), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for key, points in curves.items():
        points.sort(key=lambda s: s.group[-1])
        x = [s.group[-1] for s in points]
        label = " · ".join(map(str, key))
        line, = axes.plot(x, [s.median for s in points], marker="o", label=label)
        axes.fill_between(x, [s.q1 for s in points], [s.q3 for s in points],
                          color=line.get_color(), alpha=0.15)
    axes.set(xlabel="clicks", ylabel="DSC (median, IQR band)", ylim=(0, 1.02),
             title="DSC against the number of simulated clicks")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    if curves:
        axes.legend(fontsize="small", loc="best")
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    return Path(path)


def write_report(
    rows: Sequence[Mapping[str, Any]],
    out_dir: str | os.PathLike[str],
    table_clicks: Sequence[int] = (1, 3, 5),
) -> dict[str, Path]:
    """Write ``results.csv``, ``summary.csv``, ``summary.md`` and ``dice_vs_clicks.png``.

    Args:
        rows: per-click result rows (the ``GROUP_BY`` columns plus metric columns).
        out_dir: output folder (created if needed).
        table_clicks: click counts shown in the markdown table (the last click is always shown).

    Returns:
        file kind (``REPORT_FILES`` keys) -> path written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summaries = summarize(rows, _SUMMARY_METRICS)
    last_click = max((int(r["click"]) for r in rows), default=0)
    shown = sorted({c for c in table_clicks if c <= last_click} | {last_click})
    paths = {kind: out / name for kind, name in REPORT_FILES.items()}
    write_csv(rows, paths["results"])
    write_csv([s.as_dict(GROUP_BY) for s in summaries], paths["summary"])
    with atomic_path(paths["table"]) as tmp:
        tmp.write_text(markdown_table(summaries, shown), encoding="utf-8")
    plot_dice_vs_clicks(summaries, paths["plot"])
    return paths
