"""Volumes the viewer loads by URL: the scan itself and its coronal maximum intensity projection."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from seganypet.volume import Volume

__all__ = ["anterior_axis", "coronal_mip", "write_once"]


def anterior_axis(volume: Volume) -> int:
    """The array axis closest to the anterior-posterior (RAS y) direction."""
    return int(np.argmax(np.abs(volume.direction[1])))


def coronal_mip(volume: Volume) -> Volume:
    """Maximum over the anterior-posterior axis, kept as a one-voxel-thick slab.

    The slab sits at the middle of that axis, so its world position is the scan's centre and a
    viewer shows it in its coronal view on the scan's own i/k (or whichever) axes.
    """
    axis = anterior_axis(volume)
    mip = volume.array.max(axis=axis, keepdims=True)
    middle = np.zeros(3)
    middle[axis] = (volume.shape[axis] - 1) / 2
    affine = volume.affine.copy()
    affine[:3, 3] = volume.index_to_world(middle)
    return Volume(np.ascontiguousarray(mip, dtype=np.float32), affine, volume.unit)


def write_once(path: Path, make: Callable[[], Volume]) -> Path:
    """Write ``make()`` (a Volume) to ``path`` the first time it is asked for."""
    if not path.exists():
        from seganypet.io.write import write_image

        write_image(make(), path)
    return path
