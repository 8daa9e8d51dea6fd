"""The tables of docs/results.md: every method on the internal, external and real splits.

1. Build the splits once (``python benchmarks/evaluation_splits.py``, default ``runs/splits``).
2. Run this script: for each split it runs ``seganypet evaluate`` (centre-of-target first
   click, then the centre of the largest error, 5 clicks) for the promptable model, the
   41 %-of-SUVmax and SUV >= 2.5 baselines and, if given, the automatic SegResNet; then it
   pools lesions into one row and prints markdown tables of median DSC after 1/3/5 clicks and
   median NSD (1 mm) after 1 and 5 clicks per target.

    python benchmarks/evaluation_splits.py --out runs/splits
    python benchmarks/results_report.py --splits runs/splits --model default \\
        --automatic runs/segresnet --out runs/results

Each method's evaluation goes to ``OUT/<split>/<method>/`` and is reused when present (delete
the folder to rerun it), so methods can be evaluated in separate processes (e.g. the
baselines while the model is still training) and tabulated together at the end; the tables
cover every method found under ``OUT``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

from seganypet.cli import main as cli
from seganypet.evaluation.aggregate import summarize

SPLITS = ("internal", "external", "sts001")
ORGAN_ORDER = ("liver", "spleen", "kidney_left", "kidney_right", "heart", "brain", "bladder")
LESIONS = "lesions >= 10 mm"


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=Path, default=Path("runs/splits"))
    parser.add_argument("--model", action="append", default=[], help="model name or path")
    parser.add_argument("--automatic", action="append", default=[], help="SegResNet folder")
    parser.add_argument("--out", type=Path, default=Path("runs/results"))
    parser.add_argument("--baseline", action="append", default=None,
                        help="threshold baselines (default: threshold41 and suv2.5)")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--clicks", type=int, default=5)
    return parser.parse_args()


def _method_flags(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(folder name, evaluate flag) per requested method."""
    baselines = [] if args.no_baselines else (args.baseline or ["threshold41", "suv2.5"])
    flags = [(f"model-{Path(m).stem}", f"--model={m}") for m in args.model]
    flags += [(f"automatic-{Path(a).name}", f"--automatic={a}") for a in args.automatic]
    return flags + [(b, f"--baseline={b}") for b in baselines]


def _evaluate(args: argparse.Namespace, split: str) -> list[Path]:
    """Run the missing evaluations of ``split``; every results.csv of the split."""
    manifest = args.splits / f"{split}.jsonl"
    if not manifest.is_file():
        print(f"skipping {split}: {manifest} not found")
        return []
    for folder, flag in _method_flags(args):
        out = args.out / split / folder
        if not (out / "results.csv").is_file():
            cli(["evaluate", "--manifest", str(manifest), flag, "--clicks", str(args.clicks),
                 "--strategy", "center", "-o", str(out)])
    return sorted((args.out / split).glob("*/results.csv"))


def _grouped(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        name = row["target_name"]
        if "sts001" in name:
            row["target_group"] = "STS_001 thigh sarcoma (GTV)"
        else:
            row["target_group"] = LESIONS if name.startswith("lesion") else name
    return rows


def _table(rows: list[dict[str, Any]], split: str) -> str:
    summaries = summarize(rows, ("dice", "nsd"), group_by=("method", "target_group", "click"))
    value = {(s.group, s.metric): s for s in summaries}
    methods = list(dict.fromkeys(r["method"] for r in rows))
    present = {r["target_group"] for r in rows}
    targets = [t for t in (*ORGAN_ORDER, LESIONS) if t in present]
    targets += sorted(present - set(targets))
    header = ["target", "n"] + [f"{m} DSC@1/3/5 · NSD@1/5" for m in methods]
    lines = [f"**{split}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for target in targets:
        cells = [target]
        n = value.get(((methods[0], target, "1"), "dice"))
        cells.append(str(n.n) if n else "0")
        for method in methods:
            dsc = [value.get(((method, target, str(c)), "dice")) for c in (1, 3, 5)]
            nsd = [value.get(((method, target, str(c)), "nsd")) for c in (1, 5)]
            text = "/".join(f"{s.median:.2f}" if s else "-" for s in dsc)
            text += " · " + "/".join(f"{s.median:.2f}" if s else "-" for s in nsd)
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    args = _parse()
    tables = []
    for split in SPLITS:
        rows: list[dict[str, Any]] = []
        for results in _evaluate(args, split):
            with open(results, newline="", encoding="utf-8") as handle:
                rows += list(csv.DictReader(handle))
        if rows:
            tables.append(_table(_grouped(rows), split))
    text = "\n".join(tables)
    (args.out / "tables.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
