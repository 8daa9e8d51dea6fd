"""Atomic output: write to a temporary file beside the target, then rename.

Used by every writer of the package (io, model checkpoints, training logs, reports)."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

from seganypet.errors import InputError

__all__ = ["atomic_path"]


def _current_umask() -> int:
    """The process umask (reading it means setting it; set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _sigterm_held() -> Iterator[None]:
    """Block SIGTERM for the block (POSIX); a pending one is delivered when it ends."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``target`` on success.

    The temporary name keeps the target's suffixes (``.nii.gz``), because writers such as
    nibabel choose the format from the file name. On error (also ``SystemExit`` raised by the
    CLI's SIGTERM handler) the temporary file is removed and the target is left as it was.
    The file gets the permissions of a plain ``open()`` (0666 minus the umask), not the 0600
    of ``mkstemp``.
    """
    target = Path(target)
    if target.is_dir():
        raise InputError(f"{target} is an existing folder; cannot write a file there")
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(target.suffixes)
    # SIGTERM is held back until the temporary file has a name the cleanup below knows of:
    # a signal right after mkstemp returned would otherwise leave the file behind.
    with _sigterm_held():
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{suffix}",
                                   dir=target.parent)
        tmp_path = Path(tmp)
    try:
        try:
            os.fchmod(fd, 0o666 & ~_current_umask())
        finally:
            os.close(fd)
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
