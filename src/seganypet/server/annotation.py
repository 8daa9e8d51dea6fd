"""One scan being annotated on the server: a :class:`seganypet.Session` plus what the API adds
(a cached label map, per-object summaries, autosave and the timing log)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from seganypet.client.patches import changed_patch
from seganypet.errors import InputError
from seganypet.server.errors import ApiError
from seganypet.server.objects import object_summary
from seganypet.server.suggestion import suggestion_answer
from seganypet.server.timing import AnnotationLog
from seganypet.shape import Shape
from seganypet.volume import Volume

__all__ = ["Annotation"]

# One cached patch embedding of the shipped pet-small model (128³ patch), measured: 13 MB.
_EMBEDDING_BYTES = 13_000_000


class Annotation:
    """A session of one scan.

    Args:
        session_id: the id the API uses.
        source: the scan's path relative to ``--root``, or ``"upload:<file name>"``.
        image: the SUV volume ``(I, J, K)``.
        session: a fresh :class:`seganypet.Session` (``set_image`` is called here).
        folder: where the autosave (``labels.nii.gz`` + names JSON) and the log live.
        model_lock: held around every model call: inference is serialised across sessions.
    """

    def __init__(self, session_id: str, source: str, image: Volume, session: Any,
                 folder: Path, model_lock: threading.Lock) -> None:
        self.id = session_id
        self.source = source
        self.image = image
        self.folder = folder
        self.lock = threading.Lock()  # one request at a time on this session
        self.created = self.last_used = time.time()
        self.clicks = 0
        self._session = session
        self._model_lock = model_lock
        self._save_lock = threading.Lock()
        self._version = self._saved_version = 0
        session.set_image(image)
        self._labels = np.zeros(image.shape, np.uint8)
        self._summaries: dict[int, dict] = {}
        self._names: dict[int, str] = dict(session.label_names)
        self.log = AnnotationLog(folder / "annotation.jsonl")

    # ------------------------------------------------------------------ queries
    @property
    def current(self) -> int:
        """Label of the object the next click edits (the newest, unless a click named another)."""
        return self._session.active_label

    def objects(self) -> list[dict]:
        """Summaries of every object, in label order (empty objects included)."""
        names = self._session.label_names
        for label, name in names.items():
            cached = self._summaries.get(label)
            if cached is None or cached["name"] != name:
                self._summaries[label] = object_summary(self.image, self._labels, label, name)
        return [self._summaries[label] for label in names]

    def info(self) -> dict:
        return {"id": self.id, "path": self.source, "shape": list(self.image.shape),
                "spacing": list(self.image.spacing), "affine": self.image.affine.tolist(),
                "unit": self.image.unit, "current": self.current, "clicks": self.clicks,
                "dicom": "dicom" in self.image.meta, "created": self.created,
                "last_used": self.last_used}

    def state(self, patch: dict | None) -> dict:
        """The answer of a mutating route: the current object's summary plus the patch."""
        summary = dict(self.objects()[self.current - 1])
        return {"object": summary.pop("label"), **summary, "patch": patch}

    @property
    def memory_bytes(self) -> int:
        """Rough memory of this session: the image, a uint8 mask per object and per undo step,
        and the cached patch embeddings (up to two new patches per click, 32 at most)."""
        voxels = int(np.prod(self.image.shape))
        steps = self.clicks + len(self._session.label_names)
        embeddings = _EMBEDDING_BYTES * min(2 * self.clicks, 32)
        return int(self.image.array.nbytes + voxels * (1 + steps) + embeddings)

    # ------------------------------------------------------------------ mutations
    def click(self, index: list[float], positive: bool, label: int | None) -> dict:
        """A click at voxel ``index`` on object ``label`` (None: the current one)."""
        point = tuple(float(v) for v in index)
        return self._prompt("click", label,
                            lambda session: session.add_point(point, positive=bool(positive)),
                            index=list(index), positive=bool(positive))

    def add_shape(self, shape: Shape, label: int | None) -> dict:
        """A drawn box, scribble or lasso (voxel indices) on object ``label``; one undo step."""
        return self._prompt(shape.kind, label, lambda session: session.add_shape(shape),
                            points=[list(p) for p in shape.points], positive=shape.positive)

    def _prompt(self, event: str, label: int | None, add: Callable[[Any], object],
                **fields: Any) -> dict:
        """Give ``label`` the focus, run ``add(session)`` under the model lock, answer the state
        with the changed part of the label map, and log ``event`` with ``fields``."""
        if label is not None and label != self.current:
            count = len(self._session.label_names)
            if isinstance(label, bool) or not 1 <= label <= count:
                raise ApiError(404, f"no object {label}: this session has objects 1..{count}")
            self._session.select_object(label)
        start = time.perf_counter()
        with self._model_lock:
            add(self._session)
        self.clicks += 1
        patch = self._refresh(current_only=True)
        state = self.state(patch)
        self.log.event(event, state["object"], state["name"], **fields, voxels=state["voxels"],
                       latency_ms=round(1000 * (time.perf_counter() - start), 1))
        return state

    def suggest(self) -> dict:
        """The model's suggested next click on the current object, with its uncertainty map in
        patch form (:func:`seganypet.server.suggestion.suggestion_answer`); no state change."""
        start = time.perf_counter()
        self.last_used = time.time()
        try:
            with self._model_lock:
                hint = self._session.suggest()
        except InputError as exc:  # an object without prompts: nothing to be unsure about
            raise ApiError(409, str(exc)) from None
        answer = suggestion_answer(hint, self.current, self._name(self.current))
        self.log.event("suggest", self.current, self._name(self.current),
                       index=answer["index"], positive=answer["positive"],
                       error_probability=answer["error_probability"],
                       latency_ms=round(1000 * (time.perf_counter() - start), 1))
        return answer

    def new_object(self, name: str | None) -> int:
        if name is not None and not name.strip():
            raise InputError("an object name must not be blank")
        self._finish_current()
        label = self._session.new_object(name.strip() if name else None)
        self._refresh()
        self.log.event("new_object", label, self._session.label_names[label])
        return label

    def undo(self) -> dict:
        label = self.current
        self._session.undo()
        patch = self._refresh()
        self.log.event("undo", label, self._name(label))
        return self.state(patch)

    def reset(self) -> dict:
        self._session.reset()
        patch = self._refresh(current_only=True)
        self.log.event("reset", self.current, self._name(self.current))
        return self.state(patch)

    def resize(self, larger: bool) -> dict:
        """Grow or shrink: switch to the next larger/smaller first-click candidate mask."""
        verb = "grow" if larger else "shrink"
        step = getattr(self._session, verb, None)
        if step is None:
            raise ApiError(409, f"{verb} is not offered by this session's model")
        with self._model_lock:
            step()
        patch = self._refresh(current_only=True)
        self.log.event(verb, self.current, self._name(self.current))
        return self.state(patch)

    def replace_session(self, session: Any, event: str, **fields: Any) -> dict:
        """Make ``session`` (on the same image: lesion mode's objects, say) this scan's state;
        the label map, statistics, undo, autosave and downloads follow it from now on, the
        earlier objects and their undo history are dropped. Logs ``event`` with ``fields``."""
        self._finish_current()
        self._session = session
        self._summaries.clear()
        patch = self._refresh()
        self.log.event(event, self.current, self._name(self.current), **fields)
        return self.state(patch)

    def apply(self, event: str, action: Callable[[Any], Any], **fields: Any) -> tuple[dict, Any]:
        """Run ``action(session)``, an edit that may change any object (segment all similar,
        say), under the model lock and re-read the whole label map; answers ``(state, what
        action returned)`` and logs ``event`` with ``fields``."""
        start = time.perf_counter()
        with self._model_lock:
            result = action(self._session)
        patch = self._refresh()
        state = self.state(patch)
        self.log.event(event, state["object"], state["name"], **fields, voxels=state["voxels"],
                       latency_ms=round(1000 * (time.perf_counter() - start), 1))
        return state, result

    def close(self) -> None:
        """Write the last object's summary line and a final autosave."""
        with self.lock:
            self._finish_current()
        self.autosave()

    # ------------------------------------------------------------------ files
    def autosave(self) -> Path:
        """Write ``labels.nii.gz`` (+ ``labels.json`` names) atomically, if anything changed."""
        from seganypet.io.labels import write_label_map

        path = self.folder / "labels.nii.gz"
        with self._save_lock:
            with self.lock:
                version, labels = self._version, self._labels.copy()
                names = dict(self._session.label_names)
            if version != self._saved_version or not path.exists():
                write_label_map(self.image.with_array(labels, unit="label"), path, names)
                self._saved_version = version
        return path

    def dicom_seg(self) -> Path:
        from seganypet.io.dicom_seg import write_dicom_seg

        if "dicom" not in self.image.meta:
            raise ApiError(400, "DICOM-SEG needs a scan read from a DICOM series; this one is a "
                           "NIfTI/NRRD file: download the NIfTI label map instead")
        with self.lock:
            labels, names = self._labels.copy(), dict(self._session.label_names)
        if not labels.any():
            raise ApiError(409, "the label map is empty: there is nothing to export yet")
        path = self.folder / "labels_seg.dcm"
        write_dicom_seg(self.image.with_array(labels, unit="label"), path, self.image, names)
        return path

    # ------------------------------------------------------------------ internals
    def _name(self, label: int) -> str:
        return self._session.label_names.get(label, f"object_{label}")

    def _next_labels(self, current_only: bool) -> np.ndarray:
        """The session's label map now.

        When only the newest object was edited, it is rebuilt from the cached map and that
        object's mask, by the rule of ``Session.label_map`` (earlier objects keep their voxels,
        the newest takes the free ones), instead of re-layering every object: ~5x fewer passes
        over a whole-body volume per click.
        """
        label = self.current
        newest = len(self._session.label_names)
        # an earlier object's new voxels may lie under later objects: re-layer all of them
        if not current_only or label != newest or label > np.iinfo(self._labels.dtype).max:
            return self._session.label_map.array
        mask = self._session.mask.array > 0
        after = self._labels.copy()
        after[after == label] = 0
        after[mask & (after == 0)] = label
        return after

    def _refresh(self, current_only: bool = False) -> dict | None:
        """Re-read the session's label map; drop the summaries of labels in the changed box."""
        self.last_used = time.time()
        after = self._next_labels(current_only)
        patch = changed_patch(self._labels, after)
        if patch is not None:
            (i0, j0, k0), (i1, j1, k1) = patch["box"]
            box = (slice(i0, i1 + 1), slice(j0, j1 + 1), slice(k0, k1 + 1))
            touched = np.union1d(np.unique(self._labels[box]), np.unique(after[box]))
            for label in touched.tolist():
                self._summaries.pop(int(label), None)
            self._version += 1
        names = dict(self._session.label_names)
        if names != self._names:  # a new or undone object changes the names sidecar
            self._names = names
            self._version += 1
        self._labels = after
        for label in [k for k in self._summaries if k > len(names)]:
            del self._summaries[label]  # objects removed by undoing new_object
        return patch

    def _finish_current(self) -> None:
        summary = self.objects()[self.current - 1]
        volume = summary["stats"]["volume_ml"] if summary["stats"] else 0.0
        self.log.finish(summary["label"], summary["voxels"], volume)
