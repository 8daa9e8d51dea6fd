"""The one image type of seganypet: an array in voxel-index order plus its affine.

Coordinate contract (used everywhere in the package):

* ``Volume.array`` has shape ``(I, J, K)`` in voxel-index order, exactly as nibabel
  returns it for a NIfTI file. Nothing is ever stored in SimpleITK's ``(z, y, x)`` order.
* ``Volume.affine`` is the 4x4 matrix mapping a voxel index ``(i, j, k, 1)`` to RAS
  millimetres. It is never dropped: every derived volume (mask, crop, resample) carries
  the affine of its own grid.
* Public prompts are either voxel indices on ``array`` or world millimetres (RAS, or LPS
  through the explicit ``*_lps`` helpers). Conversions happen only through this class, which
  delegates them to its :class:`~seganypet.grid.Grid` (``Volume.grid``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seganypet.errors import InputError
from seganypet.grid import Grid

__all__ = ["RAS_TO_LPS", "InvalidVolumeError", "Volume"]

# Diagonal flip between the RAS convention (NIfTI, nibabel) and LPS (DICOM, ITK).
RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


class InvalidVolumeError(InputError):
    """An image that cannot be used as a 3D scan (wrong dimensionality, bad affine, NaN...)."""


@dataclass(frozen=True, eq=False)
class Volume:
    """A 3D scan or mask on a world grid.

    Args:
        array: ``(I, J, K)`` voxel values in voxel-index order.
        affine: ``(4, 4)`` voxel index -> RAS mm.
        unit: what the values mean, e.g. ``"SUVbw"``, ``"Bq/ml"``, ``"label"``.
        meta: free-form provenance (e.g. SUV conversion parameters), never used for geometry.
    """

    array: np.ndarray
    affine: np.ndarray
    unit: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        array = np.asarray(self.array)
        affine = np.asarray(self.affine, dtype=np.float64)
        if array.ndim != 3:
            raise InvalidVolumeError(
                f"expected a 3D image, got an array with {array.ndim} dimension(s) "
                f"and shape {tuple(array.shape)}"
            )
        if min(array.shape) < 1:
            raise InvalidVolumeError(f"image has an empty axis: shape {tuple(array.shape)}")
        if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
            raise InvalidVolumeError("affine must be a finite 4x4 matrix")
        if abs(np.linalg.det(affine[:3, :3])) < 1e-9:
            raise InvalidVolumeError("affine is singular (zero voxel size?)")
        object.__setattr__(self, "array", array)
        object.__setattr__(self, "affine", affine)

    # ------------------------------------------------------------------ geometry
    @property
    def grid(self) -> Grid:
        """The voxel grid of the array: its shape and affine."""
        return Grid(self.affine, self.shape)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.array.shape)  # type: ignore[return-value]

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm along i, j, k (column norms of the affine)."""
        return self.grid.spacing

    @property
    def origin(self) -> tuple[float, float, float]:
        """RAS mm of the centre of voxel (0, 0, 0)."""
        return self.grid.origin

    @property
    def direction(self) -> np.ndarray:
        """``(3, 3)`` unit direction cosines of the i, j, k axes in RAS (columns)."""
        return self.affine[:3, :3] / np.asarray(self.spacing)[None, :]

    @property
    def voxel_volume_ml(self) -> float:
        return self.grid.voxel_volume_ml

    def index_to_world(self, index: np.ndarray | tuple[float, ...]) -> np.ndarray:
        """Voxel index ``(..., 3)`` (i, j, k; may be fractional) -> RAS mm ``(..., 3)``."""
        return self.grid.world_of(index)

    def world_to_index(self, world_mm: np.ndarray | tuple[float, ...]) -> np.ndarray:
        """RAS mm ``(..., 3)`` -> fractional voxel index ``(..., 3)``."""
        return self.grid.index_of(world_mm)

    def index_to_lps(self, index: np.ndarray | tuple[float, ...]) -> np.ndarray:
        """Voxel index -> LPS mm (DICOM patient coordinates)."""
        return self.index_to_world(index) * np.array([-1.0, -1.0, 1.0])

    def lps_to_index(self, lps_mm: np.ndarray | tuple[float, ...]) -> np.ndarray:
        """LPS mm -> fractional voxel index."""
        return self.world_to_index(np.asarray(lps_mm, dtype=np.float64) * np.array([-1.0, -1.0, 1.0]))

    def nearest_index(self, world_mm: np.ndarray | tuple[float, ...]) -> tuple[int, int, int]:
        """The voxel whose centre is nearest to a RAS mm point (may lie outside the array)."""
        return tuple(int(v) for v in np.rint(self.world_to_index(world_mm)))  # type: ignore[return-value]

    def contains_index(self, index: tuple[int, ...] | np.ndarray) -> bool:
        idx = np.asarray(index)
        return bool(idx.shape == (3,) and np.all(idx >= 0) and np.all(idx < np.asarray(self.shape)))

    # ------------------------------------------------------------------ derivation
    def with_array(self, array: np.ndarray, unit: str | None = None) -> Volume:
        """A new Volume on the same grid (same affine) with other values, e.g. a mask."""
        if tuple(np.shape(array)) != self.shape:
            raise InvalidVolumeError(
                f"array shape {tuple(np.shape(array))} does not match grid {self.shape}"
            )
        return Volume(array, self.affine.copy(), self.unit if unit is None else unit, dict(self.meta))

    def same_grid(self, other: Volume, atol_mm: float = 1e-3) -> bool:
        """True when both volumes share shape and affine (to ``atol_mm``)."""
        return self.shape == other.shape and bool(np.allclose(self.affine, other.affine, atol=atol_mm))
