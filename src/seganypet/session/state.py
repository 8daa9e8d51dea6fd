"""Typed state of an interactive session: tiles and objects (no logic beyond copying).

Undo keeps one snapshot per interaction, so a snapshot must cost what the interaction changed,
not a copy of everything. The rule that makes this safe: every array held by an
:class:`ObjectState` or :class:`TileState` is made read-only when assigned and is only ever
*replaced* (a new array assigned), never written in place. A snapshot is then a structural
copy: lists, the tile dict and the tiles themselves are copied, the arrays are shared. The
object's full-resolution mask, which every click replaces, is kept in the snapshot as its
bounding box, bit-packed (:class:`PackedMask`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from seganypet.click import Click
from seganypet.preprocess import PatchGrid
from seganypet.session.safety_net import BoxMask
from seganypet.shape import Shape

if TYPE_CHECKING:  # candidates imports the decoder, which imports this module
    from seganypet.session.candidates import CandidateSet

__all__ = ["ObjectSnapshot", "ObjectState", "PackedMask", "TileKey", "TileState"]

# A tile's key: its offset from the object's first patch, in half-patch steps per axis.
TileKey = tuple[int, int, int]


def _freeze(value: Any, depth: int = 2) -> None:
    """Make the arrays in ``value`` read-only: itself, or inside its lists/dataclass fields."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif depth and isinstance(value, (list, tuple)):
        for item in value:
            _freeze(item, depth - 1)
    elif depth and is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            _freeze(getattr(value, f.name), depth - 1)


class _ReadOnlyArrays:
    """Mixin: every attribute assigned (``__init__`` included) has its arrays frozen."""

    def __setattr__(self, name: str, value: Any) -> None:
        _freeze(value)
        super().__setattr__(name, value)


@dataclass
class TileState(_ReadOnlyArrays):
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
class ObjectState(_ReadOnlyArrays):
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

    def snapshot(self) -> ObjectSnapshot:
        """A structural copy for the undo stack (containers and tiles copied, arrays shared,
        the mask packed); :meth:`ObjectSnapshot.restore` gives back an equal state."""
        packed = None if self.mask is None else PackedMask.of(self.mask)
        return ObjectSnapshot(self.copy_with_mask(None), packed)

    def copy_with_mask(self, mask: np.ndarray | None) -> ObjectState:
        """A structural copy (lists, tile dict and tiles new; arrays shared) with ``mask``."""
        return replace(self, clicks=list(self.clicks), shapes=list(self.shapes),
                       tiles={k: replace(t) for k, t in self.tiles.items()}, mask=mask)


@dataclass(frozen=True)
class PackedMask:
    """A volume mask stored as its bounding box; bit-packed when its values are 0/1.

    ``shape``/``dtype``: of the full mask ``(I, J, K)``; ``lo``/``box_shape``: the box of its
    non-zero voxels; ``data``: ``np.packbits`` of the box (``packed``) or its values as they are.
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    lo: tuple[int, ...]
    box_shape: tuple[int, ...]
    data: np.ndarray
    packed: bool

    @staticmethod
    def of(mask: np.ndarray) -> PackedMask:
        box = BoxMask.cropped(mask != 0)
        crop = mask[_box_slices(box.lo, box.array.shape)]
        packed = crop.dtype.kind in "bu" and int(crop.max(initial=0)) <= 1
        data = np.packbits(crop, axis=None) if packed else crop.copy()
        return PackedMask(mask.shape, mask.dtype, tuple(int(v) for v in box.lo),
                          box.array.shape, data, packed)

    def unpack(self) -> np.ndarray:
        """The full mask, bit-for-bit as it was packed."""
        out = np.zeros(self.shape, self.dtype)
        values = self.data
        if self.packed:
            count = math.prod(self.box_shape)
            values = np.unpackbits(self.data, count=count).reshape(self.box_shape)
        out[_box_slices(self.lo, self.box_shape)] = values
        return out


def _box_slices(lo: Any, shape: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(slice(int(a), int(a) + n) for a, n in zip(lo, shape))


@dataclass(frozen=True)
class ObjectSnapshot:
    """One undo step of an object: its state without the mask, and the mask packed."""

    state: ObjectState
    mask: PackedMask | None

    def restore(self) -> ObjectState:
        """The object as it was (a new state each call, bit-for-bit equal)."""
        return self.state.copy_with_mask(None if self.mask is None else self.mask.unpack())
