"""The paper's large-target rule: which neighbouring patches to add when a mask reaches a border.

Patches of one object lie on a lattice anchored at its first patch, with a step of half a
patch (50 % overlap). After a patch is decoded, every face of its low-res mask that has
foreground voxels *inside the scan* asks for the neighbour across that face.
"""

from __future__ import annotations

import numpy as np

from seganypet.preprocess import PatchGrid
from seganypet.session.state import TileKey
from seganypet.volume import Volume

__all__ = ["faces_to_extend", "inside_volume_mask", "tile_grid", "touches_border"]


def tile_grid(anchor: PatchGrid, key: TileKey) -> PatchGrid:
    """The patch at lattice position ``key`` (half-patch steps) from the anchor patch."""
    step = anchor.size // 2
    return anchor.shifted(np.asarray(key) * step)


def inside_volume_mask(low_res: PatchGrid, volume: Volume) -> np.ndarray:
    """Which low-res voxel centres ``(L, L, L)`` fall inside the scan's voxel extent."""
    # Broadcast per axis (Grid.centres_in), not an (L^3, 3) world round trip: this runs after
    # every decode, and the round trip cost ~60 ms per click for a 64^3 logit grid.
    centres = low_res.centres_in(volume.grid)  # (3, L, L, L)
    upper = np.asarray(volume.shape, np.float64)[:, None, None, None] - 0.5
    return np.all((centres >= -0.5) & (centres <= upper), axis=0)


def touches_border(mask: np.ndarray, margin: int = 1) -> bool:
    """Whether ``mask (L, L, L)`` has foreground in its ``margin`` outer layers (a cheap test
    that spares the scan-extent mask of :func:`inside_volume_mask` for closed masks)."""
    inner = mask[margin:-margin, margin:-margin, margin:-margin]
    return int(mask.sum()) > int(inner.sum())


def faces_to_extend(mask: np.ndarray, inside: np.ndarray, margin: int = 1) -> list[TileKey]:
    """Lattice offsets of the neighbours across faces where the mask touches the border.

    Args:
        mask: ``(L, L, L)`` bool low-res mask of a patch.
        inside: ``(L, L, L)`` bool, voxels inside the scan (faces outside it never extend).
        margin: how many outer layers count as "the border".
    Returns:
        Offsets such as ``(1, 0, 0)`` or ``(0, -1, 0)``.
    """
    hits = mask & inside
    offsets: list[TileKey] = []
    for axis in range(3):
        for direction, layer in ((-1, slice(0, margin)), (1, slice(-margin, None))):
            index = [slice(None)] * 3
            index[axis] = layer
            if hits[tuple(index)].any():
                offset = [0, 0, 0]
                offset[axis] = direction
                offsets.append(tuple(offset))  # type: ignore[arg-type]
    return offsets
