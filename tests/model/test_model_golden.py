"""The sam-med3d preset reproduces the released SAM-Med3D / SegAnyPET model exactly.

Golden data (``../shared/reference``): outputs of the upstream ``vit_b_ori`` code for
deterministic weights and a fixed input (spec section 2). The full 128^3 forward makes this
the slowest model test (~5 s on 2 cores); it runs in CI whenever ``../shared`` is present.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from seganypet.model import PRESETS, SegAnyPET

TOL = {"atol": 1e-4, "rtol": 1e-4}


def test_state_dict_keys_and_shapes_equal_released_layout(sam_keys_json: Path) -> None:
    expected = {k: tuple(v) for k, v in json.loads(sam_keys_json.read_text()).items()}
    with torch.device("meta"):
        model = SegAnyPET(PRESETS["sam-med3d"])
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert list(got) == list(expected)  # same order as upstream, too
    assert got == expected
    assert sum(int(np.prod(s)) for s in got.values()) == 100_509_616


@pytest.mark.slow
def test_golden_case_a_matches_upstream(
    golden_weights: dict[str, torch.Tensor], reference_dir: Path
) -> None:
    golden = np.load(reference_dir / "sam_med3d_golden_case_a.npz")
    model = SegAnyPET(PRESETS["sam-med3d"]).eval()
    model.load_state_dict(golden_weights, strict=True)
    image = np.random.RandomState(2).standard_normal((1, 1, 128, 128, 128)).astype(np.float32)
    coords = torch.from_numpy(golden["point_coords"])
    labels = torch.from_numpy(golden["point_labels"])
    no_mask = torch.zeros(1, 1, 32, 32, 32)
    with torch.no_grad():
        embedding = model.encode(torch.from_numpy(image))
        sparse, _ = model.prompt_encoder(coords, labels, no_mask)
        dense_pe = model.prompt_encoder.dense_positional_encoding()
        logits, iou = model.decode(embedding, coords, labels, no_mask)
    got = {
        "image_embedding": embedding.tokens,
        "sparse": sparse,
        "dense_pe": dense_pe,
        "low_res_masks": logits,
        "iou_predictions": iou,
    }
    for name, value in got.items():
        np.testing.assert_allclose(value.numpy(), golden[name], err_msg=name, **TOL)
