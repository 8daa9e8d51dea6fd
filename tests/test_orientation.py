"""seganypet.orientation: RAS reordering of arrays and indices on permuted, flipped grids."""

from __future__ import annotations

import numpy as np
import pytest

from seganypet import orientation
from seganypet.grid import Grid

AFFINES = {
    "ras": np.diag([2.0, 3.0, 4.0, 1.0]),
    "lps": np.diag([-2.0, -3.0, 4.0, 1.0]),
    "permuted_flipped": np.array([[0, 0, -3.0, 10], [-2.0, 0, 0, 5], [0, 4.0, 0, 1], [0, 0, 0, 1]]),
}


@pytest.mark.parametrize("name", sorted(AFFINES))
def test_indices_and_arrays_move_together(name: str) -> None:
    grid = Grid(AFFINES[name], (5, 6, 7))
    values = np.random.default_rng(0).random(grid.shape)
    ras = orientation.to_ras(grid, values)
    assert np.array_equal(orientation.from_ras(grid, ras), values)
    for index in [(0, 0, 0), (4, 5, 6), (1, 2, 3)]:
        r = orientation.ras_index(grid, index).astype(int)
        assert ras[tuple(r)] == values[index]
        assert tuple(orientation.scan_index(grid, r).astype(int)) == index
    # the RAS axes run towards right, anterior, superior: world x, y, z grow along them
    corner = grid.world_of(orientation.scan_index(grid, (0, 0, 0)))
    far = grid.world_of(orientation.scan_index(grid, np.array(ras.shape) - 1))
    assert np.all(far > corner)
    assert np.allclose(np.sort(orientation.ras_spacing(grid)), np.sort(grid.spacing))
