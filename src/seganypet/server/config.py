"""What a ``seganypet serve`` process is allowed to do: root folder, limits, token, model."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from seganypet.errors import InputError

__all__ = ["ServerConfig", "is_loopback"]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


@dataclass(frozen=True)
class ServerConfig:
    """Settings of one server process.

    Args:
        root: scans are opened only by paths that resolve inside this folder.
        work_dir: one sub-folder per session: autosaved label map, uploads, timing log.
        model: model name or checkpoint path for :func:`seganypet.load_model`.
        token: when set, every ``/api`` request needs ``Authorization: Bearer <token>``.
        max_sessions: open sessions at most; the least recently used one is evicted.
        max_upload_mb: size limit of an uploaded scan (413 above).
        idle_seconds: a session unused for this long is evicted (its lease ends).
        memory_mb: estimated memory of all sessions at most; LRU sessions are evicted above.
        host: the address the server binds (used for the loopback rule).
        device: torch device of the model.
        plateau_snap: sessions with the plateau snap (``Session(plateau_snap=...)``: organ
            clicks whose first mask stopped inside the organ grow to it); False turns it off.
        local_edit: sessions whose corrective clicks change the mask only near the click
            (``Session(local_edit=...)``); False shows the model's whole new mask.
    """

    root: Path
    work_dir: Path
    model: str = "default"
    token: str | None = None
    max_sessions: int = 8
    max_upload_mb: float = 512.0
    idle_seconds: float = 3600.0
    memory_mb: float = 4096.0
    host: str = "127.0.0.1"
    device: str = "cpu"
    plateau_snap: bool = True
    local_edit: bool = True

    def __post_init__(self) -> None:
        root = Path(self.root).expanduser()
        if not root.is_dir():
            raise InputError(f"--root {root} is not a folder")
        object.__setattr__(self, "root", root.resolve())
        object.__setattr__(self, "work_dir", Path(self.work_dir).expanduser().resolve())
        if self.max_sessions < 1:
            raise InputError("--max-sessions must be at least 1")
        if self.max_upload_mb <= 0 or self.memory_mb <= 0 or self.idle_seconds <= 0:
            raise InputError("--max-upload-mb, --memory-mb and --idle-minutes must be positive")
        if self.token is not None and not self.token.strip():
            raise InputError("--token must not be empty")
        if not is_loopback(self.host) and not self.token:
            raise InputError(f"refusing to listen on {self.host} without --token: anyone on the "
                             "network could read scans under --root; pass --token or use 127.0.0.1")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_mb * 1024 * 1024)
