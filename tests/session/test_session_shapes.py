"""Boxes, scribbles and lassos through the Session with the shipped default model, on small
synthetic scenes (so the masks are real model output): each verb finds a hot sphere, a
negative scribble removes a leak, undo is bit-exact, malformed shapes are one clear error."""

from __future__ import annotations

import numpy as np
import pytest

from seganypet import Session, load_model
from seganypet.errors import InputError
from seganypet.volume import Volume

SHAPE = (49, 45, 53)
CENTRE = (24, 22, 26)


@pytest.fixture(scope="module")
def default_model():
    return load_model("default")


def _grid() -> tuple[Volume, np.ndarray]:
    affine = np.diag([4.0, 4.0, 3.0, 1.0])
    affine[:3, 3] = [-96.0, -88.0, -78.0]
    volume = Volume(np.zeros(SHAPE, np.float32), affine)
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in SHAPE], indexing="ij"), -1)
    return volume, volume.index_to_world(idx)


def ball(world: np.ndarray, volume: Volume, centre, radius_mm: float) -> np.ndarray:
    return np.linalg.norm(world - volume.index_to_world(centre), axis=-1) < radius_mm


@pytest.fixture(scope="module")
def sphere_scene() -> tuple[Volume, np.ndarray]:
    """Warm background (SUV 1), hot sphere (SUV 8, radius 15 mm) at CENTRE."""
    volume, world = _grid()
    sphere = ball(world, volume, CENTRE, 15.0)
    return volume.with_array((1.0 + 7.0 * sphere).astype(np.float32)), sphere


@pytest.fixture(scope="module")
def leak_scene() -> tuple[Volume, np.ndarray, np.ndarray]:
    """A target sphere joined by a hot bridge to a second hot sphere: a click leaks into it."""
    volume, world = _grid()
    target = ball(world, volume, (18, 22, 26), 15.0)
    other = ball(world, volume, (31, 22, 26), 12.0)
    c1, c2 = volume.index_to_world((18, 22, 26)), volume.index_to_world((31, 22, 26))
    bridge = ((np.abs(world[..., 1] - c1[1]) < 6) & (np.abs(world[..., 2] - c1[2]) < 6)
              & (world[..., 0] > c1[0]) & (world[..., 0] < c2[0]))
    scan = volume.with_array((1.0 + 7.0 * (target | other | bridge)).astype(np.float32))
    return scan, target, other


def session_on(model, scan: Volume) -> Session:
    session = Session(model)
    session.set_image(scan)
    return session


def held(mask: Volume, region: np.ndarray) -> float:
    return float((mask.array.astype(bool) & region).sum() / region.sum())


def sphere_box(sphere: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = np.argwhere(sphere)
    return idx.min(axis=0), idx.max(axis=0)


def test_box_around_sphere_holds_it(default_model, sphere_scene) -> None:
    scan, sphere = sphere_scene
    lo, hi = sphere_box(sphere)
    mask = session_on(default_model, scan).add_box(lo - 1, hi + 1)
    assert held(mask, sphere) >= 0.9
    outside = np.ones(SHAPE, bool)
    outside[lo[0] - 1:hi[0] + 2, lo[1] - 1:hi[1] + 2, lo[2] - 1:hi[2] + 2] = False
    assert not mask.array[outside].any(), "a positive 3D box bounds the object"


def test_2d_box_on_central_slice_holds_sphere(default_model, sphere_scene) -> None:
    scan, sphere = sphere_scene
    lo, hi = sphere_box(sphere[:, :, CENTRE[2]][:, :, None])
    k = CENTRE[2]
    mask = session_on(default_model, scan).add_box((lo[0], lo[1], k), (hi[0], hi[1], k))
    assert held(mask, sphere) >= 0.9


def test_scribble_inside_sphere_holds_it(default_model, sphere_scene) -> None:
    scan, sphere = sphere_scene
    i, j, k = CENTRE
    mask = session_on(default_model, scan).add_scribble([(i - 2, j, k), (i + 2, j + 1, k)])
    assert held(mask, sphere) >= 0.9
    assert mask.array.sum() <= 2.0 * sphere.sum(), "the scribble must not flood the background"


def test_lasso_on_central_slice_holds_sphere(default_model, sphere_scene) -> None:
    scan, sphere = sphere_scene
    i, j, k = CENTRE
    polygon = [(i + 3 * np.cos(a), j + 3 * np.sin(a), k)
               for a in np.linspace(0, 2 * np.pi, 12, endpoint=False)]
    session = session_on(default_model, scan)
    mask = session.add_lasso(polygon)
    assert held(mask, sphere) >= 0.9
    # the filled polygon is part of the object, whatever the model said
    assert mask.array[i - 2:i + 3, j - 2:j + 3, k].all()


def test_negative_scribble_removes_a_leak(default_model, leak_scene) -> None:
    scan, target, other = leak_scene
    session = session_on(default_model, scan)
    first = session.add_point((18, 22, 26))
    assert held(first, other) > 0.5, "the scene must leak, or the test proves nothing"
    mask = session.add_scribble([(31, 17, 26), (31, 27, 26)], positive=False)
    assert held(mask, other) < 0.1
    assert held(mask, target) >= 0.7


@pytest.mark.parametrize("verb", ["box", "scribble", "lasso", "negative_scribble"])
def test_each_verb_is_one_undo_step_bit_for_bit(default_model, leak_scene, verb) -> None:
    scan, _, _ = leak_scene
    session = session_on(default_model, scan)
    session.add_point((18, 22, 26))
    before = session.mask.array.copy()
    logits = {k: t.logits.copy() for k, t in session.current.tiles.items()}
    clicks = list(session.clicks)
    draw = {
        "box": lambda: session.add_box((10, 14, 20), (26, 30, 32)),
        "scribble": lambda: session.add_scribble([(16, 20, 26), (20, 24, 26), (21, 26, 27)]),
        "lasso": lambda: session.add_lasso([(14, 18, 26), (22, 18, 26), (22, 26, 26)]),
        "negative_scribble": lambda: session.add_scribble([(31, 17, 26), (31, 27, 26)], False),
    }[verb]
    after = draw().array.copy()
    assert not np.array_equal(after, before) or verb == "lasso"
    session.undo()
    assert np.array_equal(session.mask.array, before)
    assert session.clicks == clicks and session.current.shapes == []
    assert set(session.current.tiles) == set(logits)
    for key, value in logits.items():
        assert np.array_equal(session.current.tiles[key].logits, value)


def test_world_box_equals_voxel_box(default_model, sphere_scene) -> None:
    scan, sphere = sphere_scene
    lo, hi = sphere_box(sphere)
    voxel = session_on(default_model, scan).add_box(lo - 1, hi + 1).array
    world = session_on(default_model, scan).add_box(
        scan.index_to_world(lo - 1), scan.index_to_world(hi + 1), world=True).array
    assert np.array_equal(voxel, world)


@pytest.mark.parametrize(("draw", "message"), [
    (lambda s: s.add_scribble([]), "empty"),
    (lambda s: s.add_scribble(np.zeros((0, 3))), "empty"),
    (lambda s: s.add_lasso([(10, 10, 10), (14, 10, 12), (12, 15, 14)]), "one slice"),
    (lambda s: s.add_box((20, 20, 20), (10, 30, 30)), "lo"),
    (lambda s: s.add_box((0, 0, 0), (60, 10, 10)), "outside the image"),
    (lambda s: s.add_scribble([(10, 10, 10), (10, 10, -3)]), "outside the image"),
    (lambda s: s.add_lasso([(1, 1, 5), (1, 2, 5)]), "at least 3"),
    (lambda s: s.add_scribble([(1, 2)]), "(N, 3)"),
    (lambda s: s.add_scribble([(1, 2, float("nan"))]), "non-finite"),
    (lambda s: s.add_box((10, 10, 10), (12, 12, 12), positive=False), "negative box"),
])
def test_malformed_shapes_are_one_clear_error(default_model, sphere_scene, draw, message) -> None:
    scan, _ = sphere_scene
    session = session_on(default_model, scan)
    with pytest.raises(InputError) as info:
        draw(session)
    text = str(info.value)
    assert message in text and "\n" not in text
    with pytest.raises(InputError, match="nothing to undo"):
        session.undo()  # a refused shape leaves no undo step behind
