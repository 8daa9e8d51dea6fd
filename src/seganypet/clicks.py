"""Simulated user: where would an annotator click next? Shared by training and evaluation.

Every function is pure: masks in, a click out, randomness only from the generator passed in.
Clicks are voxel indices ``(i, j, k)`` on the arrays given (the ``Volume.array`` axes).

Rules (SegAnyPET Fig. 6b, with the autoPET-IV "centre of the error" option):

* first click: inside the target, at a uniform random voxel (``"random"``) or at the voxel
  farthest from the target's boundary in millimetres (``"center"``, maximum of the anisotropic
  Euclidean distance transform);
* next click: FN = target & ~pred, FP = pred & ~target. The error type whose **largest
  connected component has more voxels** (18-connectivity, as the autoPET metrics) wins; ties go
  to FN. The click is placed in that component (random voxel or distance-transform centre);
  it is positive iff it lies in FN. Comparing largest components rather than total error
  volumes keeps the simulated user from chasing a cloud of one-voxel speckles while a whole
  lobe is missing. (On one grid, voxel count and volume give the same order.)
* no error at all: a deterministic positive click at the target's distance-transform centre;
* a voxel clicked before is not clicked again while the region has other voxels (``previous``).

Training draws its batched clicks with the same FN/FP rule in
:func:`seganypet.train.interaction.sample_clicks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import cc3d
import numpy as np

from seganypet.click import Click
from seganypet.errors import InputError
from seganypet.mask_centre import distance_center

__all__ = [
    "STRATEGIES",
    "ClickStrategy",
    "error_regions",
    "first_click",
    "largest_component",
    "next_click",
]

ClickStrategy = Literal["random", "center"]
STRATEGIES: tuple[str, ...] = ("random", "center")
# 18-connectivity: the autoPET convention for lesion components, used for error components too.
_CONNECTIVITY = 18


def _check_strategy(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise InputError(f"unknown click strategy {strategy!r}; use one of {STRATEGIES}")


def _as_bool(mask: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(mask)
    if array.ndim != 3:
        raise InputError(f"{what} must be a 3D (I, J, K) array, got shape {array.shape}")
    return array.astype(bool, copy=False)


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 18-connected component of a boolean ``(I, J, K)`` mask (ties: lowest label).

    Returns an all-False array when ``mask`` is empty.
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return np.zeros_like(mask)
    labels = cc3d.connected_components(mask, connectivity=_CONNECTIVITY)
    counts = np.bincount(labels.ravel())
    counts[0] = 0  # background
    return labels == int(np.argmax(counts))


def _random_voxel(mask: np.ndarray, rng: np.random.Generator) -> tuple[int, int, int]:
    """A uniform random voxel of a non-empty boolean mask."""
    flat = np.flatnonzero(mask)
    chosen = flat[int(rng.integers(flat.size))]
    return tuple(int(v) for v in np.unravel_index(chosen, mask.shape))  # type: ignore[return-value]


def _place(
    region: np.ndarray,
    rng: np.random.Generator,
    strategy: str,
    spacing: tuple[float, float, float],
    previous: Sequence[Click] = (),
) -> tuple[int, int, int]:
    """A voxel of ``region`` that no earlier click used (unless nothing else is left).

    Earlier clicks are removed from the region first, so for ``"center"`` they act as
    boundary: when a segmenter ignores a click and the error stays the same, the simulated
    user does not repeat it but clicks where the error is deepest away from it (the RITM trick).
    """
    free = region
    if previous:
        free = region.copy()
        for click in previous:
            free[click.index] = False
        if not free.any():
            free = region
    if strategy == "center":
        return distance_center(free, spacing)
    return _random_voxel(free, rng)


def first_click(
    target: np.ndarray,
    rng: np.random.Generator,
    strategy: ClickStrategy = "random",
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> Click:
    """The first, positive click inside ``target`` (boolean ``(I, J, K)``).

    Args:
        target: ground-truth mask.
        rng: the only source of randomness (unused by ``"center"``).
        strategy: ``"random"`` (uniform voxel of the target) or ``"center"`` (distance-transform
            maximum, honouring ``spacing`` in mm).
        spacing: voxel size in mm along i, j, k.

    Raises:
        InputError: if the target is empty or the strategy unknown.
    """
    _check_strategy(strategy)
    target = _as_bool(target, "target")
    if not target.any():
        raise InputError("the target mask is empty: there is nothing to click on")
    return Click(_place(target, rng, strategy, spacing), True)


def error_regions(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(false_negative, false_positive)`` boolean masks of a prediction against the target."""
    pred = _as_bool(pred, "prediction")
    target = _as_bool(target, "target")
    if pred.shape != target.shape:
        raise InputError(f"prediction shape {pred.shape} differs from target shape {target.shape}")
    return target & ~pred, pred & ~target


def next_click(
    pred: np.ndarray,
    target: np.ndarray,
    rng: np.random.Generator,
    strategy: ClickStrategy = "random",
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
    previous: Sequence[Click] = (),
) -> Click:
    """The correcting click for the current prediction (both boolean ``(I, J, K)``).

    The click lies in the largest connected component of FN or FP, whichever component is
    larger (ties: FN); it is positive iff it lies in FN. Without any error it is a positive
    click at the target's distance-transform centre (deterministic). Voxels of ``previous``
    clicks are avoided while the region has others.

    Raises:
        InputError: if target and prediction are both empty (no sensible click exists).
    """
    _check_strategy(strategy)
    target = _as_bool(target, "target")
    false_negative, false_positive = error_regions(pred, target)
    fn_component = largest_component(false_negative)
    fp_component = largest_component(false_positive)
    fn_size, fp_size = int(fn_component.sum()), int(fp_component.sum())
    if fn_size == 0 and fp_size == 0:
        if not target.any():
            raise InputError("target and prediction are both empty: there is nothing to click on")
        return Click(_place(target, rng, "center", spacing, previous), True)
    positive = fn_size >= fp_size
    region = fn_component if positive else fp_component
    return Click(_place(region, rng, strategy, spacing, previous), positive)
