"""Rasterise smooth solids (deformed ellipsoids, capsules) on a regular world grid.

Hand-written rather than a mesh library because every solid is evaluated only inside its own
bounding box with numpy broadcasting, which keeps a whole-body phantom at 3-4 mm well under a
second; no kept library rasterises implicit solids on an affine grid.

The grid is axis-aligned in RAS mm: index ``i`` runs along +R (x), ``j`` along +A (y) and ``k``
along +S (z), so a grid and its affine are fully described by ``origin`` and ``spacing``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seganypet.grid import Grid

__all__ = ["Capsule", "Ellipsoid", "RasGrid", "capsule_mask", "ellipsoid_mask", "rotation_matrix"]

Box = tuple[slice, slice, slice]


class RasGrid(Grid):
    """An axis-aligned :class:`~seganypet.grid.Grid` in RAS mm (index i along +R, j +A, k +S).

    Args:
        shape: ``(I, J, K)`` voxels.
        spacing: voxel size in mm along i, j, k.
        origin: RAS mm of the centre of voxel ``(0, 0, 0)``.
    """

    def __init__(self, shape: tuple[int, int, int], spacing: tuple[float, float, float],
                 origin: tuple[float, float, float]) -> None:
        affine = np.diag([*(float(v) for v in spacing), 1.0])
        affine[:3, 3] = origin
        super().__init__(affine, shape)

    def axis(self, n: int) -> np.ndarray:
        """World coordinates ``(shape[n],)`` of the voxel centres along axis ``n``."""
        return (self.origin[n] + self.spacing[n] * np.arange(self.shape[n])).astype(np.float32)

    def box(self, lo_mm: np.ndarray, hi_mm: np.ndarray) -> Box | None:
        """Index slices covering the world box ``[lo, hi]``, clipped to the grid; None if empty."""
        out = []
        for n in range(3):
            start = int(np.ceil((lo_mm[n] - self.origin[n]) / self.spacing[n]))
            stop = int(np.floor((hi_mm[n] - self.origin[n]) / self.spacing[n])) + 1
            start, stop = max(start, 0), min(stop, self.shape[n])
            if stop <= start:
                return None
            out.append(slice(start, stop))
        return out[0], out[1], out[2]

    def coords(self, box: Box) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Broadcastable world coordinates ``(i,1,1)``, ``(1,j,1)``, ``(1,1,k)`` of a box."""
        x = self.axis(0)[box[0]][:, None, None]
        y = self.axis(1)[box[1]][None, :, None]
        z = self.axis(2)[box[2]][None, None, :]
        return x, y, z


def rotation_matrix(angles_rad: np.ndarray | tuple[float, float, float]) -> np.ndarray:
    """``(3, 3)`` rotation from small Euler angles about the R, A, S axes (applied in that order)."""
    a, b, c = (float(v) for v in angles_rad)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


@dataclass(frozen=True)
class Ellipsoid:
    """An ellipsoid whose radius is modulated by a smooth function of direction.

    Args:
        center: RAS mm ``(3,)``.
        radii: semi-axes in mm ``(3,)`` along the rotated axes.
        rotation: ``(3, 3)`` columns are the ellipsoid's axes in RAS.
        deform: ``(9,)`` coefficients of the radial modulation over the direction ``n``:
            ``n1, n2, n3, n1 n2, n1 n3, n2 n3, n1^2-n2^2, n2^2-n3^2, n1 n2 n3`` (a low-order
            spherical-harmonic-like basis, so the surface stays smooth); zeros = plain ellipsoid.
    """

    center: np.ndarray
    radii: np.ndarray
    rotation: np.ndarray
    deform: np.ndarray

    @property
    def reach_mm(self) -> float:
        return float(np.max(self.radii) * (1.0 + np.abs(self.deform).sum()))


def _inside_deformed(u: list[np.ndarray], q2: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``|u| <= 1 + sum_m c_m b_m(u/|u|)`` for the 9-term basis of ``Ellipsoid.deform``.

    Multiplied through by ``|u|^3`` so that no direction vector is ever materialised:
    ``|u|^4 <= |u|^3 + L |u|^2 + Q |u| + C`` with L, Q, C the linear, quadratic and cubic parts.
    """
    c = c.astype(np.float32)
    u0, u1, u2 = u
    q = np.sqrt(q2)
    linear = c[0] * u0 + c[1] * u1 + c[2] * u2
    quadratic = (c[3] * u0 * u1 + c[4] * u0 * u2 + c[5] * u1 * u2
                 + c[6] * (u0 * u0 - u1 * u1) + c[7] * (u1 * u1 - u2 * u2))
    cubic = c[8] * u0 * u1 * u2
    return q2 * q2 <= q2 * q + linear * q2 + quadratic * q + cubic


def ellipsoid_mask(grid: RasGrid, solid: Ellipsoid, scale: float = 1.0,
                   box: Box | None = None) -> tuple[Box, np.ndarray] | None:
    """Voxels inside ``solid`` (radii multiplied by ``scale``): ``(box, bool mask of the box)``.

    ``box`` evaluates on given index slices instead of the solid's own bounding box.
    """
    if box is None:
        reach = solid.reach_mm * scale
        box = grid.box(solid.center - reach, solid.center + reach)
    if box is None:
        return None
    x, y, z = grid.coords(box)
    dx, dy, dz = x - solid.center[0], y - solid.center[1], z - solid.center[2]
    rot = solid.rotation.astype(np.float32)
    radii = solid.radii * scale
    # Coordinates in the ellipsoid frame, normalised by the radii: q = |u| = 1 on the surface.
    u = [(rot[0, m] * dx + rot[1, m] * dy + rot[2, m] * dz) / np.float32(radii[m]) for m in range(3)]
    q2 = u[0] * u[0] + u[1] * u[1] + u[2] * u[2]
    if not np.any(solid.deform):
        return box, q2 <= 1.0
    return box, _inside_deformed(u, q2, solid.deform)


@dataclass(frozen=True)
class Capsule:
    """A tube of constant radius around the segment ``p0 -> p1`` (RAS mm), with round ends."""

    p0: np.ndarray
    p1: np.ndarray
    radius: float


def capsule_mask(grid: RasGrid, solid: Capsule, radius_offset: float = 0.0) -> tuple[Box, np.ndarray] | None:
    """Voxels within ``radius + radius_offset`` of the segment: ``(box, bool mask of the box)``."""
    radius = solid.radius + radius_offset
    if radius <= 0:
        return None
    lo = np.minimum(solid.p0, solid.p1) - radius
    hi = np.maximum(solid.p0, solid.p1) + radius
    box = grid.box(lo, hi)
    if box is None:
        return None
    x, y, z = grid.coords(box)
    axis = (solid.p1 - solid.p0).astype(np.float32)
    length2 = float(axis @ axis) or 1e-6
    dx, dy, dz = x - solid.p0[0], y - solid.p0[1], z - solid.p0[2]
    t = np.clip((dx * axis[0] + dy * axis[1] + dz * axis[2]) / np.float32(length2), 0.0, 1.0)
    ex, ey, ez = dx - t * axis[0], dy - t * axis[1], dz - t * axis[2]
    return box, ex * ex + ey * ey + ez * ez <= np.float32(radius * radius)
