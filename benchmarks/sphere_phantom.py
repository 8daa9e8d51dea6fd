"""One-click Dice on NEMA-IEC-like hot spheres: a phantom family the training generator never makes.

Each scene is a uniform warm background (SUV 1) with one hot sphere in the middle (the NEMA
IEC body phantom's diameters 10-37 mm, sphere-to-background 4:1 and 8:1), blurred with a
Gaussian PSF and given 10 % multiplicative noise, on a clinical 4 x 4 x 3 mm grid. One click
at the sphere centre; Dice of the session's mask against the true sphere, and the predicted /
true volume ratio (> 1: leak, < 1: under-segmentation).

    python benchmarks/sphere_phantom.py --model default
    python benchmarks/sphere_phantom.py --model default --model runs/stage5_export/default_stage5.safetensors
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from scipy import ndimage

from seganypet import Session, load_model
from seganypet.evaluation.metrics import dice
from seganypet.volume import Volume

DIAMETERS_MM = (10, 13, 17, 22, 28, 37)  # NEMA NU 2 / IEC 61675-1 body phantom spheres
CONTRASTS = (4.0, 8.0)
VOXEL_MM = (4.0, 4.0, 3.0)
SHAPE = (61, 61, 61)


def sphere_scene(diameter_mm: float, contrast: float, psf_mm: float, noise: float,
                 rng: np.random.Generator) -> tuple[Volume, np.ndarray, tuple[int, int, int]]:
    """(SUV volume, true sphere mask ``SHAPE``, centre voxel) of one hot-sphere scene."""
    affine = np.diag([*VOXEL_MM, 1.0])
    centre = tuple(s // 2 for s in SHAPE)
    affine[:3, 3] = [-v * c for v, c in zip(VOXEL_MM, centre)]
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in SHAPE], indexing="ij"), -1)
    sphere = np.linalg.norm((grid - np.array(centre)) * np.array(VOXEL_MM), axis=-1) < diameter_mm / 2
    image = 1.0 + (contrast - 1.0) * sphere.astype(np.float32)
    image = ndimage.gaussian_filter(image, sigma=[psf_mm / 2.355 / v for v in VOXEL_MM])
    image = image * (1.0 + noise * rng.standard_normal(image.shape))
    return Volume(np.clip(image, 0, None).astype(np.float32), affine), sphere, centre


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="model name or path (repeatable)")
    parser.add_argument("--psf-mm", type=float, default=6.0, help="Gaussian PSF FWHM")
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.model or ["default"]
    print(f"| contrast | diameter mm | {' | '.join(f'{n} DSC (vol ratio)' for n in names)} |")
    print("|---|---|" + "---|" * len(names))
    scores: dict[str, list[float]] = {n: [] for n in names}
    models = {n: load_model(n) for n in names}
    for contrast in CONTRASTS:
        for diameter in DIAMETERS_MM:
            rng = np.random.default_rng([args.seed, int(contrast), diameter])
            volume, sphere, click = sphere_scene(diameter, contrast, args.psf_mm, args.noise, rng)
            cells = []
            for name, model in models.items():
                session = Session(model)
                session.set_image(volume)
                mask = session.add_point(click).array > 0
                score = dice(mask, sphere)
                scores[name].append(score)
                cells.append(f"{score:.2f} (x{mask.sum() / sphere.sum():.2f})")
            print(f"| {contrast:.0f}:1 | {diameter} | {' | '.join(cells)} |")
    print("| median | |", " | ".join(f"{np.median(v):.2f}" for v in scores.values()), "|")


if __name__ == "__main__":
    main()
