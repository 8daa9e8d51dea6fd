"""Session.suggest() with the shipped default model: a reproducible suggestion inside the
image, an uncertainty map on the image grid, and no change to the session's state."""

from __future__ import annotations

import numpy as np
import pytest

from seganypet import Session, load_model
from seganypet.errors import InputError
from seganypet.volume import Volume


@pytest.fixture(scope="module")
def leaky_session() -> tuple[Session, np.ndarray]:
    """A hot sphere touching a second, fainter one: where the model hesitates."""
    affine = np.diag([4.0, 4.0, 3.0, 1.0])
    shape = (41, 41, 45)
    volume = Volume(np.zeros(shape, np.float32), affine)
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1)
    world = volume.index_to_world(idx)
    main = np.linalg.norm(world - volume.index_to_world((16, 20, 22)), axis=-1) < 14.0
    side = np.linalg.norm(world - volume.index_to_world((27, 20, 22)), axis=-1) < 10.0
    scan = volume.with_array((1.0 + 7.0 * main + 3.0 * (side & ~main)).astype(np.float32))
    session = Session(load_model("default"))
    session.set_image(scan)
    session.add_point((16, 20, 22))
    return session, main


def test_suggestion_is_reproducible_and_leaves_the_session_unchanged(leaky_session) -> None:
    session, _ = leaky_session
    mask = session.mask.array.copy()
    clicks = list(session.clicks)
    first = session.suggest()
    second = session.suggest()
    assert first.index == second.index and first.positive == second.positive
    assert np.array_equal(first.uncertainty.array, second.uncertainty.array)
    assert np.array_equal(session.mask.array, mask) and session.clicks == clicks
    session.undo()  # the only undo step is still the click
    with pytest.raises(InputError, match="nothing to undo"):
        session.undo()
    session.add_point((16, 20, 22))


def test_suggestion_fields(leaky_session) -> None:
    session, _ = leaky_session
    suggestion = session.suggest()
    scan_shape = session.mask.shape
    assert all(0 <= v < s for v, s in zip(suggestion.index, scan_shape))
    # positive means "probably missing": the voxel is outside the mask, and vice versa
    assert suggestion.positive == (not session.mask.array[suggestion.index])
    assert 0.0 <= suggestion.error_probability <= 1.0
    u = suggestion.uncertainty
    assert u.shape == scan_shape and np.array_equal(u.affine, session.mask.affine)
    assert u.array.dtype == np.float32 and 0.0 <= u.array.min() and u.array.max() <= 1.0
    assert u.array.max() > 0.5, "the model should hesitate somewhere near the faint sphere"
    assert suggestion.click.positive == suggestion.positive


def test_suggest_needs_a_prompt() -> None:
    session = Session(load_model("default"))
    session.set_image(Volume(np.ones((20, 20, 20), np.float32), np.eye(4)))
    with pytest.raises(InputError, match="nothing to suggest"):
        session.suggest()
