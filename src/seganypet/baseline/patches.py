"""Multi-class training patches for the task-specific supervised baseline (no clicks).

The automatic 3D CNN of issue #7 learns every target class at once, as TotalSegmentator or an
autoPET nnU-Net would: one channel per organ of ``ClassMap.organs`` plus one ``lesion``
channel (every ``lesion_*`` label), background 0. Its patches come from the same phantom
generator and the same resampling (world-aligned cube of ``size``³ voxels of ``spacing_mm``,
``log1p`` SUV) as the promptable model's, so both see identical data; only the sampling
differs: a patch is centred on a voxel of a random present class with probability
``foreground_prob`` (nnU-Net's oversampling, so small classes such as lesions are seen), else
on a random body voxel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from seganypet.baseline.classes import ClassMap
from seganypet.preprocess import normalize_intensity, patch_grid_around, sample_volume
from seganypet.train.data import LabeledCase

__all__ = ["SegmentationBatch", "sample_segmentation_patch"]

@dataclass(frozen=True, eq=False)
class SegmentationBatch:
    """``images (B, 1, S, S, S)`` float32 and ``labels (B, 1, S, S, S)`` long class indices."""

    images: torch.Tensor
    labels: torch.Tensor


def _patch_centre(classes: np.ndarray, body: np.ndarray, rng: np.random.Generator,
                  foreground_prob: float) -> np.ndarray:
    """A voxel of a random present class (foreground oversampling) or of the body."""
    present = [c for c in np.unique(classes) if c > 0]
    region = body
    if present and rng.random() < foreground_prob:
        region = classes == int(rng.choice(present))
    flat = np.flatnonzero(region)
    if flat.size == 0:  # an empty scan: its centre
        return (np.asarray(classes.shape, np.float64) - 1) / 2
    return np.asarray(np.unravel_index(flat[int(rng.integers(flat.size))], classes.shape),
                      np.float64)


def sample_segmentation_patch(case: LabeledCase, class_map: ClassMap, size: int,
                              spacing_mm: float, intensity: str, rng: np.random.Generator,
                              foreground_prob: float = 0.67,
                              flip: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """One training patch: image ``(S, S, S)`` float32 and class map ``(S, S, S)`` int64."""
    table = class_map.lookup(case.label_names)
    classes = table[np.asarray(case.label.array).astype(np.int64, copy=False)]
    body = np.asarray(case.image.array) > 0.05  # SUV above air: where a patch may centre
    centre = _patch_centre(classes, body, rng, foreground_prob)
    grid = patch_grid_around(case.image, centre, size, spacing_mm)
    image = normalize_intensity(sample_volume(case.image, grid), intensity)
    target = table[sample_volume(case.label, grid, nearest=True).astype(np.int64)]
    if flip:
        for axis in range(3):
            if rng.random() < 0.5:
                image, target = np.flip(image, axis), np.flip(target, axis)
    return np.ascontiguousarray(image, np.float32), np.ascontiguousarray(target, np.int64)
