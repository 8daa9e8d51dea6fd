"""Volume ratio per sphere on the simulated NEMA IEC body phantom (``seganypet.data.nema``):
one click at each sphere's centre, the default model with and without the safety net, and the
41 %-of-SUVmax isocontour from the same click. 4:1 and 8:1 sphere-to-background.

    python benchmarks/nema_spheres.py [--model default] [--psf-mm 6] [--noise 0.1]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from seganypet import Session, load_model
from seganypet.data.nema import nema_phantom
from seganypet.evaluation.metrics import dice
from seganypet.quantify.delineation import isocontour_from_seed


def _cell(mask: np.ndarray, truth: np.ndarray) -> str:
    return f"x{mask.sum() / truth.sum():.2f} ({dice(mask, truth):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--psf-mm", type=float, default=6.0)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    print("volume ratio (Dice) per sphere")
    print("| contrast | sphere mm | default + safety net | model alone | 41 % isocontour |")
    print("|---|---|---|---|---|")
    for contrast in (4.0, 8.0):
        phantom = nema_phantom(contrast, args.psf_mm, args.noise, np.random.default_rng(args.seed))
        for diameter, centre in phantom.centres.items():
            truth = phantom.spheres[diameter]
            cells = []
            for safety_net in (True, False):
                session = Session(model, safety_net=safety_net)
                session.set_image(phantom.image)
                cells.append(_cell(session.add_point(centre).array > 0, truth))
            cells.append(_cell(isocontour_from_seed(phantom.image, centre).mask.array > 0, truth))
            print(f"| {contrast:.0f}:1 | {diameter:.0f} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
