"""Confinement of client-supplied paths to the server's ``--root`` folder."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from seganypet.server.errors import ApiError

__all__ = ["confined_path", "relative_name"]


def confined_path(root: Path, relative: str) -> Path:
    """The existing file or folder ``root/relative``, resolved (symlinks followed).

    Raises ApiError 403 for absolute paths, ``..`` and anything (a symlink included) that
    resolves outside ``root``, and 404 for a path that does not exist. Nothing outside
    ``root`` is ever opened: the check runs on the resolved path before any read.
    """
    if not isinstance(relative, str) or not relative.strip():
        raise ApiError(400, "path must be a non-empty string relative to the server's --root")
    if "\x00" in relative:
        raise ApiError(400, "path contains a NUL character")
    pure = PurePosixPath(relative.replace("\\", "/"))
    if pure.is_absolute() or relative[1:2] == ":" or ".." in pure.parts:
        raise ApiError(403, f"path {relative!r} must be relative to --root, without '..'")
    resolved = (root / pure).resolve()
    if resolved != root and root not in resolved.parents:
        raise ApiError(403, f"path {relative!r} resolves outside --root")
    if not resolved.exists():
        raise ApiError(404, f"no such scan under --root: {relative}")
    return resolved


def relative_name(root: Path, path: Path) -> str:
    """``path`` as the client named it: POSIX, relative to ``root``."""
    return path.relative_to(root).as_posix()
