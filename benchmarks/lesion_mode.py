"""Seconds per whole-body scan in lesion mode (``seganypet lesions``), and where they go.

Usage::

    python benchmarks/lesion_mode.py [--threads 2] [--cases 3] [--voxel-mm 4] [--sts001 PATH]

Generates whole-body FDG phantoms (vertex to thighs, realistic mode, seeds 900+), runs
``find_lesions`` on each (and on STS_001 when its SUV NIfTI is given or found beside the
repository), and prints per scan: grid, hot spots, lesions, model prompts, seconds, and
against the truth (the phantom's lesions, STS_001's GTV): lesions >= 1 ml found at IoU 0.1,
false-positive lesions and the all-lesion Dice. The target is <= 60 s per whole-body scan on
2 cores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from seganypet.data.organs import LESION_ID_START
from seganypet.data.phantom import PhantomConfig, generate_case
from seganypet.evaluation.lesions import detection
from seganypet.evaluation.metrics import dice
from seganypet.io.nifti import read_nifti
from seganypet.lesions import find_lesions
from seganypet.model import load_model
from seganypet.session import Session

_STS = (Path(__file__).resolve().parents[2] / "shared" / "data" / "sts001_wholebody_fdg_pet"
        / "derived_nifti" / "STS_001_PET_SUVbw.nii.gz")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cases", type=int, default=3, help="phantoms (default 3)")
    parser.add_argument("--voxel-mm", type=float, default=4.0)
    parser.add_argument("--sts001", type=Path, default=_STS, help="STS_001 SUV NIfTI (if present)")
    parser.add_argument("--model", default="default")
    return parser.parse_args()


def _scans(args: argparse.Namespace):
    for n in range(args.cases):
        case = generate_case(np.random.default_rng(900 + n), PhantomConfig(
            tracer="fdg", voxel_mm=args.voxel_mm, whole_body=True))
        yield f"phantom {900 + n}", case.suv, case.label.array >= LESION_ID_START
    if args.sts001.is_file():
        gtv = args.sts001.parent / "STS_001_GTV_Mass_mask.nii.gz"
        yield "STS_001", read_nifti(args.sts001, unit="SUVbw"), read_nifti(gtv).array > 0


def _count_prompts() -> list[int]:
    """Count Session.add_point calls (one per model prompt) by wrapping the method."""
    counter = [0]
    original = Session.add_point

    def counted(self, *a, **k):
        counter[0] += 1
        return original(self, *a, **k)

    Session.add_point = counted  # type: ignore[method-assign]
    return counter


def main() -> None:
    args = _parse()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    prompts = _count_prompts()
    print(f"threads {args.threads}, model {args.model}")
    print("| scan | grid | voxel mm | hot spots | lesions | prompts | seconds | found >= 1 ml "
          "| FP lesions | all-lesion DSC |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    times = []
    for name, image, truth in _scans(args):
        prompts[0] = 0
        start = time.perf_counter()
        result = find_lesions(image, model)
        seconds = time.perf_counter() - start
        times.append(seconds)
        spacing = "x".join(f"{s:.1f}" for s in image.spacing)
        labels = result.labels.array
        found = detection(labels, truth, image.voxel_volume_ml)
        print(f"| {name} | {'x'.join(map(str, image.shape))} | {spacing} | "
              f"{result.hot_spot_count} | {int(labels.max())} | {prompts[0]} | "
              f"{seconds:.1f} | {found['found']}/{found['true_lesions']} | "
              f"{found['false_positive_lesions']} | {dice(labels > 0, truth):.3f} |", flush=True)
    print(f"median {np.median(times):.1f} s, max {max(times):.1f} s per whole-body scan")


if __name__ == "__main__":
    main()
