"""ModelConfig refuses wrong field types and ranges itself, naming the field (InputError)."""

from __future__ import annotations

import dataclasses

import pytest

from seganypet.errors import InputError
from seganypet.model.config import PRESETS, ModelConfig


@pytest.mark.parametrize(("field", "value"), [
    ("image_size", 0), ("image_size", -128), ("image_size", 12.5), ("image_size", True),
    ("patch_size", 0), ("encoder_heads", 0), ("decoder_heads", 0),
    ("decoder_attention_downsample", 0), ("upscale_stages", 0), ("window_size", -1),
    ("prompt_dim", "64"), ("mlp_ratio", float("inf")), ("mlp_ratio", 0.0),
    ("spacing_mm", (0.0, 3.0, 3.0)), ("spacing_mm", (float("nan"), 3.0, 3.0)),
    ("spacing_mm", ("3", 3.0, 3.0)), ("spacing_mm", "text"), ("spacing_mm", (3.0, 3.0)),
    ("spacing_mm", (True, 3.0, 3.0)), ("encoder_global_blocks", ("a",)),
    ("upstream_quirks", "yes"), ("intensity", 3), ("name", None),
])
def test_bad_field_is_named(field: str, value: object) -> None:
    data = PRESETS["tiny"].to_dict() | {field: value}
    with pytest.raises(InputError, match=f"{field} must be"):
        ModelConfig.from_dict(data)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_and_their_json_round_trip_pass(name: str) -> None:
    config = PRESETS[name]
    assert ModelConfig.from_dict(config.to_dict()) == config
    # 0 switches off the window and the skip stem: allowed
    assert dataclasses.replace(config, skip_channels=0).skip_channels == 0
