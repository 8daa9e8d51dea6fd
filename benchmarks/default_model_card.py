"""Model-card numbers for a trained model: held-out phantoms and the real STS_001 tumour.

1. Generates held-out realistic phantoms (FDG + PSMA, a seed training never uses) with
   ``seganypet phantom``, keeps as targets liver, kidneys, spleen, heart, brain, bladder and
   lesions >= 10 mm, and runs the interactive protocol (``seganypet.evaluation``: the simulated
   user clicks the target centre, then the largest error) with the model and the 41 %-of-SUVmax
   isocontour baseline. Prints the median Dice per target after 1, 3 and 5 clicks.
2. If ``--shared`` holds ``sts001_wholebody_fdg_pet``, does the same for the STS_001 thigh GTV.

    python benchmarks/default_model_card.py --model default --out runs/model_card
    python benchmarks/default_model_card.py --model runs/default/checkpoints/step_0000400/model.safetensors
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from seganypet.cli import main as cli
from seganypet.data.manifest import write_manifest
from seganypet.evaluation.baselines import make_baseline
from seganypet.evaluation.runner import evaluate_manifest
from seganypet.evaluation.targets import evaluation_records, sts001_record

CLICKS = (1, 3, 5)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="model name or weights file")
    parser.add_argument("--out", type=Path, default=Path("runs/model_card"))
    parser.add_argument("--cases", type=int, default=4, help="held-out phantoms")
    parser.add_argument("--seed", type=int, default=424242, help="phantom seed (held out)")
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2]
                        / "shared" / "data", help="folder with sts001_wholebody_fdg_pet/")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    return parser.parse_args()


def _phantom_manifest(out: Path, cases: int, seed: int) -> Path:
    folder = out / "phantoms"
    if not (folder / "manifest.jsonl").is_file():
        cli(["phantom", str(folder), "--cases", str(cases), "--seed", str(seed),
             "--tracer", "mixed", "--mode", "realistic"])
    return write_manifest(evaluation_records(folder / "manifest.jsonl"), out / "card_manifest.jsonl")


def _sts_manifest(out: Path, shared: Path) -> Path | None:
    record = sts001_record(shared)
    return None if record is None else write_manifest([record], out / "sts_manifest.jsonl")


def _table(rows: list[dict]) -> dict[str, dict[str, list[float]]]:
    """method -> target (lesions pooled) -> median Dice after each of CLICKS (+ n)."""
    values: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for row in rows:
        name = "lesion>=10mm" if row["target_name"].startswith("lesion") else row["target_name"]
        values[(row["method"], name, row["click"])].append(row["dice"])
    table: dict[str, dict[str, list[float]]] = defaultdict(dict)
    for (method, name, click), dice in sorted(values.items()):
        if click in CLICKS:
            table[method].setdefault(name, []).append(round(float(np.median(dice)), 3))
            table[method][name + " n"] = [len(dice)]
    return table


def _evaluate(manifest: Path, args: argparse.Namespace) -> list[dict]:
    from seganypet import load_model
    from seganypet.session import Session

    model = load_model(args.model)
    rows = evaluate_manifest(manifest, lambda: Session(model), f"model:{args.model}",
                             n_clicks=max(CLICKS), strategy="center")
    if not args.no_baseline:
        rows += evaluate_manifest(manifest, make_baseline("threshold41"), "threshold41",
                                  n_clicks=max(CLICKS), strategy="center")
    return rows


def main() -> None:
    args = _parse()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results = {"phantoms": _table(_evaluate(_phantom_manifest(args.out, args.cases, args.seed),
                                            args))}
    sts = _sts_manifest(args.out, args.shared)
    if sts is not None:
        results["sts001"] = _table(_evaluate(sts, args))
    results["minutes"] = round((time.monotonic() - started) / 60, 1)
    (args.out / "card.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
