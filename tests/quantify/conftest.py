"""Synthetic phantoms for the quantification tests, built from numpy by hand."""

from __future__ import annotations

import numpy as np
import pytest

from seganypet.volume import Volume


def centre_distances_mm(shape: tuple[int, int, int], affine: np.ndarray,
                        centre: np.ndarray) -> np.ndarray:
    """``(I, J, K)`` distances (mm) from every voxel centre to the fractional index ``centre``,
    computed directly from the affine (independent of the package)."""
    grid = np.stack(np.indices(shape), axis=-1).astype(np.float64)  # (I, J, K, 3)
    return np.linalg.norm((grid - centre) @ affine[:3, :3].T, axis=-1)


@pytest.fixture
def make_volume():
    """``make_volume(array, spacing)`` -> Volume with a diagonal affine."""

    def make(array: np.ndarray, spacing: tuple[float, float, float]) -> Volume:
        affine = np.diag([*spacing, 1.0])
        affine[:3, 3] = (-10.0, 5.0, 20.0)  # a non-zero origin, which must not matter
        return Volume(array, affine, unit="SUVbw")

    return make


@pytest.fixture
def distances():
    return centre_distances_mm
