"""How well a model picks among its first-click candidates, per target kind.

For every scored target of an evaluation manifest (liver, kidneys, spleen, heart, brain,
bladder, lesions >= 10 mm) one click at the target's distance-transform centre, then every
multimask candidate is materialised through the Session (``select_candidate``) and scored on
the original grid. Prints, per target kind, the median Dice of the candidate the session
shows, of the best candidate (an oracle choice), and how often the two agree. A large gap
means the candidate scorer, not the masks, is what loses accuracy. It also prints what two
model-agnostic alternative rules would have shown: SAM's stability score (IoU of the
candidate's mask at logit thresholds +1 and -1 on the low-res grid) and stability x predicted
IoU, each restricted, like the session, to candidates that contain the click.

    python benchmarks/candidate_choice.py --manifest runs/splits/internal.jsonl --model default
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from seganypet import Session, load_model
from seganypet.clicks import distance_center
from seganypet.evaluation.metrics import dice
from seganypet.evaluation.runner import read_case
from seganypet.evaluation.targets import evaluation_records


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=Path("runs/splits/internal.jsonl"))
    parser.add_argument("--model", default="default", help="model name or checkpoint path")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--cases", type=int, help="only the first N cases")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    return parser.parse_args()


def stability_scores(logits: np.ndarray, offset: float = 1.0) -> np.ndarray:
    """SAM's stability score of each candidate: ``|l > +offset| / |l > -offset|``.

    Args:
        logits: ``(K, L, L, L)`` low-res candidate logits.
    Returns:
        ``(K,)`` scores in [0, 1]; 0 for a candidate with no voxel above ``-offset``.
    """
    flat = logits.reshape(len(logits), -1)
    inner = (flat > offset).sum(1)
    outer = (flat > -offset).sum(1)
    return np.where(outer > 0, inner / np.maximum(outer, 1), 0.0)


def _kind(name: str) -> str:
    return "lesions >= 10 mm" if name.startswith("lesion") else name


def main() -> None:
    args = _parse()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model(args.model)
    shown: dict[str, list[float]] = defaultdict(list)
    oracle: dict[str, list[float]] = defaultdict(list)
    agree: dict[str, list[bool]] = defaultdict(list)
    rules: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for record in evaluation_records(args.manifest)[:args.cases]:
        image, labels = read_case(record)
        session = Session(model, precision=args.precision)
        session.set_image(image)
        for target_id in record.targets or ():
            truth = labels == target_id
            name = _kind(record.label_names[target_id])
            session.new_object(name)
            click = tuple(int(v) for v in distance_center(truth, image.spacing))
            session.add_point(click)
            chosen = session.current.chosen_candidate
            tile = session.current.tiles[(0, 0, 0)]
            ious = np.asarray(tile.candidate_iou, dtype=float)
            stability = stability_scores(tile.candidates)
            masks = [session.select_candidate(k).array > 0 for k in range(len(ious))]
            scores = [dice(mask, truth) for mask in masks]
            shown[name].append(scores[chosen])
            oracle[name].append(max(scores))
            agree[name].append(scores[chosen] == max(scores))
            # the session's own filter: only candidates whose mask holds the click
            allowed = np.array([mask[click] for mask in masks])
            allowed = allowed if allowed.any() else np.ones_like(allowed)
            for rule, value in (("stability", stability), ("stability x IoU", stability * ious)):
                rules[rule][name].append(scores[int(np.argmax(np.where(allowed, value, -1)))])
    print(f"model {args.model}, manifest {args.manifest}")
    extra = list(rules)
    print("| target | n | shown candidate DSC | best candidate DSC | choice = best | "
          + " | ".join(f"by {r} DSC" for r in extra) + " |")
    print("|---|---|---|---|---|" + "---|" * len(extra))
    for name in sorted(shown, key=lambda n: (n.startswith("lesions"), n)):
        print(f"| {name} | {len(shown[name])} | {np.median(shown[name]):.3f} | "
              f"{np.median(oracle[name]):.3f} | {np.mean(agree[name]):.0%} | "
              + " | ".join(f"{np.median(rules[r][name]):.3f}" for r in extra) + " |")


if __name__ == "__main__":
    main()
