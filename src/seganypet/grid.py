"""The one grid type: a voxel ``shape`` plus its ``affine`` (voxel index -> RAS mm).

Every geometry of the package is a :class:`Grid`: a scan (``Volume.grid``), a model patch
(:class:`~seganypet.preprocess.PatchGrid`), a box of a scan (``Grid.sub_box``), a phantom's
acquisition grid (:class:`~seganypet.data.shapes.RasGrid`). Index <-> world conversions, and
the composed index-of-one-grid -> index-of-another chain, are written here and nowhere else.

Voxel ``n`` of an axis covers ``[n - 0.5, n + 0.5]`` in index units: a point "is inside" a grid
when every fractional index lies in ``[-0.5, size - 0.5]`` (voxel edges included).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Grid"]


@dataclass(frozen=True, eq=False)
class Grid:
    """A 3D voxel grid.

    Args:
        affine: ``(4, 4)`` voxel index ``(i, j, k, 1)`` -> RAS mm.
        shape: ``(I, J, K)`` voxels.
    """

    affine: np.ndarray
    shape: tuple[int, int, int]

    def __post_init__(self) -> None:
        object.__setattr__(self, "affine", np.asarray(self.affine, np.float64))
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm along i, j, k (column norms of the affine)."""
        return tuple(float(v) for v in np.linalg.norm(self.affine[:3, :3], axis=0))  # type: ignore[return-value]

    @property
    def origin(self) -> tuple[float, float, float]:
        """RAS mm of the centre of voxel ``(0, 0, 0)``."""
        return tuple(float(v) for v in self.affine[:3, 3])  # type: ignore[return-value]

    @property
    def voxel_volume_ml(self) -> float:
        return float(abs(np.linalg.det(self.affine[:3, :3]))) / 1000.0

    def world_of(self, index: np.ndarray | tuple[float, ...]) -> np.ndarray:
        """Voxel index ``(..., 3)`` (may be fractional) -> RAS mm ``(..., 3)``."""
        return np.asarray(index, np.float64) @ self.affine[:3, :3].T + self.affine[:3, 3]

    def index_of(self, world_mm: np.ndarray | tuple[float, ...]) -> np.ndarray:
        """RAS mm ``(..., 3)`` -> fractional voxel index ``(..., 3)``."""
        inverse = np.linalg.inv(self.affine[:3, :3])
        return (np.asarray(world_mm, np.float64) - self.affine[:3, 3]) @ inverse.T

    def index_map(self, other: Grid) -> np.ndarray:
        """``(4, 4)`` matrix: a voxel index of this grid -> the fractional index on ``other``."""
        return np.linalg.inv(other.affine) @ self.affine

    def index_in(self, other: Grid, index: np.ndarray | tuple[float, ...]) -> np.ndarray:
        """Indices ``(..., 3)`` of this grid -> fractional indices ``(..., 3)`` on ``other``."""
        return other.index_of(self.world_of(index))

    def axis_lines_in(self, other: Grid, lo: np.ndarray, hi: np.ndarray
                      ) -> list[tuple[int, np.ndarray]] | None:
        """Fractional ``other`` indices of the voxel box ``[lo, hi)``, one line per axis, when
        both grids' axes are world axes (a scaled permutation: nearly every scan and every
        patch), else None.

        Returns ``[(r, values (hi[d] - lo[d],)) for d in 0, 1, 2]``: voxel ``(i, j, k)`` of the
        box lies at ``other`` index ``values_d[. - lo[d]]`` along ``other``'s axis ``r_d``. The
        values are :meth:`index_in`'s, bit for bit (the other axes add exact zeros), for a
        box of ``N^3`` voxels at the cost of ``3 N``.
        """
        forward, inverse = self.affine[:3, :3], np.linalg.inv(other.affine[:3, :3])
        if not (_permutation_like(forward) and _permutation_like(inverse)):
            return None
        lo, hi = np.asarray(lo, int), np.asarray(hi, int)
        lines = []
        for d in range(3):
            points = np.tile(lo.astype(np.float64), (int(hi[d] - lo[d]), 1))
            points[:, d] = np.arange(lo[d], hi[d])
            axis = int(np.flatnonzero(inverse @ forward[:, d])[0])
            lines.append((axis, self.index_in(other, points)[:, axis]))
        return lines

    def centres_in(self, other: Grid) -> np.ndarray:
        """Fractional ``other`` indices of every voxel centre of this grid, ``(3, I, J, K)``.

        One composed affine applied per axis (broadcast), not a per-voxel world detour.
        """
        mapping = self.index_map(other)
        lin, off = mapping[:3, :3], mapping[:3, 3]
        axes = [np.arange(n, dtype=np.float64) for n in self.shape]
        return (
            lin[:, 0, None, None, None] * axes[0][None, :, None, None]
            + lin[:, 1, None, None, None] * axes[1][None, None, :, None]
            + lin[:, 2, None, None, None] * axes[2][None, None, None, :]
            + off[:, None, None, None]
        )

    def contains_index(self, index: np.ndarray) -> np.ndarray:
        """Whether fractional indices ``(..., 3)`` fall inside the grid (voxel edges included)."""
        idx = np.asarray(index, np.float64)
        return np.all((idx >= -0.5) & (idx <= np.asarray(self.shape) - 0.5), axis=-1)

    def contains_world(self, world_mm: np.ndarray) -> np.ndarray:
        """Whether RAS points ``(..., 3)`` fall inside the grid (voxel edges included)."""
        return self.contains_index(self.index_of(world_mm))

    def sub_box(self, lo: np.ndarray | None = None, hi: np.ndarray | None = None) -> Grid:
        """The box of voxels ``[lo, hi)`` of this grid, as a grid (the whole grid by default)."""
        lo = np.zeros(3, int) if lo is None else np.asarray(lo, int)
        hi = np.asarray(self.shape) if hi is None else np.asarray(hi, int)
        affine = self.affine.copy()
        affine[:3, 3] = self.world_of(lo)
        return Grid(affine, tuple(int(v) for v in hi - lo))  # type: ignore[arg-type]

    def box_covering(self, other: Grid, lo_idx: np.ndarray, hi_idx: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Voxel box ``[lo, hi)`` of ``other`` covering this grid's voxels ``lo_idx..hi_idx``
        (their outer edges included), clipped to ``other``."""
        a, b = np.asarray(lo_idx) - 0.5, np.asarray(hi_idx) + 0.5
        corners = np.array([[x, y, z] for x in (a[0], b[0]) for y in (a[1], b[1])
                            for z in (a[2], b[2])])
        idx = self.index_in(other, corners)
        lo = np.clip(np.floor(idx.min(0)).astype(int), 0, other.shape)
        hi = np.clip(np.ceil(idx.max(0)).astype(int) + 1, 0, other.shape)
        return lo, hi


def _permutation_like(matrix: np.ndarray) -> bool:
    """Whether ``matrix (3, 3)`` has exactly one nonzero entry in each row and column."""
    nonzero = matrix != 0
    return bool((nonzero.sum(axis=0) == 1).all() and (nonzero.sum(axis=1) == 1).all())
