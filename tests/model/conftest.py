"""Fixtures for the model tests: the golden reference weights (spec section 2)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch


def golden_state_dict(keys_json: Path) -> dict[str, torch.Tensor]:
    """Every entry of the key/shape JSON, filled by the spec's pure function of (key, shape, 0)."""
    shapes: dict[str, list[int]] = json.loads(keys_json.read_text())
    state: dict[str, torch.Tensor] = {}
    for key, shape in shapes.items():
        seed = zlib.crc32(f"0:{key}".encode())
        z = np.random.RandomState(seed).standard_normal(shape).astype(np.float32)
        if key.endswith("positional_encoding_gaussian_matrix"):
            value = z
        elif "pos_embed" in key or "rel_pos" in key:
            value = 0.05 * z
        elif len(shape) == 1:
            value = 1 + 0.1 * z if key.endswith(".weight") else 0.05 * z
        else:
            value = z / np.sqrt(z.size / shape[0])
        state[key] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
    return state


@pytest.fixture(scope="session")
def sam_keys_json(reference_dir: Path) -> Path:
    path = reference_dir / "sam_med3d_state_dict_keys.json"
    if not path.is_file():
        pytest.skip("sam_med3d_state_dict_keys.json not present")
    return path



@pytest.fixture(scope="session")
def golden_weights(sam_keys_json: Path) -> dict[str, torch.Tensor]:
    """The 100.5 M deterministic golden weights (~3 s to generate)."""
    return golden_state_dict(sam_keys_json)
