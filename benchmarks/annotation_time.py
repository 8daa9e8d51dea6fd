"""Time to Dice 0.85 through the HTTP API: the time-saving study, with simulated users.

Usage::

    python benchmarks/annotation_time.py [--cases 2] [--voxel-mm 4] [--max-clicks 10]
                                         [--goal 0.85] [--think-seconds 3] [--model default]

Starts ``seganypet serve`` on loopback on generated FDG phantoms. A simulated user (what the
evaluation protocol does: first click at the target's centre, then at the centre of the
largest error, positive in a miss, negative in a leak) annotates every organ of a fixed list
and every lesion, one object each, through :class:`seganypet.client.Client`, until the mask
reaches the Dice goal or the click budget. Prints per structure class: how often the goal was
reached, the clicks and the server round-trip seconds it took, and an annotation-time estimate
``clicks x think-seconds + round trips`` (the think time is an assumption you set, not a
measurement; a physician's own timing is what the server's ``annotation.jsonl`` records).
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from _live_server import Trace, annotate, running_server, write_phantoms

from seganypet.client import Client


def _group(name: str) -> str:
    return "lesion" if name.startswith("lesion_") else name


def _row(group: str, traces: list[Trace], goal: float, think: float) -> str:
    reached = [t for t in traces if max(t.dice) >= goal]
    clicks = [next(n for n, d in enumerate(t.dice, 1) if d >= goal) for t in reached]
    compute = [sum(t.seconds[:c]) for t, c in zip(reached, clicks)]
    estimate = [c * think + s for c, s in zip(clicks, compute)]

    def median(values: list[float], digits: int = 1) -> str:
        return f"{np.median(values):.{digits}f}" if values else "-"

    return (f"| {group} | {len(traces)} | {100 * len(reached) / len(traces):.0f} % | "
            f"{median(clicks)} | {median(compute, 2)} | {median(estimate)} | "
            f"{median([max(t.dice) for t in traces], 3)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2)
    parser.add_argument("--voxel-mm", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--max-clicks", type=int, default=10)
    parser.add_argument("--goal", type=float, default=0.85)
    parser.add_argument("--think-seconds", type=float, default=3.0,
                        help="assumed human time per click for the estimate column")
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root, work = Path(tmp) / "root", Path(tmp) / "work"
        root.mkdir()
        targets = write_phantoms(root, args.cases, args.voxel_mm, args.seed)
        traces: dict[str, list[Trace]] = defaultdict(list)
        with running_server(root, work, args.model, max_sessions=2) as server, \
                Client(server.url) as client:
            for scan_name in sorted({t.scan for t in targets}):
                scan = client.open(scan_name)
                for n, target in enumerate(t for t in targets if t.scan == scan_name):
                    label = scan.new_object(target.name) if n else 1
                    trace = annotate(scan, target, label, rng, args.max_clicks, args.goal)
                    traces[_group(target.name)].append(trace)
                scan.close()
        print(f"{len(targets)} structures on {args.cases} phantoms at {args.voxel_mm} mm, "
              f"model {args.model}, goal Dice {args.goal}, at most {args.max_clicks} clicks; "
              f"server peak RSS {server.peak_mb:.0f} MB\n")
        print(f"| structure | n | reached | clicks to goal (median) | round trips s | "
              f"estimate s ({args.think_seconds:g} s/click) | best Dice (median) |")
        print("|---|---|---|---|---|---|---|")
        for group in sorted(traces):
            print(_row(group, traces[group], args.goal, args.think_seconds))
        print(_row("all", [t for ts in traces.values() for t in ts], args.goal,
                   args.think_seconds))


if __name__ == "__main__":
    main()
