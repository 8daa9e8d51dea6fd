"""Exact (interpolation-free) re-indexing of a volume onto another storage of the same grid.

Two files can hold the same world grid with axes permuted or flipped (RAS vs LPS storage,
``(j, i, k)`` order, reversed slices). Masks read from such a file must be re-indexed, not
resampled, to land on exactly the same voxels as the image.
"""

from __future__ import annotations

import numpy as np

from seganypet.errors import InputError
from seganypet.volume import Volume

__all__ = ["reorient_to"]


def reorient_to(volume: Volume, reference: Volume, atol_voxel: float = 1e-2) -> Volume:
    """``volume`` re-indexed onto ``reference``'s grid (same world voxels, reference axis order).

    Raises InputError when the two grids are not the same set of voxel centres (different
    spacing, shifted, rotated, or a different field of view).
    """
    if volume.same_grid(reference):
        return Volume(volume.array, reference.affine.copy(), volume.unit, dict(volume.meta))
    # index_ref = T @ index_vol; T must be a signed permutation plus an integer shift.
    transform = volume.grid.index_map(reference.grid)
    linear, shift = transform[:3, :3], transform[:3, 3]
    perm = np.rint(linear)
    is_signed_permutation = (np.abs(perm).sum(axis=0) == 1).all() and (np.abs(perm).sum(axis=1) == 1).all()
    if not (is_signed_permutation and np.allclose(linear, perm, atol=atol_voxel)
            and np.allclose(shift, np.rint(shift), atol=atol_voxel)):
        raise InputError(_mismatch_message(volume, reference))
    source_axis = [int(np.flatnonzero(perm[a])[0]) for a in range(3)]  # ref axis a <- volume axis
    array = np.transpose(volume.array, source_axis)
    offsets = []
    for axis, src in enumerate(source_axis):
        if perm[axis, src] < 0:
            array = np.flip(array, axis=axis)
            offsets.append(int(np.rint(shift[axis])) - (volume.shape[src] - 1))
        else:
            offsets.append(int(np.rint(shift[axis])))
    if any(offsets) or array.shape != reference.shape:
        raise InputError(_mismatch_message(volume, reference))
    return Volume(np.ascontiguousarray(array), reference.affine.copy(), volume.unit, dict(volume.meta))


def _mismatch_message(volume: Volume, reference: Volume) -> str:
    return (f"the mask grid (shape {volume.shape}, spacing "
            f"{tuple(round(s, 3) for s in volume.spacing)} mm, origin "
            f"{tuple(round(o, 2) for o in volume.origin)}) is not the image grid (shape "
            f"{reference.shape}, spacing {tuple(round(s, 3) for s in reference.spacing)} mm, origin "
            f"{tuple(round(o, 2) for o in reference.origin)}); save the mask on the image's grid")
