"""The large-target rule: which neighbour patches a mask asks for (known masks)."""

from __future__ import annotations

import numpy as np

from seganypet.preprocess import PatchGrid
from seganypet.session.tiling import faces_to_extend, inside_volume_mask, tile_grid
from seganypet.volume import Volume


def test_tile_grid_steps_half_a_patch_along_the_patch_axes() -> None:
    anchor = PatchGrid(np.diag([2.0, 2.0, 2.0, 1.0]), 8)
    moved = tile_grid(anchor, (1, 0, -1))
    assert np.allclose(moved.world_of((0, 0, 0)), [8.0, 0.0, -8.0]) and moved.size == 8


def test_faces_extend_only_where_the_mask_touches_a_border_inside_the_scan() -> None:
    mask = np.zeros((6, 6, 6), bool)
    mask[4:, 2:4, 2:4] = True  # touches the +i face only
    everywhere = np.ones(mask.shape, bool)
    assert faces_to_extend(mask, everywhere) == [(1, 0, 0)]
    outside_plus_i = everywhere.copy()
    outside_plus_i[5:] = False  # that face lies outside the scan: nothing to add
    assert faces_to_extend(mask, outside_plus_i) == []
    assert faces_to_extend(np.zeros_like(mask), everywhere) == []


def test_inside_volume_mask_marks_low_res_centres_within_the_scan() -> None:
    volume = Volume(np.zeros((4, 4, 4), np.float32), np.eye(4))
    low = PatchGrid(np.eye(4), 8)  # covers indices 0..7 of a 4-voxel scan along each axis
    inside = inside_volume_mask(low, volume)
    assert inside[:4, :4, :4].all() and not inside[4:].any() and inside.sum() == 64


def test_touches_border_sees_any_outer_layer_only() -> None:
    from seganypet.session.tiling import touches_border

    mask = np.zeros((8, 8, 8), bool)
    mask[2:6, 2:6, 2:6] = True
    assert not touches_border(mask)
    for index in ((0, 4, 4), (4, 7, 4), (4, 4, 0)):
        edge = mask.copy()
        edge[index] = True
        assert touches_border(edge)
    assert not touches_border(np.zeros((8, 8, 8), bool))
