"""Atomic output for the readers/writers of :mod:`seganypet.io` (defined in :mod:`seganypet.atomic`,
a neutral module, so that ``model`` can write checkpoints without importing ``io``)."""

from seganypet.atomic import atomic_path

__all__ = ["atomic_path"]
