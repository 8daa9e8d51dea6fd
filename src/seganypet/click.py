"""The one click type: a point prompt given as a voxel index or as RAS millimetres.

Used by the prompt files, the session, the CLI, the simulated user (evaluation, training
clicks, the demo) and the previews. A click made in world millimetres is converted to a voxel
index of one grid exactly once, by :meth:`Click.on_grid`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seganypet.errors import InputError
from seganypet.grid import Grid

__all__ = ["Click"]

Point = tuple[float, float, float]


@dataclass(frozen=True)
class Click:
    """A click on a scan.

    Args:
        index: voxel ``(i, j, k)`` of the image array (ints from the simulated user, floats
            from a person or a conversion), or None for a world click.
        positive: foreground (True) or background (False).
        world: RAS mm ``(x, y, z)`` when the click was given in world coordinates (then
            ``index`` is None until :meth:`on_grid`).
        object_name: name of the object the click belongs to, when known.
    """

    index: tuple | None = None
    positive: bool = True
    world: Point | None = None
    object_name: str | None = None

    def __post_init__(self) -> None:
        if (self.index is None) == (self.world is None):
            raise InputError("a click needs either a voxel index or world millimetres, not both")
        object.__setattr__(self, "positive", bool(self.positive))
        for name in ("index", "world"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(value.tolist() if isinstance(value, np.ndarray)
                                                     else value))

    @classmethod
    def at_world(cls, world_mm: Point | np.ndarray, positive: bool = True,
                 object_name: str | None = None) -> Click:
        """A click at RAS millimetres."""
        return cls(None, positive, tuple(float(v) for v in world_mm), object_name)  # type: ignore[arg-type]

    def on_grid(self, grid: Grid) -> Click:
        """This click with a fractional voxel index on ``grid`` (world clicks converted here)."""
        if self.index is not None:
            return self
        index = tuple(float(v) for v in grid.index_of(np.asarray(self.world, np.float64)))
        return Click(index, self.positive, None, self.object_name)

    @property
    def point(self) -> np.ndarray:
        """The voxel index as a float ``(3,)`` array (the click must be on a grid)."""
        if self.index is None:
            raise InputError("this click is in world millimetres; convert it with on_grid(grid)")
        return np.asarray(self.index, np.float64)
