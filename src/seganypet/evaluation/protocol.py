"""The interactive evaluation protocol: a simulated user clicks, the segmenter answers.

The user sees only the scan and the ground truth (never the model's internals): the first
click falls inside the target, every further click corrects the largest error of the current
mask (:mod:`seganypet.clicks`), clicks accumulate in the segmenter, and every metric is
computed after every click on the full original image grid.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from seganypet.click import Click
from seganypet.clicks import ClickStrategy, first_click, next_click
from seganypet.errors import InputError
from seganypet.evaluation.metrics import SegmentationScores, score_masks
from seganypet.volume import Volume

__all__ = ["ClickStep", "Segmenter", "interact", "run_interactive"]


class Segmenter(Protocol):
    """What the protocol needs from an interactive segmenter (``seganypet.session.Session``
    satisfies it, so do the model-free baselines)."""

    def set_image(self, volume: Volume) -> None:
        """Start on a new scan (clears all prompts)."""

    def add_point(self, index: tuple[int, int, int], positive: bool = True) -> Any:
        """Add a click at voxel ``(i, j, k)`` of the image array."""

    @property
    def mask(self) -> Volume:
        """The current mask: uint8 0/1 ``(I, J, K)`` on the image grid."""

    def reset(self) -> None:
        """Clear the prompts and the mask of the current object."""


@dataclass(frozen=True)
class ClickStep:
    """The state after one simulated click.

    Attributes:
        number: 1 for the first click, 2 for the second...
        click: where the simulated user clicked and with which label.
        scores: every metric of the mask after this click.
        seconds: wall time of ``add_point`` plus reading ``mask`` (the user-felt latency).
    """

    number: int
    click: Click
    scores: SegmentationScores
    seconds: float


def _target_on_grid(image: Volume, target: Volume) -> np.ndarray:
    if not image.same_grid(target):
        raise InputError(
            f"target mask grid {target.shape} differs from the image grid {image.shape} "
            "(shape or affine); the label map must lie on the image grid"
        )
    mask = np.asarray(target.array) != 0
    if not mask.any():
        raise InputError("the target mask is empty; there is nothing to evaluate")
    return mask


def run_interactive(segmenter_factory: Callable[[], Segmenter], image: Volume, target: Volume,
                    n_clicks: int, strategy: ClickStrategy, rng: np.random.Generator, *,
                    target_name: str | None = None, **scoring: Any) -> list[ClickStep]:
    """Simulate ``n_clicks`` clicks of a user segmenting ``target`` on ``image``.

    Args:
        segmenter_factory: makes a fresh segmenter (e.g. ``lambda: Session(model)``); it is
            called once, and its ``set_image(image)`` starts the interaction.
        image: the scan ``(I, J, K)`` (SUV for PET).
        target: the ground-truth mask on the image grid (non-zero = target).
        n_clicks: number of clicks (>= 1); all are accumulated.
        strategy: ``"random"`` or ``"center"`` (see :mod:`seganypet.clicks`).
        rng: the only source of randomness.
        target_name: the target's label name, told to segmenters that have a
            ``set_target(name)`` method (automatic multi-class baselines: which class is asked).
        scoring: ``tolerance_mm`` (NSD tolerance; the voxel-size-aware NSD is always added)
            and ``with_hd95`` (also compute HD95, slower), passed to :func:`interact`.

    Returns:
        one :class:`ClickStep` per click, in order.
    """
    segmenter = segmenter_factory()
    segmenter.set_image(image)
    set_target = getattr(segmenter, "set_target", None)
    if target_name is not None and set_target is not None:
        set_target(target_name)
    return interact(segmenter, image, target, n_clicks, strategy, rng, **scoring)


def interact(
    segmenter: Segmenter,
    image: Volume,
    target: Volume,
    n_clicks: int,
    strategy: ClickStrategy,
    rng: np.random.Generator,
    *,
    tolerance_mm: float = 1.0,
    with_hd95: bool = False,
) -> list[ClickStep]:
    """The click loop of :func:`run_interactive` on a segmenter already showing ``image``.

    The clicks go to the segmenter's current object, so a multi-object session (the demo)
    can run one loop per object; the arguments are those of :func:`run_interactive`.
    """
    if n_clicks < 1:
        raise InputError(f"the number of clicks must be at least 1, got {n_clicks}")
    truth = _target_on_grid(image, target)
    spacing = image.spacing
    steps: list[ClickStep] = []
    click = first_click(truth, rng, strategy, spacing)
    for number in range(1, n_clicks + 1):
        start = time.perf_counter()
        segmenter.add_point(click.index, positive=click.positive)
        prediction = segmenter.mask
        seconds = time.perf_counter() - start
        scores = score_masks(prediction, target, tolerance_mm, with_hd95)
        steps.append(ClickStep(number, click, scores, seconds))
        if number < n_clicks:
            click = next_click(np.asarray(prediction.array) != 0, truth, rng, strategy, spacing,
                               previous=[s.click for s in steps])
    return steps
