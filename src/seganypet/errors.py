"""Error types that mean "the user's input is wrong" (the CLI prints them in one line)."""

from __future__ import annotations

__all__ = ["InputError", "SeganypetError"]


class SeganypetError(Exception):
    """Base class of every error seganypet raises on purpose."""


class InputError(SeganypetError, ValueError):
    """Bad input from the user: a file, a tag, a click, a model name. The message says what to do."""
