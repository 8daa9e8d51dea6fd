"""Interactive latency on a whole-body phantom: first click, next clicks, several organs.

Usage::

    python benchmarks/session_latency.py [--model default] [--threads 2] [--repeats 3]

Prints a table: first-click latency (patch sampling + encoder + decoder + paste-back),
per-click latency after the first (decoder + paste-back only; target <= 30 ms for the
default model), whole-session time for one click on each of several organs, and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from seganypet.cli._options import add_session_rule_arguments, session_rules
from seganypet.clicks import distance_center
from seganypet.data.organs import ORGAN_IDS
from seganypet.data.phantom import PhantomConfig, generate_case
from seganypet.model import load_model
from seganypet.session import Session

ORGANS = ("liver", "spleen", "kidney_left", "heart", "brain", "bladder")


def _time(session: Session, point: np.ndarray, positive: bool = True) -> tuple[float, float]:
    """(wall, CPU) seconds of one click. On a machine shared with other jobs the wall time
    mostly measures waiting; the process CPU time (all threads) is what the click costs."""
    start, cpu = time.perf_counter(), time.process_time()
    session.add_point(point, positive=positive)
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    parser.add_argument("--no-safety-net", action="store_true",
                        help="the model's candidates only (no isocontour candidates)")
    add_session_rule_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    case = generate_case(np.random.default_rng(11), PhantomConfig(tracer="fdg", whole_body=True))
    image, truth = case.suv, case.label.array
    liver = truth == ORGAN_IDS["liver"]
    centre = np.asarray(distance_center(liver, image.spacing))
    first, nxt = [], []

    def new_session() -> Session:
        return Session(model, precision=args.precision, safety_net=not args.no_safety_net,
                       **session_rules(args))

    for _ in range(args.repeats):
        session = new_session()
        session.set_image(image)
        first.append(_time(session, centre))
        for offset in ((3, 0, 0), (0, 3, 0), (0, 0, -3)):
            point = np.clip(centre + offset, 0, np.asarray(image.shape) - 1)
            nxt.append(_time(session, point, bool(liver[tuple(point)])))
    session = new_session()
    session.set_image(image)
    start = time.perf_counter()
    for n, organ in enumerate(ORGANS):
        if n:
            session.new_object(organ)
        session.add_point(distance_center(truth == ORGAN_IDS[organ], image.spacing))
    whole = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"model: {args.model} ({model.config.name}), precision {args.precision}, "
          f"{args.threads} threads; phantom {image.shape} at {np.round(image.spacing, 2)} mm")
    first_a, next_a = np.asarray(first), np.asarray(nxt)  # (n, 2): wall, CPU
    print("| measure | wall median | wall min | CPU median (all threads) |")
    print("|---|---|---|---|")
    print(f"| first click (s) | {np.median(first_a[:, 0]):.3f} | {first_a[:, 0].min():.3f} "
          f"| {np.median(first_a[:, 1]):.3f} |")
    print(f"| next click (ms) | {1000 * np.median(next_a[:, 0]):.1f} | "
          f"{1000 * next_a[:, 0].min():.1f} | {1000 * np.median(next_a[:, 1]):.1f} |")
    print(f"| one click on each of {len(ORGANS)} organs (s) | {whole:.2f} | |")
    print(f"| peak RSS (MB) | {peak_mb:.0f} | |")


if __name__ == "__main__":
    main()
