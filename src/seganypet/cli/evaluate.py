"""``seganypet evaluate``: simulated-click evaluation of a model or a baseline on a manifest."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from seganypet.cli._options import (
    add_device_argument,
    add_seed_argument,
    add_session_rule_arguments,
    check_device,
    load_cli_model,
    manifest_inputs,
    session_rules,
)
from seganypet.clicks import STRATEGIES
from seganypet.errors import InputError
from seganypet.evaluation.baselines import BASELINES, make_baseline
from seganypet.evaluation.protocol import Segmenter
from seganypet.evaluation.protocols import PROTOCOLS, auc_table
from seganypet.evaluation.report import write_report
from seganypet.evaluation.runner import evaluate_manifest
from seganypet.io.atomic import atomic_path

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a model or a threshold baseline with simulated clicks on a manifest",
        description="For every case and target of a manifest, a simulated user clicks inside "
        "the target, then on the largest error of the current mask; DSC, NSD (1 mm and one "
        "voxel), autoPET FP/FN volumes are computed after every click on the original grid. "
        "Writes results.csv, summary.csv, summary.md, dice_vs_clicks.png and run.json.",
    )
    parser.add_argument("--manifest", type=Path, required=True, help="JSON-lines manifest")
    parser.add_argument("--task", choices=("targets", "lesions"), default="targets",
                        help="targets = per-target clicks (default); lesions = autoPET-style "
                        "whole-body lesion mode vs SUV >= 4 and PERCIST thresholds")
    parser.add_argument("--model", action="append", default=[], metavar="NAME_OR_PATH",
                        help="model name (a preset or 'default') or checkpoint path (repeatable)")
    parser.add_argument("--baseline", action="append", default=[], choices=sorted(BASELINES),
                        help="model-free baseline (repeatable): threshold41 = 41%% of SUVmax "
                        "isocontour, suv2.5 = SUV >= 2.5 component")
    parser.add_argument("--automatic", action="append", default=[], metavar="PATH",
                        help="automatic supervised baseline (repeatable): a folder or "
                        "model.safetensors written by `seganypet train-baseline`")
    parser.add_argument("--clicks", type=int, default=5,
                        help="clicks (interactions) per target (default 5)")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="clicks",
                        help="simulated user: clicks (default); scribbles (autoPET V strokes on "
                        "the axial slice with the largest error, AUC-Dice/AUC-DMM in auc.md); "
                        "boxes (a 3D box and a central-slice 2D box, then clicks); suggested "
                        "(clicks where Session.suggest() points, answered truthfully)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="random",
                        help="click placement: uniform random voxel, or distance-transform "
                        "centre of the region (default random)")
    parser.add_argument("--split", action="append", dest="splits", metavar="SPLIT",
                        help="evaluate only this split (repeatable; default all)")
    add_seed_argument(parser, "seed of the simulated user")
    parser.add_argument("--tolerance-mm", type=float, default=1.0,
                        help="NSD tolerance in mm (default 1, as the paper)")
    parser.add_argument("--hd95", action="store_true", help="also compute HD95 (slower)")
    add_session_rule_arguments(parser)
    add_device_argument(parser)
    parser.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    parser.set_defaults(handler=run)


def _model_factory(name_or_path: str, device: str, rules: dict[str, bool] | None = None
                   ) -> Callable[[], Segmenter]:
    """Load the model once; every (case, target) gets a fresh Session on it."""
    # Imported here: the model stack is heavy and baselines must work without it.
    from seganypet.session import Session

    model = load_cli_model(name_or_path, device)
    return lambda: Session(model, device=device, **(rules or {}))


def _automatic_factory(path: str) -> Callable[[], Segmenter]:
    from seganypet.evaluation.automatic import automatic_factory

    try:
        return automatic_factory(path)
    except InputError as exc:
        raise InputError(f"--automatic {path}: {exc}") from None
    except (ValueError, TypeError, KeyError, RuntimeError, OSError, ArithmeticError) as exc:
        # A hand-edited or foreign model.json/safetensors: the loader raises what torch raises.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"--automatic {path}: cannot load this baseline ({first})") from None


def _command(args: argparse.Namespace) -> str:
    """The equivalent command line (rebuilt from the parsed options, so it is also right when
    ``main([...])`` is called from Python)."""
    repeated = [*(f"--model {m}" for m in args.model), *(f"--baseline {b}" for b in args.baseline),
                *(f"--automatic {a}" for a in args.automatic),
                *(f"--split {s}" for s in args.splits or [])]
    return (f"seganypet evaluate --manifest {args.manifest} {' '.join(repeated)} "
            f"--clicks {args.clicks} --protocol {args.protocol} --strategy {args.strategy} "
            f"--seed {args.seed} "
            f"--tolerance-mm {args.tolerance_mm}{' --hd95' if args.hd95 else ''} -o {args.output}")


def _run_info(args: argparse.Namespace, methods: list[str], seconds: float) -> dict[str, Any]:
    """What is needed to reproduce and place the numbers: command, settings and machine."""
    import torch

    return {
        "command": _command(args),
        "manifest": str(args.manifest.resolve()),
        "methods": methods,
        "clicks": args.clicks,
        "protocol": args.protocol,
        "strategy": args.strategy,
        "splits": args.splits,
        "seed": args.seed,
        "nsd_tolerance_mm": args.tolerance_mm,
        "wall_seconds": round(seconds, 2),
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpu_count": os.cpu_count(), "python": platform.python_version(),
                    "torch": torch.__version__, "torch_threads": torch.get_num_threads()},
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _methods(args: argparse.Namespace) -> list[tuple[str, Callable[[], Callable[[], Segmenter]]]]:
    """(name, factory maker) per requested method; models are loaded only when evaluated."""
    # A method given twice would be counted twice in every summary: keep the first.
    methods = [(name, partial(make_baseline, name)) for name in dict.fromkeys(args.baseline)]
    labels = {name: Path(name).name for name in args.model}  # short names in the tables...
    if len(set(labels.values())) < len(labels):  # ...unless two checkpoints share a file name
        labels = {name: name for name in args.model}
    methods += [(f"model:{label}", partial(_model_factory, name, args.device, session_rules(args)))
                for name, label in labels.items()]
    methods += [(f"automatic:{Path(path).name.removesuffix('.safetensors')}",
                 partial(_automatic_factory, path)) for path in dict.fromkeys(args.automatic)]
    if not methods:
        raise InputError("nothing to evaluate: give --model NAME_OR_PATH, --automatic PATH "
                         "and/or --baseline "
                         f"{{{','.join(sorted(BASELINES))}}}")
    return methods


def _guard(args: argparse.Namespace) -> None:
    from seganypet.evaluation.report import REPORT_FILES
    from seganypet.io.outputs import OutputFolder, guard_outputs

    names = (*REPORT_FILES.values(), "run.json", "auc.md")
    guard_outputs([OutputFolder(args.output, "-o", names)],
                  [*manifest_inputs(args.manifest), *args.model, *args.automatic])


def run(args: argparse.Namespace) -> int:
    if args.task == "lesions":
        from seganypet.cli._evaluate_lesions import run_lesion_evaluation

        return run_lesion_evaluation(args)
    start = time.perf_counter()
    if args.clicks < 1:
        raise InputError(f"--clicks must be at least 1, got {args.clicks}")
    if not args.tolerance_mm > 0 or args.tolerance_mm == float("inf"):
        raise InputError(f"--tolerance-mm must be a positive finite number, got {args.tolerance_mm}")
    _guard(args)
    check_device(args.device)
    rows: list[dict[str, Any]] = []
    methods = _methods(args)
    for method, make_factory in methods:
        rows += evaluate_manifest(
            args.manifest, make_factory(), method, n_clicks=args.clicks, strategy=args.strategy,
            seed=args.seed, splits=args.splits, protocol=args.protocol,
            tolerance_mm=args.tolerance_mm, with_hd95=args.hd95,
        )
    paths = write_report(rows, args.output)
    if args.protocol != "clicks":
        with atomic_path(args.output / "auc.md") as tmp:
            tmp.write_text(auc_table(rows), encoding="utf-8")
        paths["auc"] = args.output / "auc.md"
    run_json = args.output / "run.json"
    with atomic_path(run_json) as tmp:
        info = _run_info(args, [m for m, _ in methods], time.perf_counter() - start)
        tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    print(paths["table"].read_text(encoding="utf-8"), end="")
    print(f"wrote {', '.join(str(p) for p in [*paths.values(), run_json])}")
    return 0
