"""The click's territory against a hotter neighbour (a node beside the bladder)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from seganypet import Session, load_model
from seganypet.evaluation.metrics import dice
from seganypet.session.neighbours import clicked_territory
from seganypet.volume import Volume

SHAPE = (64, 64, 64)
SPACING = 3.0


def _distance(centre) -> np.ndarray:
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in SHAPE], indexing="ij"), -1)
    return np.linalg.norm((idx - np.asarray(centre)) * SPACING, axis=-1)


def node_beside_bladder(node_suv: float = 10.0) -> tuple[Volume, np.ndarray, np.ndarray]:
    """A 16 mm node (SUV ``node_suv``) touching a 50 mm bladder (SUV 40) in a background of 1,
    blurred by a 6.5 mm PSF, with mild noise."""
    bladder = _distance((32, 28, 32)) < 25.0
    node = _distance((32, 28 + 11, 32)) < 8.0  # centre 33 mm from the bladder's: they touch
    node &= ~bladder
    activity = 1.0 + 39.0 * bladder + (node_suv - 1.0) * node
    image = ndimage.gaussian_filter(activity, 6.5 / 2.3548 / SPACING)
    image += 0.05 * np.random.default_rng(0).standard_normal(SHAPE)
    return Volume(image.astype(np.float32), np.diag([SPACING] * 3 + [1.0])), node, bladder


def _box():
    return np.zeros(3, int), np.asarray(SHAPE)


def test_territory_keeps_the_node_and_leaves_the_bladder() -> None:
    image, node, bladder = node_beside_bladder()
    click = tuple(int(v) for v in np.argwhere(node).mean(axis=0).round())
    territory = clicked_territory(image, click, _box())
    assert territory is not None
    assert territory.inside[node].mean() > 0.8  # the PSF gives the bladder the contact rim
    assert territory.inside[bladder].mean() < 0.02
    assert 9.0 < territory.own_peak < 12.0


def test_no_neighbour_without_hotter_uptake_or_around_a_necrotic_centre() -> None:
    image, node, _ = node_beside_bladder()
    click = tuple(int(v) for v in np.argwhere(node).mean(axis=0).round())
    alone = image.with_array(np.where(_distance((32, 28, 32)) < 30.0, 1.0, image.array))
    assert clicked_territory(alone, click, _box()) is None
    # a hot rim (SUV 12) around a cold centre (SUV 2): the rim surrounds the click
    r = _distance((32, 32, 32))
    rim = ndimage.gaussian_filter(1.0 + 11.0 * ((r > 10) & (r < 20)) + 1.0 * (r <= 10), 1.0)
    rim_image = Volume(rim.astype(np.float32), np.diag([SPACING] * 3 + [1.0]))
    assert clicked_territory(rim_image, (32, 32, 32), _box()) is None


@pytest.fixture(scope="module")
def default_model():
    return load_model("default")


def test_session_shows_the_node_not_the_bladder(default_model) -> None:
    image, node, bladder = node_beside_bladder()
    click = tuple(int(v) for v in np.argwhere(node).mean(axis=0).round())
    session = Session(default_model)
    session.set_image(image)
    mask = session.add_point(click).array > 0
    assert (mask & bladder).sum() < 0.05 * mask.sum()
    assert dice(mask, node) > 0.6
    assert session.candidates[session.candidate].source == "territory"
    # the masks it replaced (node + bladder) stay reachable, and undo comes back
    larger = session.grow().array > 0
    assert larger.sum() > mask.sum()
    session.undo()
    np.testing.assert_array_equal(session.mask.array > 0, mask)


def test_cooler_part_of_one_tumour_is_a_pocket_not_a_structure() -> None:
    """A click in the cooler part of a heterogeneous tumour whose hotter part lies to one side:
    the 'neighbour' encloses the click's territory, so the clicked part fails the own-surface
    test and the shown mask is kept (v1 of the rule cut 10 of 20 real sarcomas there)."""
    from seganypet.session.territory_rule import OWN_SURFACE, clicked_part

    r = _distance((32, 32, 32))
    x = np.arange(SHAPE[0])[:, None, None] * np.ones(SHAPE)
    tumour = r < 30.0
    activity = 1.0 + tumour * (3.0 + 9.0 * np.clip((x - 26) / 12.0, 0.0, 1.0))  # SUV 4 -> 13
    image = Volume(ndimage.gaussian_filter(activity, 1.0).astype(np.float32),
                   np.diag([SPACING] * 3 + [1.0]))
    territory = clicked_territory(image, (26, 32, 32), _box())
    assert territory is not None  # the hot half is "hotter and to one side" ...
    part = clicked_part(image, (26, 32, 32), territory)
    assert part is None or territory.faces_own_side(part) < OWN_SURFACE  # ... but no structure


def test_territory_shares_and_own_side_step() -> None:
    from seganypet.session.safety_net import BoxMask

    image, node, bladder = node_beside_bladder()
    click = tuple(int(v) for v in np.argwhere(node).mean(axis=0).round())
    territory = clicked_territory(image, click, _box())
    both = BoxMask.cropped(node | bladder)
    assert territory.core_share(both) > 0.95 and territory.core_share(BoxMask.cropped(node)) < 0.05
    assert territory.share_outside(BoxMask.cropped(bladder)) > 0.95
    assert territory.faces_own_side(BoxMask.cropped(node)) > 0.6  # touches the bladder on one side
    # the node's edge against its own surroundings is sharp, against the bladder it is not
    assert territory.own_side_step(image, BoxMask.cropped(node)) > 3.0
    assert territory.own_side_step(image, BoxMask.cropped(np.zeros(SHAPE, bool))) == float("-inf")


def test_box_prompts_are_left_alone(default_model) -> None:
    image, node, _ = node_beside_bladder()
    lo = np.argwhere(node).min(axis=0)
    hi = np.argwhere(node).max(axis=0)
    session = Session(default_model)
    session.set_image(image)
    session.add_box(tuple(int(v) for v in lo), tuple(int(v) for v in hi))
    assert all(c.source != "territory" for c in session.candidates)
