"""Interaction protocols beyond clicks: scribbles, boxes and the model's own suggestions.

Each protocol is a simulated user who sees the scan and the ground truth and gives
``n`` interactions; every metric is computed after every interaction on the full grid, as in
:mod:`seganypet.evaluation.protocol` (the ``clicks`` protocol):

* ``scribbles``: the autoPET V loop (:func:`seganypet.strokes.next_scribble`): a centre-line
  stroke on the axial slice holding the largest error component, positive on missed target,
  negative on a leak; the first stroke goes on the target's largest axial section. Once the
  mask is perfect, nothing more is drawn (the fixed challenge loop). AUC-Dice and AUC-DMM
  (trapezoid over the interactions, divided by their number minus one, so 1 is perfect).
* ``boxes``: two users. ``box3d`` draws the target's tight 3D box, ``box2d`` the bounding
  rectangle on its central axial slice; both then correct with clicks (centre of the largest
  error, :func:`seganypet.clicks.next_click`).
* ``suggested``: the first click as in ``clicks``, then the user clicks where the model
  suggests (:meth:`seganypet.session.Session.suggest`) and answers truthfully: positive iff
  that voxel belongs to the target, whatever the model guessed.
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
from seganypet.evaluation.detection import detection_f1
from seganypet.evaluation.metrics import SegmentationScores, score_masks
from seganypet.evaluation.protocol import ClickStep, _target_on_grid
from seganypet.shape import Shape
from seganypet.strokes import box_2d, box_3d, next_scribble
from seganypet.volume import Volume

__all__ = ["PROTOCOLS", "DrawingSegmenter", "InteractionStep", "auc_table", "protocol_rows",
           "run_protocol", "with_auc"]

PROTOCOLS: tuple[str, ...] = ("clicks", "scribbles", "boxes", "suggested")
# The user variants each protocol runs (one fresh segmenter each).
VARIANTS: dict[str, tuple[str, ...]] = {
    "scribbles": ("scribbles",), "boxes": ("box3d", "box2d"), "suggested": ("suggested",),
}


class DrawingSegmenter(Protocol):
    """What these protocols need (``seganypet.session.Session`` has it; threshold baselines
    do not: they take clicks only)."""

    def set_image(self, volume: Volume) -> None: ...
    def add_point(self, index: tuple[int, int, int], positive: bool = True) -> Any: ...
    def add_shape(self, shape: Shape) -> Any: ...
    def suggest(self) -> Any: ...
    @property
    def mask(self) -> Volume: ...


@dataclass(frozen=True)
class InteractionStep(ClickStep):
    """A :class:`ClickStep` whose interaction may be a shape.

    Attributes:
        kind: ``"click"``, ``"scribble"``, ``"box"`` or ``"none"`` (nothing left to correct).
        dmm: detection F1 of the mask after this step (:mod:`seganypet.evaluation.detection`).
        ``click`` holds the interaction's representative voxel: the click, the box centre, or
        the first voxel of the stroke, with its sign.
    """

    kind: str = "click"
    dmm: float = float("nan")


def _representative(shape: Shape) -> Click:
    points = shape.array
    where = points.mean(axis=0) if shape.kind == "box" else points[len(points) // 2]
    return Click(tuple(round(float(v)) for v in where), shape.positive)


class _Scorer:
    """Times one interaction and scores the segmenter's mask after it."""

    def __init__(self, segmenter: DrawingSegmenter, target: Volume, truth: np.ndarray,
                 tolerance_mm: float, with_hd95: bool) -> None:
        self.segmenter, self.target, self.truth = segmenter, target, truth
        self.tolerance_mm, self.with_hd95 = tolerance_mm, with_hd95
        self.steps: list[InteractionStep] = []
        self.prediction = np.zeros(truth.shape, bool)

    def step(self, kind: str, click: Click, act: Callable[[], Any] | None) -> None:
        start = time.perf_counter()
        if act is not None:
            act()
        mask = self.segmenter.mask
        seconds = time.perf_counter() - start
        self.prediction = np.asarray(mask.array) != 0
        scores: SegmentationScores = score_masks(mask, self.target, self.tolerance_mm,
                                                 self.with_hd95)
        self.steps.append(InteractionStep(len(self.steps) + 1, click, scores, seconds, kind,
                                          detection_f1(self.prediction, self.truth)))


def _scribbles(scorer: _Scorer, n: int, **_: Any) -> None:
    for _number in range(n):
        shape = next_scribble(scorer.prediction, scorer.truth)
        if shape is None:  # perfect: the challenge propagates the mask to the remaining steps
            scorer.step("none", scorer.steps[-1].click, None)
            continue
        scorer.step("scribble", _representative(shape),
                    lambda s=shape: scorer.segmenter.add_shape(s))


def _corrective_clicks(scorer: _Scorer, n: int, strategy: ClickStrategy,
                       rng: np.random.Generator, spacing: tuple[float, float, float]) -> None:
    while len(scorer.steps) < n:
        click = next_click(scorer.prediction, scorer.truth, rng, strategy, spacing,
                           previous=[s.click for s in scorer.steps if s.kind == "click"])
        scorer.step("click", click,
                    lambda c=click: scorer.segmenter.add_point(c.index, positive=c.positive))


def _box(scorer: _Scorer, n: int, strategy: ClickStrategy, rng: np.random.Generator,
         spacing: tuple[float, float, float], flat: bool) -> None:
    shape = box_2d(scorer.truth, spacing) if flat else box_3d(scorer.truth)
    scorer.step("box", _representative(shape), lambda: scorer.segmenter.add_shape(shape))
    _corrective_clicks(scorer, n, strategy, rng, spacing)


def _suggested(scorer: _Scorer, n: int, strategy: ClickStrategy, rng: np.random.Generator,
               spacing: tuple[float, float, float]) -> None:
    click = first_click(scorer.truth, rng, strategy, spacing)
    scorer.step("click", click, lambda: scorer.segmenter.add_point(click.index, True))
    while len(scorer.steps) < n:
        index = scorer.segmenter.suggest().index
        answer = Click(tuple(int(v) for v in index), bool(scorer.truth[tuple(index)]))
        scorer.step("click", answer,
                    lambda c=answer: scorer.segmenter.add_point(c.index, positive=c.positive))


def run_protocol(variant: str, segmenter_factory: Callable[[], DrawingSegmenter], image: Volume,
                 target: Volume, n: int, strategy: ClickStrategy, rng: np.random.Generator, *,
                 tolerance_mm: float = 1.0, with_hd95: bool = False) -> list[InteractionStep]:
    """One simulated user (``variant``: ``scribbles``, ``box3d``, ``box2d`` or
    ``suggested``) giving ``n >= 1`` interactions to a fresh segmenter on ``image``."""
    if n < 1:
        raise InputError(f"the number of interactions must be at least 1, got {n}")
    runs = {"scribbles": _scribbles, "box3d": _box, "box2d": _box, "suggested": _suggested}
    if variant not in runs:
        raise InputError(f"unknown protocol variant {variant!r}; use one of {sorted(runs)}")
    segmenter = segmenter_factory()
    if not all(hasattr(segmenter, name) for name in ("add_shape", "suggest")):
        raise InputError(f"protocol {variant!r} needs a promptable model (boxes, scribbles and "
                         "suggestions); the threshold baselines take clicks only")
    segmenter.set_image(image)
    truth = _target_on_grid(image, target)
    scorer = _Scorer(segmenter, target, truth, tolerance_mm, with_hd95)
    options: dict[str, Any] = {"strategy": strategy, "rng": rng, "spacing": image.spacing}
    if variant.startswith("box"):
        options["flat"] = variant == "box2d"
    runs[variant](scorer, n, **options)
    return scorer.steps


def with_auc(values: list[float]) -> list[float]:
    """Running normalised AUC: entry ``t`` is the trapezoid area of ``values[:t + 1]`` over
    the interactions divided by ``t`` (the value itself for the first). NaNs count as 0."""
    clean = np.nan_to_num(np.asarray(values, np.float64), nan=0.0)
    out = [float(clean[0])]
    for t in range(1, len(clean)):
        out.append(float(np.trapezoid(clean[:t + 1]) / t))
    return out


def protocol_rows(protocol: str, segmenter_factory: Callable[[], DrawingSegmenter],
                  image: Volume, target: Volume, n: int, strategy: ClickStrategy,
                  rng: np.random.Generator, **options: Any
                  ) -> list[tuple[str, InteractionStep, dict[str, Any]]]:
    """Every variant of ``protocol`` on one target: ``(variant, step, extra columns)`` per
    interaction, the extra columns being ``protocol``, ``interaction``, ``dmm`` and the running
    ``auc_dice`` / ``auc_dmm`` (:func:`with_auc`). Variants share ``rng``'s seed, not its state."""
    if protocol not in VARIANTS:
        raise InputError(f"unknown protocol {protocol!r}; use one of {PROTOCOLS}")
    seed = int(rng.integers(2**63))
    out = []
    for variant in VARIANTS[protocol]:
        steps = run_protocol(variant, segmenter_factory, image, target, n, strategy,
                             np.random.default_rng(seed), **options)
        auc_dice = with_auc([s.scores.dice for s in steps])
        auc_dmm = with_auc([s.dmm for s in steps])
        for step, a_dice, a_dmm in zip(steps, auc_dice, auc_dmm):
            out.append((variant, step, {"protocol": variant, "interaction": step.kind,
                                        "dmm": step.dmm, "auc_dice": a_dice, "auc_dmm": a_dmm}))
    return out


def auc_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: per method, the median (over targets) Dice after the last interaction and
    the median normalised AUC-Dice and AUC-DMM over all interactions."""
    last: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["method"], row["case_id"], str(row["target_id"]))
        if "auc_dice" in row and (key not in last or row["click"] > last[key]["click"]):
            last[key] = row
    methods = sorted({m for m, _, _ in last})
    lines = ["| method | targets | interactions | Dice (last) | AUC-Dice | AUC-DMM |",
             "|---|---|---|---|---|---|"]
    for method in methods:
        final = [r for (m, _, _), r in last.items() if m == method]
        median = {k: float(np.nanmedian([r[k] for r in final])) for k in ("dice", "auc_dice", "auc_dmm")}
        lines.append(f"| {method} | {len(final)} | {max(r['click'] for r in final)} "
                     f"| {median['dice']:.3f} | {median['auc_dice']:.3f} | {median['auc_dmm']:.3f} |")
    return "\n".join(lines) + "\n"
