"""Open sessions of the server: creation, lookup, the limits, and least-recently-used eviction.

Rules: at most ``max_sessions`` are open (a new one past the limit gets 429); a session unused
for ``idle_seconds`` is closed (its lease ends); while the estimated memory of all sessions
exceeds ``memory_mb`` the least recently used one is closed. A closed session is autosaved
first, and its id then answers 410 with the reason.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seganypet.server.annotation import Annotation
from seganypet.server.config import ServerConfig
from seganypet.server.errors import ApiError
from seganypet.volume import Volume

__all__ = ["SessionManager"]

log = logging.getLogger(__name__)

# Closed ids remembered for their 410 message (older ones answer a plain 404).
_REMEMBERED_CLOSED = 1000


class SessionManager:
    """Thread-safe registry of :class:`Annotation` sessions sharing one model.

    Args:
        config: the server's limits.
        make_session: ``() -> seganypet.Session`` on the shared model.
    """

    def __init__(self, config: ServerConfig, make_session: Callable[[], Any]) -> None:
        self.config = config
        self.model_lock = threading.Lock()
        self._make_session = make_session
        self._lock = threading.Lock()
        self._open: OrderedDict[str, Annotation] = OrderedDict()
        self._closed: OrderedDict[str, str] = OrderedDict()

    # ------------------------------------------------------------------ lookup
    def get(self, session_id: str) -> Annotation:
        """The open session ``session_id`` (now the most recently used), else 404/410."""
        self.sweep()
        with self._lock:
            annotation = self._open.get(session_id)
            if annotation is not None:
                self._open.move_to_end(session_id)
                annotation.last_used = time.time()
                return annotation
            reason = self._closed.get(session_id)
        if reason is not None:
            raise ApiError(410, f"session {session_id} was closed: {reason}")
        raise ApiError(404, f"no session {session_id}")

    def list(self) -> list[Annotation]:
        self.sweep()
        with self._lock:
            return list(self._open.values())

    # ------------------------------------------------------------------ lifecycle
    def folder_for(self, session_id: str) -> Path:
        folder = self.config.work_dir / session_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def discard_folder(self, session_id: str) -> None:
        """Remove the folder of a session that never opened (e.g. a refused upload)."""
        with self._lock:
            if session_id in self._open:
                return
        shutil.rmtree(self.config.work_dir / session_id, ignore_errors=True)

    def new_id(self) -> str:
        """A fresh unguessable id; check the limit before the caller reads anything."""
        self.sweep()
        with self._lock:
            if len(self._open) >= self.config.max_sessions:
                raise ApiError(429, f"the server already has {len(self._open)} open sessions "
                               "(--max-sessions); close one with DELETE /api/sessions/{id}")
        return secrets.token_urlsafe(9)

    def open(self, session_id: str, source: str, image: Volume) -> Annotation:
        """Register a session on ``image``; may evict others to stay under the memory cap."""
        annotation = Annotation(session_id, source, image, self._make_session(),
                                self.folder_for(session_id), self.model_lock)
        with self._lock:
            if len(self._open) >= self.config.max_sessions:
                raise ApiError(429, "the server reached --max-sessions while the scan was read")
            self._open[session_id] = annotation
        self.sweep()
        return annotation

    def close(self, session_id: str, reason: str = "deleted by the client") -> None:
        annotation = self.get(session_id)
        self._close(annotation, reason)

    def close_all(self) -> None:
        for annotation in self.list():
            self._close(annotation, "the server stopped")

    def sweep(self) -> None:
        """Close sessions past their idle lease, then LRU ones while over the memory cap."""
        now = time.time()
        with self._lock:
            idle = [a for a in self._open.values()
                    if now - a.last_used > self.config.idle_seconds and not a.lock.locked()]
            over = self._over_memory(idle)
        for annotation in idle:
            self._close(annotation, f"idle for more than {self.config.idle_seconds:.0f} s; "
                        "its label map was autosaved")
        for annotation in over:
            self._close(annotation, "evicted (least recently used) to stay under the server's "
                        "memory cap; its label map was autosaved")

    # ------------------------------------------------------------------ internals
    def _over_memory(self, leaving: list[Annotation]) -> list[Annotation]:
        """LRU sessions to close so the rest fit in the cap (the newest one always stays)."""
        remaining = [a for a in self._open.values() if a not in leaving]
        total = sum(a.memory_bytes for a in remaining)
        evict = []
        for annotation in remaining[:-1]:
            if total <= self.config.memory_bytes:
                break
            evict.append(annotation)
            total -= annotation.memory_bytes
        return evict

    def _close(self, annotation: Annotation, reason: str) -> None:
        with self._lock:
            if self._open.pop(annotation.id, None) is None:
                return
            self._closed[annotation.id] = reason
            while len(self._closed) > _REMEMBERED_CLOSED:
                self._closed.popitem(last=False)
        try:
            annotation.close()
        except Exception:  # a failed final save must not keep the session alive
            log.exception("final autosave of session %s failed", annotation.id)
