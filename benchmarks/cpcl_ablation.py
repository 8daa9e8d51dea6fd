"""CPCL ablation on phantoms with simulated LQ labels (SegAnyPET Table 4 style).

Trains three variants from the same initial weights — plain (LQ labels used as HQ),
consistency (L_cps + raw LQ labels, ramped), full CPCL (L_cps + entropy-rectified LQ labels) —
on the "seen" organs, then scores patch-level Dice after 1 and 3 clicks on held-out HQ
phantoms for seen and unseen organs. Prints a markdown table and writes results.json.

    python benchmarks/cpcl_ablation.py                       # tiny scale (minutes on 2 cores)
    python benchmarks/cpcl_ablation.py --preset pet-small --init default --steps 300 --amp auto
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from seganypet.cli.train import resolve_config_path
from seganypet.errors import InputError
from seganypet.model import build_model, load_model, save_model
from seganypet.train.checkpoint import load_checkpoint
from seganypet.train.config import TrainConfig, load_config
from seganypet.train.flags import parse_value
from seganypet.train.loop import train
from seganypet.train.validation import held_out_source, patch_dice

MODES = ("plain", "consistency", "full")
UNSEEN = ("bladder", "stomach", "aorta", "salivary_glands")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/cpcl_ablation"))
    parser.add_argument("--steps", type=int, help="override the configs' steps")
    parser.add_argument("--preset", help="override the model preset (default: the configs')")
    parser.add_argument("--init", help="common initial weights (default: a seeded random init)")
    parser.add_argument("--amp", help="override amp (off/auto/bf16)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override any TrainConfig field for every variant, e.g. "
                             "--set lr_encoder=1e-4 --set grad_decodes=all")
    parser.add_argument("--score-init", action="store_true",
                        help="also score the initial weights (row 'init')")
    parser.add_argument("--samples", type=int, default=32, help="held-out patches per group")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES),
                        help="variants to run (finished ones in --out are only re-scored)")
    return parser.parse_args()


def _config(mode: str, args: argparse.Namespace, init: str):
    cfg = load_config(resolve_config_path(f"cpcl_ablation_{mode}"))
    changes = {"init": init, "out_dir": str(args.out / mode)}
    changes.update({k: v for k, v in (("steps", args.steps), ("preset", args.preset),
                                      ("amp", args.amp)) if v is not None})
    changes.update(_overrides(args.set))
    return dataclasses.replace(cfg, **changes)


def _overrides(items: list[str]) -> dict[str, object]:
    """``["lr_encoder=1e-4", ...]`` -> typed TrainConfig field values."""
    fields = {f.name: str(f.type) for f in dataclasses.fields(TrainConfig)}
    out: dict[str, object] = {}
    for item in items:
        name, _, text = item.partition("=")
        if name not in fields:
            raise SystemExit(f"--set: unknown training option {name!r}")
        out[name] = parse_value(text, fields[name])
    return out


def _score(model, cfg, names, samples: int) -> dict[str, float]:
    source = held_out_source(cfg, model, target_names=names, target_kinds="organs")
    dice = np.concatenate(list(patch_dice(model, source, samples, n_clicks=3).values()))
    return {"dsc1": float(np.mean(dice[:, 0])), "dsc3": float(np.mean(dice[:, 2])),
            "n": int(dice.shape[0])}


def _finished(cfg) -> bool:
    """Whether ``cfg.out_dir`` already holds the final checkpoint of this variant."""
    try:
        return load_checkpoint(cfg.out_dir)[1].step >= cfg.steps
    except InputError:
        return False


def main() -> None:
    args = _parse()
    args.out.mkdir(parents=True, exist_ok=True)
    init = args.init
    if init is None:
        torch.manual_seed(0)
        preset = args.preset or load_config(resolve_config_path("cpcl_ablation_plain")).preset
        init_path = args.out / "init.safetensors"
        if not init_path.is_file():  # every variant (and every rerun) starts from these weights
            save_model(build_model(preset), init_path)
        init = str(init_path)
    results = {}
    if args.score_init:  # the common starting point, for reference
        cfg = _config("plain", args, init)
        model = load_model(init)
        results["init"] = {"steps": 0, "minutes": 0.0,
                           "seen": _score(model, cfg, cfg.target_names, args.samples),
                           "unseen": _score(model, cfg, UNSEEN, args.samples)}
    for mode in args.modes:
        cfg = _config(mode, args, init)
        started = time.monotonic()
        if not _finished(cfg):
            train(cfg)
        model, state, _ = load_checkpoint(cfg.out_dir)
        results[mode] = {"steps": state.step, "minutes": round((time.monotonic() - started) / 60, 1),
                         "seen": _score(model, cfg, cfg.target_names, args.samples),
                         "unseen": _score(model, cfg, UNSEEN, args.samples)}
        print(mode, json.dumps(results[mode]), flush=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("\n| training | seen DSC 1 click | seen DSC 3 clicks | unseen DSC 1 click | "
          "unseen DSC 3 clicks |\n|---|---|---|---|---|")
    for mode, r in results.items():
        print(f"| {mode} | {r['seen']['dsc1']:.3f} | {r['seen']['dsc3']:.3f} | "
              f"{r['unseen']['dsc1']:.3f} | {r['unseen']['dsc3']:.3f} |")


if __name__ == "__main__":
    main()
