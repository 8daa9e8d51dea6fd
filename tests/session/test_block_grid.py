"""Block means of an image region and masks carried between the block and image grids."""

from __future__ import annotations

import numpy as np
import pytest

from seganypet.evaluation.metrics import dice
from seganypet.session.block_grid import block_mean_volume, blocks_of, upsampled_mask
from seganypet.session.safety_net import BoxMask
from seganypet.volume import Volume


def _image() -> Volume:
    rng = np.random.default_rng(0)
    affine = np.diag([3.0, 2.0, 4.0, 1.0])
    affine[:3, 3] = (10.0, -5.0, 7.0)
    return Volume(rng.random((21, 18, 15)).astype(np.float32), affine)


def test_block_means_and_their_world_positions() -> None:
    image = _image()
    lo, hi = np.array([3, 2, 1]), np.array([12, 16, 9])  # an odd extent on the first axis
    blocks = block_mean_volume(image, (lo, hi))
    assert blocks.shape == (5, 7, 4)
    assert blocks.array[1, 2, 3] == pytest.approx(image.array[5:7, 6:8, 7:9].mean(), rel=1e-6)
    # block (1, 2, 3) sits at the centre of voxels lo + (2, 4, 6) and lo + (3, 5, 7)
    centre = (image.index_to_world(lo + [2, 4, 6]) + image.index_to_world(lo + [3, 5, 7])) / 2
    np.testing.assert_allclose(blocks.index_to_world((1, 2, 3)), centre)
    assert blocks.voxel_volume_ml == pytest.approx(8 * image.voxel_volume_ml)
    # the last block of the odd axis repeats the edge voxel
    assert blocks.array[4, 0, 0] == pytest.approx(image.array[11, 2:4, 1:3].mean(), rel=1e-6)


def test_masks_go_to_blocks_and_back() -> None:
    image = _image()
    lo = np.array([1, 0, 2])
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in image.shape], indexing="ij"), -1)
    ball = np.linalg.norm((idx - (10, 9, 8)) * np.abs(image.spacing), axis=-1) < 14.0
    mask = BoxMask.cropped(ball)
    blocks = blocks_of(mask, lo)
    # a block holds the ball when at least half of its 8 voxels do
    block_index = np.argwhere(blocks.array)[0] + blocks.lo
    start = lo + 2 * block_index
    assert ball[tuple(slice(int(a), int(a) + 2) for a in start)].mean() >= 0.5
    back = upsampled_mask(blocks, lo, image.shape).full(image.shape) > 0
    assert dice(back, ball) > 0.85
    assert abs(int(back.sum()) - int(ball.sum())) < 0.2 * ball.sum()
    assert upsampled_mask(blocks_of(BoxMask.cropped(np.zeros(image.shape, bool)), lo), lo,
                          image.shape).voxels == 0
