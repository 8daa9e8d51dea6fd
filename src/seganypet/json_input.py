"""Reading a user's JSON prompt or shape file: one size limit, one line per failure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seganypet.errors import InputError

__all__ = ["read_json_file"]


def read_json_file(path: Path, what: str, max_bytes: int) -> Any:
    """The parsed content of ``path``, a ``what`` ("prompt file", "shape file").

    Refused with one :class:`InputError` line: a missing file, one over ``max_bytes`` (checked
    before reading, so a huge file costs nothing), invalid JSON or text, and nesting so deep
    that the parser would raise ``RecursionError``.
    """
    if not path.is_file():
        raise InputError(f"{what} not found: {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(f"{path} is {size:,} bytes; a {what} holds at most {max_bytes:,} bytes")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"{path} is nested too deeply to be a {what}") from None
