"""Shared fixtures. Real data lives in ../shared/data beside the repository; tests that need
it skip cleanly when it is absent (a user's clone has no ../shared)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present beside the repository")
    return SHARED


@pytest.fixture(scope="session")
def sts001_dir(shared_dir: Path) -> Path:
    path = shared_dir / "data" / "sts001_wholebody_fdg_pet"
    if not path.is_dir():
        pytest.skip("STS_001 real PET data not present")
    return path


@pytest.fixture(scope="session")
def reference_dir(shared_dir: Path) -> Path:
    path = shared_dir / "reference"
    if not path.is_dir():
        pytest.skip("reference material not present")
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


# The golden reference weights of the released sam-med3d layout (spec section 2), shared by
# the model tests and the session test that runs them on a real scan.
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
