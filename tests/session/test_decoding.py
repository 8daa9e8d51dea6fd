"""The session's model calls: which points and mask prompt a patch gets (known geometry)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seganypet.click import Click
from seganypet.model import build_model
from seganypet.preprocess import PatchGrid
from seganypet.session.decoding import PROMPT_MASK_LOGIT, TileDecoder
from seganypet.session.state import ObjectState, TileState
from seganypet.volume import Volume


@pytest.fixture(scope="module")
def decoder() -> TileDecoder:
    return TileDecoder(build_model("tiny"), torch.device("cpu"), "fp32")


def scan() -> Volume:
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    return Volume(np.ones((20, 20, 20), np.float32), affine)


def test_clicks_become_patch_indices_and_outside_clicks_are_dropped(decoder) -> None:
    tile = TileState(PatchGrid(np.diag([4.0, 4.0, 4.0, 1.0]), 8))  # covers world -2..30 mm
    obj = ObjectState("o", clicks=[Click((4.0, 6.0, 8.0)), Click((19.0, 0.0, 0.0), False)])
    coords, labels = decoder._points(scan(), obj, tile)
    assert labels == [1] and np.allclose(coords[0], [2.0, 3.0, 4.0])  # world (8, 12, 16) mm


def test_pseudo_click_sits_at_the_deepest_prompted_cell(decoder) -> None:
    prompt = np.full((4, 4, 4), -1.0, np.float32)
    prompt[1:4, 1:4, 1:4] = 1.0  # cube touching the far border: its deepest cell is (2, 2, 2)
    grid = PatchGrid(np.eye(4), 8)
    point = decoder._pseudo_click(prompt, np.ones(prompt.shape, bool), grid)
    assert np.allclose(point, [4.5, 4.5, 4.5])  # low-res cell 2 of 4 -> fine index 2.5 * 2 - 0.5
    background = np.full(prompt.shape, -1.0, np.float32)
    assert decoder._pseudo_click(background, np.ones(prompt.shape, bool), grid) is None


def test_a_prompt_mask_becomes_confident_logits_on_the_low_res_grid(decoder) -> None:
    volume = scan()
    mask = np.zeros(volume.shape, bool)
    mask[:10] = True  # i < 10: world x < 19 mm
    obj = ObjectState("o", prompt_mask=mask)
    size = decoder.low_res_size
    tile = TileState(PatchGrid(np.eye(4), 2 * size))  # 1 mm voxels from world 0 mm
    prompt, informative = decoder._mask_prompt(volume, obj, tile, others=[])
    assert informative.all() and prompt.shape == (size,) * 3
    # inside the mask (x < 19 mm) +8, outside -8: the confident previous-mask prompt
    assert prompt[0] == pytest.approx(PROMPT_MASK_LOGIT) and prompt[-1] == pytest.approx(-8.0)
