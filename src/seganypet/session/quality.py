"""The quality score of a mask: its boundary contrast, calibrated to an expected Dice.

The raw feature is the scale-free boundary contrast of :class:`BoundaryStep`
(``(inner - outer) / inner`` across the mask's surface). It is mapped to the expected Dice of
the mask by an isotonic (monotone, piecewise-linear) curve fitted on held-out phantom
candidates by ``benchmarks/calibration.py`` and stored as plain JSON beside the weights
(``weights/quality_calibration.json``: ``{"feature", "x", "y", ...}``; no pickle). The same
score applies to any mask -- a model candidate, an isocontour, or a mask refined by further
clicks -- because it reads only the image.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seganypet.session.safety_net import BoundaryStep

__all__ = ["CALIBRATION_FILE", "Calibration", "fit_isotonic", "load_calibration", "mask_quality"]

CALIBRATION_FILE = Path(__file__).resolve().parents[1] / "weights" / "quality_calibration.json"


@dataclass(frozen=True)
class Calibration:
    """A monotone map ``x -> y`` (knots, ``x`` ascending), linear between knots, flat outside."""

    x: np.ndarray
    y: np.ndarray

    def __call__(self, value: float) -> float:
        return float(np.interp(value, self.x, self.y))


def load_calibration(path: Path = CALIBRATION_FILE) -> Calibration:
    """Read a calibration JSON (keys ``x`` and ``y``, equal-length ascending ``x``)."""
    data = json.loads(Path(path).read_text())
    x, y = np.asarray(data["x"], np.float64), np.asarray(data["y"], np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2 or np.any(np.diff(x) < 0):
        raise ValueError(f"{path}: calibration needs equal-length x (ascending) and y lists")
    return Calibration(x, y)


def mask_quality(boundary: BoundaryStep, calibration: Calibration | None = None) -> float:
    """Expected Dice in [0, 1] of a mask with this boundary (the shipped calibration by default)."""
    calibration = calibration or load_calibration()
    return float(np.clip(calibration(boundary.contrast), 0.0, 1.0))


def fit_isotonic(x: np.ndarray, y: np.ndarray) -> Calibration:
    """Least-squares non-decreasing fit of ``y`` on ``x`` (pool-adjacent-violators).

    Args:
        x, y: ``(n,)`` raw scores and observed outcomes (e.g. Dice of each candidate).
    Returns:
        The knots: one per pooled block, at the block's mean ``x`` and mean ``y``.
    """
    order = np.argsort(np.asarray(x, np.float64), kind="stable")
    xs, ys = np.asarray(x, np.float64)[order], np.asarray(y, np.float64)[order]
    if xs.size < 2:
        raise ValueError("an isotonic fit needs at least two points")
    blocks: list[list[float]] = []  # [sum_x, sum_y, count]
    for xv, yv in zip(xs, ys):
        blocks.append([xv, yv, 1.0])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] > blocks[-1][1] / blocks[-1][2]:
            last = blocks.pop()
            blocks[-1] = [a + b for a, b in zip(blocks[-1], last)]
    knots_x = np.array([b[0] / b[2] for b in blocks])
    knots_y = np.array([b[1] / b[2] for b in blocks])
    if knots_x.size == 1:  # one block: a constant map
        knots_x = np.array([xs[0], xs[-1]])
        knots_y = np.repeat(knots_y, 2)
    return Calibration(knots_x, knots_y)
