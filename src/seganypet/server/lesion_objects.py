"""Lesion mode's answer as a session: one object per lesion, corrected by the editor's rules.

:class:`LesionObjects` gives a :class:`~seganypet.lesions.LesionEditor` the interface of a
:class:`~seganypet.session.Session` that :class:`~seganypet.server.annotation.Annotation` uses
(objects, focus, clicks, undo, masks, the label map), so the server's patch answers,
statistics, autosave and downloads work unchanged while every correction is the editor's
(one implementation of each rule): a negative click in a lesion removes it (or trims a faint
spill), a positive click outside every lesion adds one or grows the lesions it touches, and
"segment all similar" adds the hot spots of like uptake.
"""

from __future__ import annotations

import numpy as np

from seganypet.lesions.editing import LesionEditor, lesion_name
from seganypet.server.errors import ApiError
from seganypet.volume import Volume

__all__ = ["LesionObjects"]

_MANUAL_ONLY = ("lesion mode corrects with clicks: a negative click in a lesion removes it, a "
                "positive click outside adds or grows one")


class LesionObjects:
    """A :class:`LesionEditor` seen as a session: object ``n`` is lesion ``n`` (``lesion_n``).

    Objects are never renumbered: a removed lesion stays as an empty object, and the editor
    labels a new lesion after the highest one present (reusing an empty object's label when
    the lesions above it were removed). The object an edit changed gets the focus.

    Args:
        editor: the lesion label map being corrected (it owns the label history).
    """

    def __init__(self, editor: LesionEditor) -> None:
        self._editor = editor
        self._labels = editor.labels.array
        self._count = max(int(self._labels.max()), 1)  # an answer needs one object, if empty
        self._active = 1
        self._steps: list[tuple[int, int]] = []  # (object count, focus) before each edit

    # ------------------------------------------------------------------ Session interface
    @property
    def label_names(self) -> dict[int, str]:
        return {label: lesion_name(label) for label in range(1, self._count + 1)}

    @property
    def active_label(self) -> int:
        return self._active

    def select_object(self, label: int) -> None:
        """Give lesion ``label`` the focus (the caller checked 1..count)."""
        self._active = int(label)

    @property
    def mask(self) -> Volume:
        """The focused lesion's mask, uint8 on the scan grid."""
        return self._editor.image.with_array((self._labels == self._active).astype(np.uint8),
                                             unit="mask")

    @property
    def label_map(self) -> Volume:
        """The lesion label map (uint8 below 256 objects, like a Session's)."""
        dtype = np.uint8 if self._count < 256 else np.uint16
        return self._editor.image.with_array(self._labels.astype(dtype), unit="label")

    def add_point(self, index: tuple[float, float, float], positive: bool = True) -> Volume:
        """One corrective click (:meth:`LesionEditor.add_point`); returns the focused mask."""
        before = self._labels
        self._labels = self._editor.add_point(index, positive=positive).array
        self._record(before)
        return self.mask

    def undo(self) -> None:
        """Undo the last click or "similar" (InputError when there is nothing to undo)."""
        self._editor.undo()
        before = self._labels
        self._labels = self._editor.labels.array
        count, active = self._steps.pop() if self._steps else (self._count, self._active)
        self._count = max(count, int(self._labels.max()), 1)
        self._focus(before)  # the undone edit's lesion, or the earlier focus if it is gone
        if self._active > self._count:
            self._active = active

    def segment_similar(self, example: int, factor: float = 2.0) -> list[int]:
        """Add the hot spots of uptake like lesion ``example``'s; returns the new labels."""
        if isinstance(example, bool) or not 1 <= example <= self._count:
            raise ApiError(404, f"no lesion {example}: this session has lesions 1..{self._count}")
        if not np.any(self._labels == example):
            raise ApiError(409, f"lesion {example} is empty (removed): pick a lesion with voxels")
        before = self._labels
        added = self._editor.segment_similar(example, factor=factor)
        self._labels = self._editor.labels.array
        self._record(before, focus=example)
        return added

    # What manual sessions offer and lesion mode does not: a clear 409 each.
    def new_object(self, name: str | None = None) -> int:
        raise ApiError(409, f"{_MANUAL_ONLY}; new objects need a manual session (open the "
                       "scan again)")

    def reset(self) -> None:
        raise ApiError(409, f"{_MANUAL_ONLY}; undo restores what a click changed")

    def add_shape(self, shape: object) -> Volume:
        raise ApiError(409, f"{_MANUAL_ONLY}; boxes, scribbles and lassos need a manual session")

    def suggest(self) -> None:
        raise ApiError(409, f"{_MANUAL_ONLY}; suggestions need a manual session")

    # ------------------------------------------------------------------ internals
    def _record(self, before: np.ndarray, focus: int | None = None) -> None:
        """After an edit from ``before``: remember count and focus for undo, count new
        lesions, and give the focus to ``focus`` (default: the lesion the edit changed)."""
        self._steps.append((self._count, self._active))
        self._count = max(self._count, int(self._labels.max()))
        if focus is None:
            self._focus(before)
        else:
            self._active = focus

    def _focus(self, before: np.ndarray) -> None:
        """Focus the lowest label whose voxels differ between ``before`` and now (a merge's
        target, a removed or an added lesion); unchanged when nothing changed."""
        changed = before != self._labels
        touched = np.union1d(before[changed], self._labels[changed])
        touched = touched[touched > 0]
        if touched.size:
            self._active = int(touched.min())
