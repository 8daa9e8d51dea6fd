"""The one grid type and the one click type: conversions with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from seganypet.click import Click
from seganypet.errors import InputError
from seganypet.grid import Grid
from seganypet.preprocess import PatchGrid

OBLIQUE = np.array([[0.0, 0.0, 2.5, -30.0], [-3.0, 0.0, 0.0, 12.0], [0.0, 2.0, 0.5, 4.0],
                    [0.0, 0.0, 0.0, 1.0]])


def test_world_of_and_index_of_are_the_affine_and_its_inverse() -> None:
    grid = Grid(OBLIQUE, (5, 6, 7))
    assert np.allclose(grid.world_of((1, 0, 0)), [-30.0, 9.0, 4.0])  # first column + origin
    idx = np.random.default_rng(0).uniform(-1, 6, size=(10, 3))
    assert np.allclose(grid.index_of(grid.world_of(idx)), idx)
    assert grid.spacing == pytest.approx((3.0, 2.0, np.hypot(2.5, 0.5)))


def test_index_in_and_centres_in_compose_the_two_affines() -> None:
    scan = Grid(OBLIQUE, (5, 6, 7))
    patch = PatchGrid(np.diag([1.5, 1.5, 1.5, 1.0]), 4)
    assert np.allclose(patch.index_in(scan, (0, 0, 0)), scan.index_of((0.0, 0.0, 0.0)))
    centres = patch.centres_in(scan)  # (3, 4, 4, 4)
    idx = np.stack(np.meshgrid(*[np.arange(4)] * 3, indexing="ij"), -1)
    assert np.allclose(np.moveaxis(centres, 0, -1), scan.index_of(patch.world_of(idx)))


def test_axis_lines_are_index_in_bit_for_bit_on_world_axes_and_none_when_oblique() -> None:
    scan = Grid(np.array([[0.0, -2.0, 0.0, 50.0], [0.0, 0.0, 3.0, -7.0], [-2.5, 0.0, 0.0, 1.0],
                          [0.0, 0.0, 0.0, 1.0]]), (20, 30, 25))  # permuted, flipped
    patch = PatchGrid(np.diag([1.7, 1.7, 1.7, 1.0]), 8).coarsened(4)
    lo, hi = np.array([2, 5, 3]), np.array([11, 17, 9])
    lines = scan.axis_lines_in(patch, lo, hi)
    assert lines is not None and sorted(axis for axis, _ in lines) == [0, 1, 2]
    voxels = np.stack(np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi)], indexing="ij"), -1)
    exact = scan.index_in(patch, voxels.reshape(-1, 3)).reshape(voxels.shape)
    for d, (axis, values) in enumerate(lines):
        line = np.moveaxis(exact[..., axis], d, 0).reshape(len(values), -1)
        assert (line == values[:, None]).all()  # equal, not close: rounding decides cells
    assert Grid(OBLIQUE, (5, 6, 7)).axis_lines_in(patch, np.zeros(3), np.ones(3)) is None


def test_contains_includes_voxel_edges_and_sub_box_keeps_world_positions() -> None:
    grid = Grid(np.eye(4), (4, 4, 4))
    assert grid.contains_index(np.array([[-0.5, 0, 0], [3.5, 3.5, 3.5]])).all()
    assert not grid.contains_index(np.array([-0.51, 0, 0]))
    box = grid.sub_box(np.array([1, 2, 3]), np.array([3, 4, 4]))
    assert box.shape == (2, 2, 1) and np.allclose(box.world_of((0, 0, 0)), (1, 2, 3))


def test_a_click_is_an_index_or_world_millimetres_converted_once() -> None:
    grid = Grid(OBLIQUE, (5, 6, 7))
    world = tuple(grid.world_of((2.0, 3.0, 1.0)))
    click = Click.at_world(world, positive=False, object_name="liver")
    assert click.index is None and not click.positive
    on_grid = click.on_grid(grid)
    assert on_grid.index == pytest.approx((2.0, 3.0, 1.0)) and on_grid.object_name == "liver"
    assert on_grid.on_grid(grid) is on_grid
    assert Click((1, 2, 3)) == Click((1.0, 2.0, 3.0), True)
    with pytest.raises(InputError):
        Click()
    with pytest.raises(InputError):
        Click((1, 2, 3), True, (0.0, 0.0, 0.0))
    with pytest.raises(InputError):
        _ = click.point  # world click: no voxel index yet
