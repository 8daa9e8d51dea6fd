"""Checks that masks and label maps lie on the image grid, shared by every quantifier."""

from __future__ import annotations

import numpy as np

from seganypet.errors import InputError
from seganypet.volume import Volume

__all__ = ["check_connectivity", "labels_on_grid", "mask_on_grid"]


def _array_on_grid(image: Volume, other: Volume | np.ndarray, what: str) -> np.ndarray:
    if isinstance(other, Volume):
        if not image.same_grid(other):
            raise InputError(
                f"{what} grid (shape {other.shape}, spacing {np.round(other.spacing, 3).tolist()} "
                f"mm) does not match the image grid (shape {image.shape}, spacing "
                f"{np.round(image.spacing, 3).tolist()} mm); resample the {what} onto the image first"
            )
        return np.asarray(other.array)
    array = np.asarray(other)
    if array.shape != image.shape:
        raise InputError(f"{what} shape {array.shape} does not match the image shape {image.shape}")
    return array


def mask_on_grid(image: Volume, mask: Volume | np.ndarray) -> np.ndarray:
    """``mask`` as a boolean ``(I, J, K)`` array, after checking it shares the image grid.

    Raises:
        InputError: if the shape (or, for a Volume, the affine) differs from the image's.
    """
    return _array_on_grid(image, mask, "mask").astype(bool)


def labels_on_grid(image: Volume, labels: Volume | np.ndarray) -> np.ndarray:
    """``labels`` as a non-negative integer ``(I, J, K)`` array on the image grid.

    Raises:
        InputError: on a grid mismatch, non-integer values or negative labels.
    """
    array = _array_on_grid(image, labels, "label map")
    if not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.mod(array, 1) == 0):
            raise InputError("label map has non-integer values; expected integer label ids")
        array = array.astype(np.int64)
    if array.size and array.min() < 0:
        raise InputError("label map has negative values; expected label ids >= 0 (0 = background)")
    return array


def check_connectivity(connectivity: int) -> int:
    """``connectivity`` if it is a 3D neighbourhood cc3d knows (6, 18, 26), else InputError."""
    if connectivity not in (6, 18, 26):
        raise InputError(f"connectivity must be 6, 18 or 26, got {connectivity}")
    return connectivity
