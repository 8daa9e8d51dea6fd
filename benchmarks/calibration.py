"""Calibrate the mask quality score on held-out phantoms and draw its reliability diagram.

Every first-click candidate (the model's 3 and the isocontours) of one click at the centre of
each target (liver, spleen, kidneys, heart, brain, bladder, lesions >= 10 mm) of phantoms from
seeds training never uses gives one (boundary contrast, Dice) pair. The isotonic fit on the
*fit* seeds is written as the shipped calibration (``--write``); the reliability diagram is
drawn on the *held-out* seeds only.

    python benchmarks/calibration.py --cases 3 --write
    python benchmarks/calibration.py --cases 3 --png docs/images/quality_reliability.png
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import torch

from seganypet import Session, load_model
from seganypet.atomic import atomic_path
from seganypet.data.phantom import PhantomConfig, generate_case
from seganypet.evaluation.metrics import dice
from seganypet.evaluation.targets import select_targets
from seganypet.mask_centre import distance_center
from seganypet.session.quality import CALIBRATION_FILE, Calibration, fit_isotonic

FIT_SEED, HELD_OUT_SEED = 990001, 990101  # case n uses seed + n; training never draws these


def candidate_pairs(model: torch.nn.Module, seed: int) -> list[tuple[float, float, str]]:
    """(boundary contrast, Dice, source) of every first-click candidate of one phantom."""
    case = generate_case(np.random.default_rng(seed), PhantomConfig(tracer="mixed", n_lesions=4))
    names = {int(k): v for k, v in case.info["label_names"].items()}
    pairs = []
    for target in select_targets(names, case.info["lesions"]):
        truth = case.label.array == target
        if truth.sum() < 8:
            continue
        session = Session(model)
        session.set_image(case.suv)
        session.add_point(distance_center(truth, case.suv.spacing))
        sets = session.current.tiles[(0, 0, 0)].candidate_set
        for info in session.candidates:
            if info.volume_ml > 0:
                mask = sets.mask(info.index).full(truth.shape) > 0
                pairs.append((info.boundary.contrast, dice(mask, truth), info.source))
    return pairs


def reliability_bins(predicted: np.ndarray, observed: np.ndarray, bins: int = 8
                     ) -> list[tuple[float, float, int]]:
    """(mean predicted, mean observed Dice, count) per equal-width bin of ``predicted``."""
    predicted, observed = np.asarray(predicted, float), np.asarray(observed, float)
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for lo, hi in itertools.pairwise(edges):
        inside = (predicted >= lo) & ((predicted < hi) | (hi == 1.0))
        if inside.any():
            rows.append((float(predicted[inside].mean()), float(observed[inside].mean()),
                         int(inside.sum())))
    return rows


def reliability(calibration: Calibration, pairs: np.ndarray, bins: int = 8
                ) -> list[tuple[float, float, int]]:
    """Reliability bins of the calibrated score of ``pairs`` (boundary contrast, Dice)."""
    predicted = np.clip([calibration(x) for x in pairs[:, 0]], 0, 1)
    return reliability_bins(predicted, pairs[:, 1], bins)


def draw(rows: list[tuple[float, float, int]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    ax.plot([r[0] for r in rows], [r[1] for r in rows], marker="o", label="held-out phantoms")
    for x, y, n in rows:
        ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set(xlabel="quality score (expected Dice)", ylabel="observed Dice", xlim=(0, 1),
           ylim=(0, 1), title=title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--cases", type=int, default=3, help="phantoms per split")
    parser.add_argument("--write", action="store_true", help=f"write {CALIBRATION_FILE.name}")
    parser.add_argument("--png", type=Path, default=Path("docs/images/quality_reliability.png"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    fit = np.array([p[:2] for n in range(args.cases) for p in candidate_pairs(model, FIT_SEED + n)])
    held = np.array([p[:2] for n in range(args.cases)
                     for p in candidate_pairs(model, HELD_OUT_SEED + n)])
    calibration = fit_isotonic(fit[:, 0], fit[:, 1])
    if args.write:
        text = json.dumps({
            "feature": "boundary_contrast", "target": "Dice of the candidate",
            "fitted_on": f"{len(fit)} candidates of {args.cases} phantoms, seeds {FIT_SEED}+n",
            "x": np.round(calibration.x, 5).tolist(), "y": np.round(calibration.y, 5).tolist(),
        }, indent=1) + "\n"
        with atomic_path(CALIBRATION_FILE) as tmp:
            tmp.write_text(text)
    rows = reliability(calibration, held)
    predicted = np.array([calibration(x) for x in held[:, 0]])
    gap = float(np.mean(np.abs(predicted - held[:, 1])))
    rank = float(np.corrcoef(np.argsort(np.argsort(predicted)), np.argsort(np.argsort(held[:, 1])))[0, 1])
    ece = sum(n * abs(x - y) for x, y, n in rows) / len(held)
    print(f"fit: {len(fit)} candidates; held-out: {len(held)} candidates")
    print(f"held-out: expected calibration error {ece:.3f}, mean |score - Dice| {gap:.3f}, "
          f"Spearman rho {rank:.2f}")
    print("| bin mean score | observed Dice | n |")
    print("|---|---|---|")
    for x, y, n in rows:
        print(f"| {x:.2f} | {y:.2f} | {n} |")
    draw(rows, args.png, f"quality score, {len(held)} held-out candidates")


if __name__ == "__main__":
    main()
