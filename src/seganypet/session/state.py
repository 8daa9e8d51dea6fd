"""Typed state of an interactive session: tiles and objects (no logic beyond copying)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from seganypet.click import Click
from seganypet.preprocess import PatchGrid
from seganypet.shape import Shape

if TYPE_CHECKING:  # candidates imports the decoder, which imports this module
    from seganypet.session.candidates import CandidateSet

__all__ = ["ObjectState", "TileKey", "TileState"]

# A tile's key: its offset from the object's first patch, in half-patch steps per axis.
TileKey = tuple[int, int, int]


@dataclass
class TileState:
    """One model patch of an object.

    ``logits``: the last low-res logits ``(L, L, L)`` float32 of this patch (the mask prompt for
    its next decode), or None before its first decode. ``candidates``: multimask logits
    ``(M, L, L, L)`` and ``candidate_iou`` ``(M,)`` from the first click, when the model gave them;
    ``candidate_set``: those plus the image's isocontour candidates, described
    (:mod:`seganypet.session.candidates`), on the first patch only.
    """

    grid: PatchGrid
    logits: np.ndarray | None = None
    candidates: np.ndarray | None = None
    candidate_iou: np.ndarray | None = None
    candidate_set: CandidateSet | None = None


@dataclass
class ObjectState:
    """Everything needed to rebuild one object's mask; snapshots of it make ``undo`` exact."""

    name: str
    clicks: list[Click] = field(default_factory=list)
    tiles: dict[TileKey, TileState] = field(default_factory=dict)
    chosen_candidate: int = 0
    prompt_mask: np.ndarray | None = None  # (I, J, K) bool, from add_mask
    prompt_anchor: tuple[int, int, int] | None = None  # deepest voxel of prompt_mask
    mask: np.ndarray | None = None  # (I, J, K) uint8 result on the volume grid
    # boxes, scribbles and lassos in voxel indices, in order (seganypet.session.shapes)
    shapes: list[Shape] = field(default_factory=list)

    def snapshot(self) -> ObjectState:
        """A deep copy (arrays included) for the undo stack."""
        return copy.deepcopy(self)
