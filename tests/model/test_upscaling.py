"""The decoder's upscaling as per-voxel matrix products equals the transposed convolutions."""

from __future__ import annotations

import torch

from seganypet.model.upscaling import (
    OutputUpscaling,
    UpscaledFeatures,
    block_order_to_grid,
    grid_to_block_order,
)


def _upscaling(stages: int) -> OutputUpscaling:
    torch.manual_seed(stages)
    upscaling = OutputUpscaling(24, tuple(12 >> i for i in range(stages)))
    with torch.no_grad():  # LayerNorm affine parameters away from (1, 0), so they count
        for module in upscaling.modules():
            if hasattr(module, "eps"):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    return upscaling


def test_rows_equal_the_transposed_convolutions() -> None:
    for stages in (1, 2, 3):
        upscaling = _upscaling(stages)
        tokens = torch.randn(2, 24, 3, 3, 3)
        expected = upscaling(tokens)  # (2, c, L, L, L) by ConvTranspose3d / LayerNorm3d / GELU
        rows = upscaling.rows(tokens.flatten(2).transpose(1, 2))
        size = 3 * 2**stages
        assert rows.shape == (2, size**3, expected.shape[1])
        on_grid = block_order_to_grid(rows.transpose(1, 2), 3, stages)
        torch.testing.assert_close(on_grid, expected, atol=1e-5, rtol=1e-5)
        # The orders are a permutation: the inverse brings the grid back to the rows.
        torch.testing.assert_close(grid_to_block_order(expected, 3, stages).transpose(1, 2), rows,
                                   atol=1e-5, rtol=1e-5)


def test_block_order_lists_each_voxels_children_together() -> None:
    # Grid 1, 1 stage: row 4a + 2b + c is the output voxel (a, b, c).
    rows = torch.arange(8.0).view(1, 1, 8)
    grid = block_order_to_grid(rows, 1, 1)[0, 0]
    assert grid[1, 0, 0] == 4 and grid[0, 1, 0] == 2 and grid[0, 0, 1] == 1 and grid[1, 1, 1] == 7
    # Two stages: the 8 children of the first stage-1 voxel are rows 0-7, the 2x2x2 corner.
    grid = block_order_to_grid(torch.arange(64.0).view(1, 1, 64), 1, 2)[0, 0]
    assert sorted(grid[:2, :2, :2].flatten().tolist()) == list(range(8))


def test_features_project_and_sum_as_the_voxelwise_sum_would() -> None:
    upscaling = _upscaling(2)
    tokens = torch.randn(1, 24, 2, 2, 2)
    skip = torch.randn(1, 6, 8, 8, 8)
    dense = upscaling(tokens) + skip  # (1, 6, 8, 8, 8): what the features mean
    features = UpscaledFeatures(upscaling.rows(tokens.flatten(2).transpose(1, 2)), skip, 2, 2)
    weights = torch.randn(1, 3, 6)
    expected = (weights @ dense.flatten(2)).view(1, 3, 8, 8, 8)
    torch.testing.assert_close(features.project(weights), expected, atol=1e-5, rtol=1e-5)
    voxel_weights = torch.rand(1, 3, 8, 8, 8)
    expected_sum = voxel_weights.flatten(2) @ dense.flatten(2).transpose(1, 2)
    torch.testing.assert_close(features.weighted_sum(voxel_weights), expected_sum,
                               atol=1e-4, rtol=1e-5)


def test_grid_to_block_order_inverts_the_permutes_exactly() -> None:
    for grid, stages in ((1, 1), (2, 2), (3, 3)):
        size = grid * 2**stages
        x = torch.randn(2, 3, size, size, size)
        rows = grid_to_block_order(x, grid, stages)
        assert rows.shape == (2, 3, size**3)
        assert torch.equal(block_order_to_grid(rows, grid, stages), x)


def test_layer_norm_3d_is_the_per_voxel_channel_norm_for_few_and_many_channels() -> None:
    from seganypet.model.blocks import LayerNorm3d

    for channels in (2, 4, 5, 16):  # <= 4: channels-first formula; > 4: F.layer_norm
        norm = LayerNorm3d(channels)
        with torch.no_grad():
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-1.0, 1.0)
        x = torch.randn(2, channels, 5, 4, 3) * 3 + 1
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)  # upstream: biased variance, eps 1e-6
        expected = (x - mean) / torch.sqrt(var + 1e-6) * norm.weight[:, None, None, None] \
            + norm.bias[:, None, None, None]
        torch.testing.assert_close(norm(x), expected, atol=1e-5, rtol=1e-5)
