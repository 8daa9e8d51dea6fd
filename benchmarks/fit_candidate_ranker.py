"""Fit the session's candidate ranker for a model, and draw its reliability on held-out cases.

One click at the deepest voxel of every target (the manifests' ``targets``: card organs and
lesions >= 10 mm) of the ``--fit`` manifests gives each first-click candidate's features and
the Dice it reaches; the ranker (:mod:`seganypet.session.ranking`) is fitted on them and
written beside the weights (``<weights>.ranker.json``, or ``--out``). On the ``--held-out``
manifests it prints the shown candidate's Dice with the ranker against the boundary-step rule,
and draws the reliability diagram of the ranker's score for the candidate it shows.

    python benchmarks/evaluation_splits.py --out runs/fitsplits --cases 4 \
        --internal-seed 737373 --external-seed 828282
    python benchmarks/fit_candidate_ranker.py --model default \
        --fit runs/fitsplits/internal.jsonl runs/fitsplits/external.jsonl \
        --held-out runs/splits/internal.jsonl runs/splits/external.jsonl \
        --png docs/images/ranker_reliability.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from calibration import draw, reliability_bins
from sphere_phantom import sphere_scene
from tqdm import tqdm

from seganypet import load_model, read_pet
from seganypet.atomic import atomic_path
from seganypet.data.manifest import read_manifest
from seganypet.evaluation.metrics import dice
from seganypet.io import read_nifti
from seganypet.session.ranking import CandidateRanker, ranker_path_for
from seganypet.train.ranker import RankerSample, candidate_sample, fit_ranker


def samples_of(model: torch.nn.Module, manifests: list[Path], label: str) -> list[RankerSample]:
    """One :class:`RankerSample` per target of every case of ``manifests``."""
    jobs = [(record, target) for manifest in manifests for record in read_manifest(manifest)
            for target in (record.targets or ())]
    samples, cache = [], {}
    for record, target in tqdm(jobs, desc=label, unit="target"):
        if record.case_id not in cache:
            cache = {record.case_id: (read_pet(record.image), read_nifti(record.label).array)}
        image, labels = cache[record.case_id]
        truth = labels == target
        if not truth.any():
            continue
        group = "lesion" if record.label_names[target].startswith("lesion") else "organ"
        sample = candidate_sample(model, image, truth, group, dice)
        if sample is not None:
            samples.append(sample)
    return samples


def sphere_samples(model: torch.nn.Module, count: int, seed: int) -> list[RankerSample]:
    """Hot spheres in a uniform warm background (``benchmarks/sphere_phantom.py`` scenes), of
    random diameter (8-40 mm), contrast (3-10), PSF (5-8 mm) and noise (5-15 %): the NEMA-like
    scenes the whole-body phantoms lack."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in tqdm(range(count), desc="spheres", unit="scene"):
        image, truth, _ = sphere_scene(rng.uniform(8, 40), rng.uniform(3, 10), rng.uniform(5, 8),
                                       rng.uniform(0.05, 0.15), rng)
        sample = candidate_sample(model, image, truth, "sphere", dice)
        if sample is not None:
            samples.append(sample)
    return samples


def report(ranker: CandidateRanker, samples: list[RankerSample], png: Path | None) -> None:
    """Shown Dice with the ranker vs the rule per group; reliability of the ranker's score."""
    shown = []
    print("| targets | n | ranker shown: median (mean) | rule shown: median (mean) |")
    print("|---|---|---|---|")
    for group in sorted({s.group for s in samples}):
        rows = [s for s in samples if s.group == group]
        scores = [ranker.predict(s.features) for s in rows]
        picks = [int(np.argmax(p)) for p in scores]
        ranked = np.array([s.dice[k] for s, k in zip(rows, picks)])
        rule = np.array([s.dice[s.rule] for s in rows])
        print(f"| {group} | {len(rows)} | {np.median(ranked):.3f} ({ranked.mean():.3f}) | "
              f"{np.median(rule):.3f} ({rule.mean():.3f}) |")
        shown += [(float(p[k]), float(s.dice[k])) for s, p, k in zip(rows, scores, picks)]
    pairs = np.asarray(shown)
    bins = reliability_bins(pairs[:, 0], pairs[:, 1])
    ece = sum(n * abs(x - y) for x, y, n in bins) / len(pairs)
    print(f"\nscore of the shown candidate, held out: expected calibration error {ece:.3f}")
    print("| bin mean score | observed Dice | n |\n|---|---|---|")
    for x, y, n in bins:
        print(f"| {x:.2f} | {y:.2f} | {n} |")
    if png is not None:
        draw(bins, png, f"ranker score of the shown mask, {len(pairs)} held-out targets")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--fit", type=Path, nargs="+", required=True, help="manifests to fit on")
    parser.add_argument("--held-out", type=Path, nargs="*", default=[])
    parser.add_argument("--out", type=Path, help="default: <weights>.ranker.json")
    parser.add_argument("--spheres", type=int, default=0,
                        help="hot-sphere scenes added to the fit (seed --seed)")
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--png", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    out = args.out or ranker_path_for(model.weights_path)
    samples = samples_of(model, args.fit, "fit") + sphere_samples(model, args.spheres, args.seed)
    ranker = fit_ranker(samples, hidden=args.hidden, seed=args.seed, info={
        "model": Path(model.weights_path).name, "fitted_on": [str(p) for p in args.fit],
        "sphere_scenes": args.spheres})
    with atomic_path(out) as tmp:
        tmp.write_text(ranker.to_json())
    print(f"fitted on {len(samples)} targets; wrote {out}")
    if args.held_out:
        report(ranker, samples_of(model, args.held_out, "held out"), args.png)


if __name__ == "__main__":
    main()
