"""The answer of ``GET /sessions/{id}/suggest``: the model's suggested next click and its
uncertainty map, sent in the box form of the label patches (:mod:`seganypet.client.patches`).

The map is the cross-prompt entropy in bits (0 sure, 1 a coin flip,
:mod:`seganypet.session.uncertainty`), quantised to uint8 (``bits = value * scale``,
``scale = 1/255``) inside the bounding box of its non-zero voxels: the object's patches,
usually a small part of a whole-body scan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from seganypet.client.patches import bbox, box_patch

if TYPE_CHECKING:
    from seganypet.session.uncertainty import Suggestion

__all__ = ["UNCERTAINTY_LEVELS", "suggestion_answer", "uncertainty_patch"]

UNCERTAINTY_LEVELS = 255


def uncertainty_patch(bits: np.ndarray) -> dict | None:
    """``bits`` (float ``(I, J, K)``, 0..1) as ``{"box", "shape", "dtype", "values", "scale",
    "unit"}``, or None when it is zero everywhere."""
    levels = np.rint(np.clip(bits, 0.0, 1.0) * UNCERTAINTY_LEVELS).astype(np.uint8)
    box = bbox(levels > 0)
    if box is None:
        return None
    return {**box_patch(levels, box, key="values"), "scale": 1.0 / UNCERTAINTY_LEVELS,
            "unit": "bits"}


def suggestion_answer(hint: Suggestion, label: int, name: str) -> dict:
    """The JSON answer for a :class:`~seganypet.session.uncertainty.Suggestion` of object
    ``label``: ``{"object", "name", "index", "positive", "error_probability", "uncertainty"}``."""
    return {"object": label, "name": name, "index": [int(v) for v in hint.index],
            "positive": bool(hint.positive),
            "error_probability": round(float(hint.error_probability), 4),
            "uncertainty": uncertainty_patch(hint.uncertainty.array)}
