"""Shared by the server benchmarks: phantom scans under a root folder, a ``seganypet serve``
subprocess on loopback (so its peak RSS is its own), and a simulated user who clicks through
the HTTP client like a person correcting the mask (centre first, then the largest error)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from seganypet.clicks import Click, first_click, next_click
from seganypet.client import RemoteSession
from seganypet.data.organs import LESION_ID_START, ORGAN_IDS
from seganypet.data.phantom import PhantomConfig, generate_case, write_case
from seganypet.evaluation.metrics import dice

ORGANS = ("liver", "spleen", "kidney_left", "kidney_right", "heart", "bladder")


@dataclass(frozen=True)
class Target:
    """One structure to annotate: its scan (relative to the root) and ground-truth mask."""

    scan: str
    name: str
    mask: np.ndarray
    spacing: tuple[float, float, float]


def write_phantoms(root: Path, cases: int, voxel_mm: float, seed: int) -> list[Target]:
    """``cases`` FDG phantoms in ``root``; targets: the organs of ORGANS and every lesion."""
    targets = []
    for n in range(cases):
        case = generate_case(np.random.default_rng(seed + n),
                             PhantomConfig(tracer="fdg", n_lesions=4, voxel_mm=voxel_mm))
        write_case(case, root, f"case{n}")
        truth = np.asarray(case.label.array)
        names = [(o, ORGAN_IDS[o]) for o in ORGANS]
        names += [(f"lesion_{v}", int(v)) for v in np.unique(truth) if v >= LESION_ID_START]
        targets += [Target(f"case{n}_SUV.nii.gz", name, truth == value, case.suv.spacing)
                    for name, value in names if np.any(truth == value)]
    return targets


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of a live process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    peak_mb: float = field(default=float("nan"))


@contextlib.contextmanager
def running_server(root: Path, work: Path, model: str, max_sessions: int) -> Iterator[Server]:
    """``seganypet serve`` in a subprocess; waits for ``/api/health``; peak RSS read at exit."""
    port = _free_port()
    command = [sys.executable, "-m", "seganypet", "serve", "--root", str(root), "--port",
               str(port), "--work-dir", str(work), "--model", model,
               "--max-sessions", str(max_sessions)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.time() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"seganypet serve exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.url}/api/health", timeout=2).status_code == 200:
                    break
            if time.time() > deadline:
                raise RuntimeError("seganypet serve did not answer /api/health within 120 s")
            time.sleep(0.2)
        yield server
        server.peak_mb = peak_rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass
class Trace:
    """What one simulated annotation of one target took: per click, Dice and round trip."""

    target: str
    dice: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def annotate(scan: RemoteSession, target: Target, label: int, rng: np.random.Generator,
             max_clicks: int, goal: float | None) -> Trace:
    """Click on object ``label`` of ``scan`` until Dice reaches ``goal`` or ``max_clicks``."""
    trace = Trace(target.name)
    click: Click = first_click(target.mask, rng, "center", target.spacing)
    previous: list[Click] = []
    for _ in range(max_clicks):
        start = time.perf_counter()
        scan.add_point(click.index, click.positive)
        trace.seconds.append(time.perf_counter() - start)
        prediction = scan.labels == label
        trace.dice.append(dice(prediction, target.mask))
        if goal is not None and trace.dice[-1] >= goal:
            break
        previous.append(click)
        click = next_click(prediction, target.mask, rng, "center", target.spacing, previous)
    return trace

