"""The drawn-prompt type: validation, world conversion and rasterisation on the voxel grid."""

from __future__ import annotations

import numpy as np
import pytest

from seganypet.errors import InputError
from seganypet.grid import Grid
from seganypet.shape import Shape, shape_region


def test_lasso_fills_its_polygon_on_its_slice() -> None:
    square = Shape.lasso([(2, 3, 5), (10, 3, 5), (10, 9, 5), (2, 9, 5)])
    assert square.slice_axis == 2
    region = shape_region(square, (20, 20, 20)).full((20, 20, 20))
    assert region[2:11, 3:10, 5].all() and region.sum() == 9 * 7
    triangle = shape_region(Shape.lasso([(5, 0, 0), (5, 10, 0), (5, 0, 10)]), (8, 12, 12))
    plane = triangle.full((8, 12, 12))[5]
    assert plane[1, 1] and not plane[9, 9] and triangle.crop.shape[0] == 1


def test_polyline_is_a_connected_stroke() -> None:
    stroke = shape_region(Shape.scribble([(0, 0, 0), (9, 4, 2)]), (12, 12, 12))
    voxels = np.argwhere(stroke.crop) + stroke.lo
    assert tuple(voxels.min(0)) == (0, 0, 0) and tuple(voxels.max(0)) == (9, 4, 2)
    order = voxels[np.argsort(voxels[:, 0])]
    assert np.abs(np.diff(order, axis=0)).max() <= 1  # no gaps along the stroke
    voxels_only = Shape.scribble([(1, 1, 1), (5, 5, 5)], joined=False)
    assert shape_region(voxels_only, (8, 8, 8)).crop.sum() == 2


def test_box_2d_and_3d() -> None:
    flat = Shape.box((1, 2, 4), (5, 6, 4))
    assert flat.slice_axis == 2
    assert shape_region(flat, (10, 10, 10)).crop.shape == (5, 5, 1)
    assert Shape.box((1, 2, 3), (5, 6, 7)).slice_axis is None


def test_world_shapes_convert_once_to_indices() -> None:
    affine = np.diag([-2.0, 3.0, 4.0, 1.0])
    affine[:3, 3] = [50.0, -20.0, 10.0]
    grid = Grid(affine, (30, 30, 30))
    lo, hi = np.array([2, 3, 4]), np.array([8, 9, 10])
    box = Shape.box(grid.world_of(lo), grid.world_of(hi), world=True).on_grid(grid)
    assert np.allclose(box.array, [lo, hi])  # flipped i axis: corners re-ordered
    lasso = Shape.lasso(grid.world_of([(1, 1, 7.1), (9, 1, 6.9), (5, 8, 7.0)]), world=True)
    assert lasso.on_grid(grid).slice_axis == 2


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Shape.scribble([]), "empty"),
    (lambda: Shape.lasso([(0, 0, 0), (1, 1, 1), (2, 3, 4)]), "one slice"),
    (lambda: Shape.box((3, 3, 3), (1, 5, 5)), "above hi"),
    (lambda: Shape("circle", ((0, 0, 0),)), "unknown shape"),
    (lambda: Shape.box((1, 1, 1), (2, 2, 2, 2)), "(N, 3)"),
    (lambda: shape_region(Shape.scribble([(0, 0, 0), (30, 1, 1)]), (20, 20, 20)), "outside"),
])
def test_malformed(make, message) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()
