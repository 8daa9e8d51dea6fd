"""Error types that mean "the user's input is wrong" (the CLI prints them in one line)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["InputError", "SeganypetError", "check_known_fields"]


class SeganypetError(Exception):
    """Base class of every error seganypet raises on purpose."""


class InputError(SeganypetError, ValueError):
    """Bad input from the user: a file, a tag, a click, a model name. The message says what to do."""


def check_known_fields(keys: Iterable[str], known: Iterable[str], message: str) -> None:
    """Raise ``InputError(message.format(unknown=..., known=...))`` if ``keys`` has names outside
    ``known`` (typo protection for config files)."""
    known = sorted(known)
    unknown = sorted(set(keys) - set(known))
    if unknown:
        raise InputError(message.format(unknown=unknown, known=known))
