"""Which cases one process runs.

Cases are dealt round-robin in manifest order: part ``k`` of ``n`` runs cases ``k, k+n,
k+2n, ...``. The part comes from ``--num-parts N --part-id K`` (a Slurm array passes
``--part-id $SLURM_ARRAY_TASK_ID``), else from torchrun's ``WORLD_SIZE`` and ``RANK``
environment, else the process runs everything. Every case's output depends only on the case,
so any split gives the same files as one process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TypeVar

from seganypet.errors import InputError

__all__ = ["resolve_part", "shard"]

T = TypeVar("T")


def resolve_part(num_parts: int | None, part_id: int | None,
                 environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    """``(num_parts, part_id)`` from the options, else torchrun's environment, else ``(1, 0)``.

    Raises:
        InputError: only one of the options given, or a part id outside ``0..num_parts-1``.
    """
    environ = os.environ if environ is None else environ
    if (num_parts is None) != (part_id is None):
        raise InputError("give --num-parts and --part-id together")
    if num_parts is None:
        if "WORLD_SIZE" in environ and "RANK" in environ:
            try:
                num_parts, part_id = int(environ["WORLD_SIZE"]), int(environ["RANK"])
            except ValueError:
                raise InputError("WORLD_SIZE/RANK in the environment are not integers") from None
        else:
            return 1, 0
    if num_parts < 1 or not 0 <= part_id < num_parts:  # type: ignore[operator]
        raise InputError(f"part id {part_id} is not in 0..{num_parts - 1} (--num-parts {num_parts})")
    return int(num_parts), int(part_id)  # type: ignore[arg-type]


def shard(items: Sequence[T], num_parts: int, part_id: int) -> list[T]:
    """Items ``part_id, part_id + num_parts, ...`` of ``items`` (round-robin)."""
    return list(items[part_id::num_parts])
