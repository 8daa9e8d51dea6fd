"""One click per real sarcoma crop: the default model (with and without the isocontour safety
net) against the 41 %-of-SUVmax isocontour grown from the same click.

The 20 IBSI crops of ``../shared/data/ibsi_sts_fdg_pet_crops_dev`` (real FDG PET, expert GTVs).
The click is the GTV's deepest voxel (maximum of its distance transform), as in issue 15.

    python benchmarks/sarcoma_crops.py [--model default] [--data PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from seganypet import Session, load_model, read_pet
from seganypet.evaluation.metrics import dice
from seganypet.io import read_mask
from seganypet.mask_centre import distance_center
from seganypet.quantify.delineation import isocontour_from_seed

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ibsi_sts_fdg_pet_crops_dev"


def one_click(model: torch.nn.Module, image, click, safety_net: bool) -> tuple[np.ndarray, str]:
    session = Session(model, safety_net=safety_net)
    session.set_image(image)
    mask = session.add_point(click).array > 0
    shown = session.candidates[session.candidate].source if session.candidates else "model"
    return mask, shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    rows = []
    print("| crop | GTV ml | default + safety net (shown) | model alone | 41 % isocontour |")
    print("|---|---|---|---|---|")
    for case in sorted(p for p in args.data.iterdir() if p.is_dir()):
        image = read_pet(case / "PET_image.nii.gz")
        truth = read_mask(case / "PET_mask.nii.gz", reference=image).array > 0
        click = distance_center(truth, image.spacing)
        net, shown = one_click(model, image, click, True)
        alone, _ = one_click(model, image, click, False)
        iso = isocontour_from_seed(image, click).mask.array > 0
        scores = (dice(net, truth), dice(alone, truth), dice(iso, truth))
        rows.append(scores)
        print(f"| {case.name} | {truth.sum() * image.voxel_volume_ml:.0f} | {scores[0]:.2f} ({shown}) "
              f"| {scores[1]:.2f} | {scores[2]:.2f} |", flush=True)
    table = np.asarray(rows)
    print(f"| median | | {np.median(table[:, 0]):.2f} | {np.median(table[:, 1]):.2f} "
          f"| {np.median(table[:, 2]):.2f} |")
    print(f"| mean | | {table[:, 0].mean():.2f} | {table[:, 1].mean():.2f} | {table[:, 2].mean():.2f} |")


if __name__ == "__main__":
    main()
