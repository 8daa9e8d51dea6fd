"""The deepest voxel of a mask: where a click "in the middle" of a region goes.

One rule for the simulated user's centre clicks, the session's anchor of a mask prompt (and
its pseudo-click inside a patch's mask prompt) and the training patches' first click.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from seganypet.errors import InputError

__all__ = ["distance_center"]


def distance_center(
    mask: np.ndarray, spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
) -> tuple[int, int, int]:
    """The voxel of ``mask`` farthest (in mm) from its boundary; the first one in C order on ties.

    The array border counts as boundary (the mask is padded with background), so a region cut by
    the field of view gets its centre inside the visible part. Only the bounding box is
    transformed, which keeps whole-body volumes cheap.

    Args:
        mask: ``(I, J, K)`` boolean (anything non-zero is inside).
        spacing: voxel size in mm along i, j, k.

    Raises:
        InputError: if ``mask`` is empty.
    """
    mask = np.asarray(mask, dtype=bool)
    boxes = ndimage.find_objects(mask.astype(np.uint8))
    if not boxes or boxes[0] is None:
        raise InputError("cannot place a click in an empty mask")
    box = boxes[0]
    crop = np.pad(mask[box], 1)
    distance = ndimage.distance_transform_edt(crop, sampling=spacing)
    local = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return tuple(int(l - 1 + s.start) for l, s in zip(local, box))  # type: ignore[return-value]
