"""Shared fixtures. Real data lives in ../shared/data beside the repository; tests that need
it skip cleanly when it is absent (a user's clone has no ../shared)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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
