"""Load on ``seganypet serve`` over loopback: N simulated users, each in their own session.

Usage::

    python benchmarks/server_load.py [--users 8] [--clicks 25] [--voxel-mm 4] [--timeout 900]

Starts the server in a subprocess on a generated FDG phantom. First one user alone, then
``--users`` at once (threads released together), each clicks ``--clicks`` times: simulated
corrections on one structure (at most ``--per-object`` clicks or Dice 0.85), then a new
object on the next. Bounded in count and time (``--timeout`` for the whole run). Prints the
click round trip p50/p95 (all clicks; first clicks of an object, which encode a patch; and
refinement clicks), the number of errors (must be 0) and the server's peak RSS.
Targets (issue 16): one user p95 <= 100 ms, 8 users p95 <= 1.5 s.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from _live_server import Target, annotate, running_server, write_phantoms

from seganypet.client import Client


def _user(url: str, targets: list[Target], start: int, clicks: int, per_object: int,
          deadline: float, barrier: threading.Barrier, out: dict) -> None:
    """One user: annotate targets from ``start`` on until ``clicks`` clicks are spent."""
    rng = np.random.default_rng(start)
    first, later, errors = [], [], []
    try:
        with Client(url) as client:
            scan = client.open(targets[0].scan)
            barrier.wait()
            n = 0
            while len(first) + len(later) < clicks and time.time() < deadline:
                target = targets[(start + n) % len(targets)]
                label = scan.new_object(target.name) if n else 1
                budget = min(per_object, clicks - len(first) - len(later))
                trace = annotate(scan, target, label, rng, budget, goal=0.85)
                first.append(trace.seconds[0])
                later.extend(trace.seconds[1:])
                n += 1
            scan.close()
    except Exception as exc:  # noqa: BLE001 - every failure is counted, none is hidden
        errors.append(f"{type(exc).__name__}: {exc}")
    out[start] = (first, later, errors)


def run_users(url: str, targets: list[Target], users: int, clicks: int, per_object: int,
              timeout: float) -> tuple[list[float], list[float], list[str], float]:
    """(first-click seconds, refinement seconds, errors, wall seconds) of ``users`` at once."""
    barrier = threading.Barrier(users)
    out: dict = {}
    deadline = time.time() + timeout
    threads = [threading.Thread(target=_user, args=(url, targets, u, clicks, per_object,
                                                    deadline, barrier, out)) for u in range(users)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(1.0, deadline - time.time()))
    wall = time.perf_counter() - start
    first = [s for f, _, _ in out.values() for s in f]
    later = [s for _, r, _ in out.values() for s in r]
    errors = [e for _, _, es in out.values() for e in es]
    errors += [f"user {u} did not finish" for u in range(users) if u not in out]
    return first, later, errors, wall


def _ms(values: list[float], q: float) -> str:
    return f"{1000 * np.percentile(values, q):7.0f}" if values else "      -"


def report(label: str, first: list[float], later: list[float], errors: list[str],
           wall: float) -> None:
    every = first + later
    print(f"| {label} | {len(every)} | {_ms(every, 50)} | {_ms(every, 95)} | {_ms(first, 50)} | "
          f"{_ms(later, 50)} | {_ms(later, 95)} | {len(errors)} | {wall:.1f} |")
    for error in errors[:5]:
        print(f"  error: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--clicks", type=int, default=25)
    parser.add_argument("--per-object", type=int, default=5)
    parser.add_argument("--voxel-mm", type=float, default=4.0)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for each phase")
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, work = Path(tmp) / "root", Path(tmp) / "work"
        root.mkdir()
        targets = write_phantoms(root, 1, args.voxel_mm, seed=5)
        with running_server(root, work, args.model, max_sessions=args.users + 1) as server:
            print(f"phantom {targets[0].mask.shape} at {args.voxel_mm} mm, {len(targets)} "
                  f"structures; model {args.model}\n")
            print("| run | clicks | p50 ms | p95 ms | first-click p50 | refine p50 | "
                  "refine p95 | errors | wall s |")
            print("|---|---|---|---|---|---|---|---|---|")
            report("1 user", *run_users(server.url, targets, 1, args.clicks, args.per_object,
                                        args.timeout))
            report(f"{args.users} users", *run_users(server.url, targets, args.users,
                                                     args.clicks, args.per_object, args.timeout))
        print(f"\nserver peak RSS {server.peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
