"""Which prompt kind wins where: Dice against interactions for clicks, scribbles, boxes and
suggested clicks, from ``seganypet evaluate --protocol ...`` result folders.

    for p in clicks scribbles boxes suggested; do
      seganypet evaluate --manifest runs/splits/internal.jsonl --model default --clicks 5 \\
          --strategy center --protocol $p -o runs/prompts/internal/$p
    done
    python benchmarks/prompt_kinds.py runs/prompts/internal/*/results.csv

Per method (protocol variant) and target kind (organs, phantom lesions, real sarcoma GTVs):
median Dice after interactions 1, 3 and 5; the median normalised AUC-Dice over the 5
interactions (trapezoid / 4, so 1 is perfect from the start); the median AUC-DMM where the
protocol recorded DMM; and how many targets reach Dice 0.85, with the median number of
interactions that took (targets that never reach it count as 6 in that median).
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

GOAL = 0.85


def _kind(row: dict[str, str]) -> str:
    name = row["target_name"]
    if name == "lesion_gtv":
        return "sarcoma GTV (real)"
    return "phantom lesions" if name.startswith("lesion") else "phantom organs"


def _curves(paths: list[Path]) -> dict[tuple[str, str], list[dict[int, dict[str, str]]]]:
    """(method, kind) -> one {interaction: row} per target."""
    targets: dict[tuple[str, str, str, str], dict[int, dict[str, str]]] = defaultdict(dict)
    for path in paths:
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                key = (row["method"], _kind(row), row["case_id"], row["target_id"])
                targets[key][int(row["click"])] = row
    out: dict[tuple[str, str], list[dict[int, dict[str, str]]]] = defaultdict(list)
    for (method, kind, _, _), curve in targets.items():
        out[(method, kind)].append(curve)
    return out


def _median_at(curves, step: int) -> str:
    values = [float(c[step]["dice"]) for c in curves if step in c]
    return f"{np.median(values):.3f}" if values else "–"


def _auc(curve: dict[int, dict[str, str]], column: str) -> float:
    steps = sorted(curve)
    values = np.nan_to_num([float(curve[s][column] or "nan") for s in steps], nan=0.0)
    return float(np.trapezoid(values) / (len(values) - 1)) if len(values) > 1 else float(values[0])


def _reach(curve: dict[int, dict[str, str]]) -> int:
    hit = [s for s in sorted(curve) if float(curve[s]["dice"]) >= GOAL]
    return hit[0] if hit else max(curve) + 1


def table(paths: list[Path]) -> str:
    header = ("| target kind | method | n | Dice @1 | @3 | @5 | AUC-Dice | AUC-DMM | reach 0.85 "
              "| interactions to 0.85 (median) |")
    lines = [header, "|---|---|---|---|---|---|---|---|---|---|"]
    curves = _curves(paths)
    for kind, method in sorted({(k, m) for m, k in curves}):
        group = curves[(method, kind)]
        auc = np.median([_auc(c, "dice") for c in group])
        has_dmm = all("dmm" in c[min(c)] and c[min(c)]["dmm"] != "" for c in group)
        dmm = f"{np.median([_auc(c, 'dmm') for c in group]):.3f}" if has_dmm else "–"
        reach = [_reach(c) for c in group]
        reached = sum(r <= max(max(c) for c in group) for r in reach)
        lines.append(f"| {kind} | {method} | {len(group)} | {_median_at(group, 1)} "
                     f"| {_median_at(group, 3)} | {_median_at(group, 5)} | {auc:.3f} | {dmm} "
                     f"| {reached}/{len(group)} | {np.median(reach):.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="+", help="results.csv files")
    print(table(parser.parse_args().results))


if __name__ == "__main__":
    main()
