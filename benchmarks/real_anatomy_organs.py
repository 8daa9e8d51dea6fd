"""One click per organ of real anatomy: a real CT organ map rendered as FDG PET.

The TotalSegmentator example of ``../shared/data/totalsegmentator_example_ct`` (a real CT's
organ segmentation, 3 mm, partial abdomen) becomes FDG PET with
:func:`seganypet.data.label_to_pet.label_to_pet` (our uptake, PSF and noise models, several
seeds); the organ shapes, sizes and neighbourhoods are real. One click at each organ's deepest
voxel; Dice of the default model with the safety net, the model alone and the 41 % isocontour;
and one tight 3D box around the organ instead of the click (issue 18's box target).

    python benchmarks/real_anatomy_organs.py [--model default] [--seeds 3]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from sarcoma_crops import one_click

from seganypet import Session, load_model
from seganypet.data.label_to_pet import label_to_pet
from seganypet.data.organs import ORGAN_IDS
from seganypet.evaluation.metrics import dice
from seganypet.io import read_nifti
from seganypet.mask_centre import distance_center
from seganypet.quantify.delineation import isocontour_from_seed

DEFAULT_DATA = (Path(__file__).resolve().parents[2] / "shared" / "data"
                / "totalsegmentator_example_ct" / "example_seg.nii.gz")
ORGANS = ("liver", "spleen", "kidney_left", "kidney_right", "stomach")


def one_box(model: torch.nn.Module, image, truth: np.ndarray) -> np.ndarray:
    """The mask from one tight 3D box around ``truth`` (voxel bounds, inclusive)."""
    where = np.argwhere(truth)
    session = Session(model)
    session.set_image(image)
    return session.add_box(where.min(0), where.max(0)).array > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    label = read_nifti(args.data)
    ct = read_nifti(args.data.with_name("example_ct_sm.nii.gz"))
    scores: dict[str, list[tuple[float, ...]]] = defaultdict(list)
    print("| seed | organ | ml | default + safety net (shown) | model alone | 41 % isocontour "
          "| 3D box |")
    print("|---|---|---|---|---|---|---|")
    for seed in range(args.seeds):
        suv, organs, _ = label_to_pet(label, np.random.default_rng(seed), tracer="fdg", ct=ct)
        for name in ORGANS:
            truth = organs.array == ORGAN_IDS[name]
            if not truth.any():
                continue
            click = distance_center(truth, suv.spacing)
            net, shown = one_click(model, suv, click, True)
            alone, _ = one_click(model, suv, click, False)
            iso = isocontour_from_seed(suv, click).mask.array > 0
            box = one_box(model, suv, truth)
            row = (dice(net, truth), dice(alone, truth), dice(iso, truth), dice(box, truth))
            scores[name].append(row)
            print(f"| {seed} | {name} | {truth.sum() * suv.voxel_volume_ml:.0f} | {row[0]:.2f} "
                  f"({shown}) | {row[1]:.2f} | {row[2]:.2f} | {row[3]:.2f} |", flush=True)
    print("\n| organ | default + safety net | model alone | 41 % isocontour | 3D box |")
    print("|---|---|---|---|---|")
    every = np.asarray([r for rows in scores.values() for r in rows])
    for name, median in [(n, np.median(np.asarray(r), axis=0)) for n, r in scores.items()] + [
            ("all (median)", np.median(every, axis=0))]:
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in median) + " |")


if __name__ == "__main__":
    main()
