"""Is ``Session.suggest()`` calibrated? Reliability of the cross-prompt error probability.

For every target of the manifests (a few per case): one click at the target's centre, then
``--steps`` states, each reached by the usual corrective click (centre of the largest
error, so the states are those of the ``clicks`` protocol, independent of the suggestions).
In every state:

* each voxel near the object (the box of mask and target, 5 voxels wider) contributes its
  predicted error probability ``p_error`` (``seganypet.session.uncertainty``) and whether the
  shown mask is really wrong there -> a reliability diagram (observed error frequency per
  bin of ``p_error``) and the expected calibration error (ECE, bins weighted by voxels);
* the suggested voxel: how often it is really an error (then its sign is right too), against
  its mean predicted ``p_error`` and against a uniform random voxel of the mask's boundary
  shell (the voxels one step inside or outside the mask), a naive "click the edge" rule.

    python benchmarks/suggest_calibration.py --manifest runs/splits/internal.jsonl \\
        --manifest runs/sts_crops.jsonl -o results/suggest_calibration
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import ndimage

from seganypet import Session, load_model
from seganypet.clicks import next_click
from seganypet.data.manifest import read_manifest
from seganypet.evaluation.runner import read_case
from seganypet.mask_centre import distance_center
from seganypet.session.uncertainty import cross_prompt_probability, error_probability, suggest_from

BINS = np.linspace(0.0, 1.0, 11)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, action="append", required=True)
    parser.add_argument("--model", default="default")
    parser.add_argument("--cases", type=int, default=20, help="cases per manifest")
    parser.add_argument("--targets", type=int, default=4, help="targets per case (largest first)")
    parser.add_argument("--steps", type=int, default=3, help="states per target")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("-o", "--output", type=Path, default=Path("results/suggest_calibration"))
    return parser.parse_args()


def _near(mask: np.ndarray, truth: np.ndarray, margin: int = 5) -> tuple[slice, ...]:
    voxels = np.argwhere(mask | truth)
    lo = np.maximum(voxels.min(axis=0) - margin, 0)
    hi = np.minimum(voxels.max(axis=0) + margin + 1, mask.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))


def _boundary_hit_rate(mask: np.ndarray, truth: np.ndarray) -> float:
    """Fraction of the mask's boundary shell that is wrong (= hit rate of a random edge click)."""
    shell = ndimage.binary_dilation(mask) ^ ndimage.binary_erosion(mask)
    return float((mask[shell] != truth[shell]).mean()) if shell.any() else float("nan")


class Tally:
    """Voxel histograms per p_error bin and the suggestions' outcomes."""

    def __init__(self) -> None:
        self.count = np.zeros(len(BINS) - 1)
        self.wrong = np.zeros(len(BINS) - 1)
        self.predicted = np.zeros(len(BINS) - 1)
        self.suggested: list[tuple[float, bool, bool]] = []  # (p_error, really wrong, positive)
        self.edge: list[float] = []

    def add_state(self, p_error: np.ndarray, wrong: np.ndarray) -> None:
        bins = np.clip(np.digitize(p_error, BINS) - 1, 0, len(BINS) - 2)
        self.count += np.bincount(bins.ravel(), minlength=len(BINS) - 1)
        self.wrong += np.bincount(bins.ravel(), weights=wrong.ravel(), minlength=len(BINS) - 1)
        self.predicted += np.bincount(bins.ravel(), weights=p_error.ravel(), minlength=len(BINS) - 1)

    def summary(self) -> dict:
        used = self.count > 0
        observed = np.where(used, self.wrong / np.maximum(self.count, 1), np.nan)
        mean_p = np.where(used, self.predicted / np.maximum(self.count, 1), np.nan)
        ece = float(np.nansum(np.abs(observed - mean_p) * self.count) / self.count.sum())
        s = np.array(self.suggested, float).reshape(-1, 3)
        return {
            "voxels": int(self.count.sum()), "ece": ece,
            "bins": [{"lo": float(a), "hi": float(b), "voxels": int(n), "mean_p_error": float(p),
                      "observed_error": float(o)}
                     for a, b, n, p, o in zip(BINS[:-1], BINS[1:], self.count, mean_p, observed)],
            "suggestions": len(s),
            "suggestion_hit_rate": float(s[:, 1].mean()) if len(s) else float("nan"),
            "suggestion_mean_p_error": float(s[:, 0].mean()) if len(s) else float("nan"),
            "positive_suggestions": int(s[:, 2].sum()) if len(s) else 0,
            "positive_hit_rate": float(s[s[:, 2] == 1, 1].mean()) if (s[:, 2] == 1).any() else None,
            "negative_hit_rate": float(s[s[:, 2] == 0, 1].mean()) if (s[:, 2] == 0).any() else None,
            "edge_click_hit_rate": float(np.nanmean(self.edge)) if self.edge else float("nan"),
        }


def _targets(record, labels: np.ndarray, limit: int) -> list[int]:
    present = [t for t in record.target_ids if (labels == t).any()]
    return sorted(present, key=lambda t: -int((labels == t).sum()))[:limit]


def run_target(model, image, truth: np.ndarray, steps: int, tally: Tally) -> None:
    session = Session(model)
    session.set_image(image)
    rng = np.random.default_rng(0)
    mask = session.add_point(distance_center(truth, image.spacing)).array > 0
    previous = []
    for _ in range(steps):
        probability = cross_prompt_probability(session)
        suggestion = suggest_from(probability, mask, image)
        near = _near(mask, truth)
        p_error = error_probability(probability, mask)
        tally.add_state(p_error[near], (mask != truth)[near])
        v = suggestion.index
        tally.suggested.append((suggestion.error_probability, bool(mask[v] != truth[v]),
                                suggestion.positive))
        tally.edge.append(_boundary_hit_rate(mask, truth))
        click = next_click(mask, truth, rng, "center", image.spacing, previous=previous)
        previous.append(click)
        mask = session.add_point(click.index, click.positive).array > 0


def plot(tallies: dict[str, Tally], path: Path) -> None:
    figure = Figure(figsize=(9, 4.2))
    FigureCanvasAgg(figure)
    ax, bars = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    centres = 0.5 * (BINS[:-1] + BINS[1:])
    for name, tally in tallies.items():
        s = tally.summary()
        mean_p = [b["mean_p_error"] for b in s["bins"]]
        observed = [b["observed_error"] for b in s["bins"]]
        ax.plot(mean_p, observed, marker="o", label=f"{name} (ECE {s['ece']:.3f})")
        bars.bar(centres + (0.02 if name != next(iter(tallies)) else -0.02), tally.count, width=0.04,
                 label=name, log=True)
    ax.set_xlabel("predicted error probability (cross-prompt)")
    ax.set_ylabel("observed error frequency")
    ax.set_title("reliability of p_error")
    ax.legend(fontsize=8)
    bars.set_xlabel("predicted error probability")
    bars.set_ylabel("voxels (log)")
    bars.set_title("voxels per bin")
    bars.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    args = _parse()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    tallies: dict[str, Tally] = {}
    for manifest in args.manifest:
        tally = tallies.setdefault(manifest.stem, Tally())
        for record in [r for r in read_manifest(manifest) if r.label is not None][:args.cases]:
            image, labels = read_case(record)
            for target in _targets(record, labels, args.targets):
                run_target(model, image, labels == target, args.steps, tally)
    args.output.mkdir(parents=True, exist_ok=True)
    result = {name: t.summary() for name, t in tallies.items()}
    (args.output / "calibration.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(tallies, args.output / "reliability.png")
    print("| data | voxels | ECE | suggestions | suggested voxel really wrong | its mean p_error "
          "| + / - hit rate | random edge voxel wrong |")
    print("|---|---|---|---|---|---|---|---|")
    for name, s in result.items():
        print(f"| {name} | {s['voxels']} | {s['ece']:.3f} | {s['suggestions']} "
              f"| {s['suggestion_hit_rate']:.0%} | {s['suggestion_mean_p_error']:.2f} "
              f"| {s['positive_hit_rate']} / {s['negative_hit_rate']} "
              f"| {s['edge_click_hit_rate']:.0%} |")
    print(f"wrote {args.output / 'calibration.json'}, {args.output / 'reliability.png'}")


if __name__ == "__main__":
    main()
