"""Annotation timing: one JSONL line per interaction, and one summary line per finished object.

The file (``annotation.jsonl`` in the session folder) is what a time-saving study needs
without a stopwatch: per object, every click or drawn shape (box, scribble, lasso) with its
wall-clock time and server latency, and at the end the number of clicks and shapes, the time
from first to last interaction and the volume.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seganypet.shape import SHAPE_KINDS

__all__ = ["AnnotationLog", "ObjectTiming"]


@dataclass
class ObjectTiming:
    """Running tally of one object's interactions."""

    label: int
    name: str
    clicks: int = 0
    shapes: int = 0
    first: float | None = None  # unix time of the first interaction
    last: float | None = None

    def touch(self, now: float, event: str) -> None:
        self.first = now if self.first is None else self.first
        self.last = now
        self.clicks += int(event == "click")
        self.shapes += int(event in SHAPE_KINDS)


@dataclass
class AnnotationLog:
    """Append-only JSONL log of one session (each line flushed as written)."""

    path: Path
    objects: dict[int, ObjectTiming] = field(default_factory=dict)

    def event(self, event: str, label: int, name: str, **fields: Any) -> None:
        """Log one interaction on object ``label`` (``click``, ``box``, ``undo``, ...)."""
        now = time.time()
        timing = self.objects.setdefault(label, ObjectTiming(label, name))
        timing.name = name
        timing.touch(now, event)
        self._write({"time": now, "event": event, "object": label, "name": name, **fields})

    def finish(self, label: int, voxels: int, volume_ml: float) -> None:
        """The summary line of an object: clicks, shapes, seconds from first to last
        interaction, volume."""
        timing = self.objects.get(label)
        if timing is None or timing.first is None:
            return
        self._write({"time": time.time(), "event": "object_done", "object": label,
                     "name": timing.name, "clicks": timing.clicks, "shapes": timing.shapes,
                     "duration_s": round((timing.last or timing.first) - timing.first, 3),
                     "voxels": int(voxels), "volume_ml": float(volume_ml)})

    def _write(self, record: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=float) + "\n")
