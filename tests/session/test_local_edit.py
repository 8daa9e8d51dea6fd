"""A corrective click edits the shown mask near the click (seganypet.session.local_edit).

Synthetic masks stand in for the model's overreactions measured on the phantom splits: a
negative click on a thin leak that made the model halve the object, a positive click on a thin
missed rim that made it inflate the object, and a positive click far from a mask that caught
only a core, where the model's whole change is right and must be kept.
"""

from __future__ import annotations

import numpy as np
import pytest

from seganypet.session import local_edit
from seganypet.session.local_edit import EDIT_EXTENT

from .conftest import CLICK, ras_scene

SHAPE = (60, 60, 60)
SPACING = (2.0, 2.0, 2.0)
CENTRE = np.array([30, 30, 30])


def edit_near_click(shown, decoded, click, positive, spacing, anchors=()):
    """The rule's result on the whole grid (uint8), or None."""
    edit = local_edit.edit_near_click(shown, decoded, click, positive, spacing, anchors)
    return None if edit is None else edit.full(shown.shape)


def ball(radius_vox: float, centre: np.ndarray = CENTRE) -> np.ndarray:
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in SHAPE], indexing="ij"), -1)
    return np.linalg.norm(idx - centre, axis=-1) <= radius_vox


def test_negative_click_on_a_thin_leak_removes_the_leak_and_keeps_the_object() -> None:
    organ = ball(12)
    leak = np.zeros(SHAPE, bool)
    leak[41:48, 27:34, 28:32] = True  # a 4-voxel-thick lobe beyond the organ's +i pole
    shown = organ | leak
    before = shown.copy()
    # The model obeys the click but also drops the organ's whole +i half.
    decoded = organ & (np.arange(SHAPE[0])[:, None, None] < 30)
    click = (45, 30, 30)
    edited = edit_near_click(shown, decoded, click, False, SPACING)
    assert edited is not None and edited.dtype == np.uint8
    edited = edited.astype(bool)
    assert not edited[click]
    # Depth of the click inside the shown mask is 2 voxels (4 mm): the edit reaches 12 mm.
    reach = EDIT_EXTENT * 4.0
    idx = np.argwhere(edited != shown)
    assert np.all(np.linalg.norm((idx - click) * SPACING, axis=1) <= reach + 1e-9)
    # The organ's far side, which the model dropped, is kept.
    far = organ & (np.arange(SHAPE[0])[:, None, None] < 38)
    assert edited[far].all()
    assert (edited & leak).sum() < 0.5 * leak.sum()
    assert np.array_equal(shown, before)  # inputs are never written


def test_positive_click_on_a_thin_rim_adds_only_near_the_click() -> None:
    shown = ball(8)
    decoded = ball(14)  # the model inflates everywhere
    click = (39, 30, 30)  # one voxel outside the shown mask: distance 2 mm
    edited = edit_near_click(shown, decoded, click, True, SPACING).astype(bool)
    added = edited & ~shown
    assert added[click]
    idx = np.argwhere(added)
    assert np.all(np.linalg.norm((idx - click) * SPACING, axis=1) <= EDIT_EXTENT * 2.0 + 1e-9)
    assert added.sum() < 0.05 * (decoded & ~shown).sum()


def test_positive_click_far_from_a_core_keeps_the_models_whole_change() -> None:
    shown = ball(2)
    decoded = ball(10)
    click = (39, 30, 30)  # 7 voxels (14 mm) from the core: the edit reaches 42 mm
    edited = edit_near_click(shown, decoded, click, True, SPACING).astype(bool)
    assert np.array_equal(edited, decoded)


def test_change_not_connected_to_the_click_is_dropped() -> None:
    shown = ball(2)
    second = ball(3, CENTRE + np.array([0, 0, 14]))
    decoded = ball(8) | second  # a detached blob appears 3 voxels beyond the new mask
    click = (30, 30, 37)  # 5 voxels from the core: the blob is within reach (30 mm)
    edited = edit_near_click(shown, decoded, click, True, SPACING).astype(bool)
    assert not (edited & second).any()
    assert edited[click]


@pytest.mark.parametrize("positive, click", [(False, (30, 30, 30)), (True, (30, 30, 30)),
                                             (True, (55, 55, 55))])
def test_rule_does_not_apply_when_the_click_is_not_obeyed_or_not_corrective(positive, click) -> None:
    shown = ball(8)
    decoded = ball(7)
    # a negative click the model ignored; a positive click already inside; a positive click
    # the model ignored
    assert edit_near_click(shown, decoded, click, positive, SPACING) is None


def test_anisotropic_spacing_sets_the_reach_in_mm() -> None:
    shown = ball(8)
    decoded = ball(14)
    click = (39, 30, 30)
    spacing = (2.0, 1.0, 4.0)
    added = edit_near_click(shown, decoded, click, True, spacing).astype(bool) & ~shown
    idx = np.argwhere(added)
    distance_mm = np.linalg.norm((idx - click) * np.asarray(spacing), axis=1)
    # distance to the shown mask is 2 mm along i
    assert distance_mm.max() <= EDIT_EXTENT * 2.0 + 1e-9
    assert np.ptp(idx[:, 1]) > np.ptp(idx[:, 2])  # reaches further along the finer axis


# ---------------------------------------------------------------- through the Session
@pytest.fixture(scope="module")
def sphere_session_masks():
    """Scan, sphere, negative click and masks of the shipped model on a 15 mm hot sphere: first click at its centre, a negative
    click 4 voxels (12 mm) from it near the sphere's edge, then a positive click on the other
    side; with and without the local edit."""
    from seganypet import Session, load_model

    model = load_model("default")
    scan, sphere = ras_scene()
    negative, third = (24, 22, 30), (24, 22, 22)
    out = {}
    for edit_on in (True, False):
        session = Session(model, local_edit=edit_on)
        session.set_image(scan)
        first = session.add_point(CLICK).array > 0
        second = session.add_point(negative, positive=False).array > 0
        last = session.add_point(third).array > 0
        session.undo()
        after_undo = session.mask.array > 0
        out[edit_on] = (first, second, last, after_undo)
    return scan, sphere, negative, out


def test_session_negative_click_removes_only_near_the_click(sphere_session_masks) -> None:
    from scipy import ndimage

    scan, _, negative, out = sphere_session_masks
    first, edited, _, _ = out[True]
    model_first, model_second, _, _ = out[False]
    assert np.array_equal(first, model_first)  # the first click is not touched
    assert first[negative] and not model_second[negative]  # a corrective click the model obeys
    assert not edited[negative]
    # Only removals the model made, and only within K x (depth of the click in the shown mask)
    removed = first & ~edited
    assert not (edited & ~first).any()
    assert not (removed & model_second).any()
    depth = ndimage.distance_transform_edt(np.pad(first, 1), sampling=scan.spacing)[
        tuple(np.asarray(negative) + 1)]
    idx = np.argwhere(removed)
    assert np.linalg.norm((idx - negative) * np.asarray(scan.spacing), axis=1).max() \
        <= EDIT_EXTENT * depth + 1e-6
    # The shipped model shrinks the whole sphere for this click; the edit keeps most of it.
    assert edited.sum() > 0.85 * first.sum()
    assert model_second.sum() < 0.6 * first.sum()


def test_session_next_prompt_follows_the_edited_mask(sphere_session_masks) -> None:
    from seganypet.evaluation.metrics import dice

    out = sphere_session_masks[3]
    _, edited, last, after_undo = out[True]
    model_last = out[False][2]
    assert np.array_equal(after_undo, edited)  # undo of the third click restores the edit
    # The third click starts from the mask the user saw (a positive click inside it is not
    # corrective, so its mask is the model's decode): with the edit's prompt it differs from
    # the decode that starts from the model's own second mask, and stays closer to the shown.
    assert not np.array_equal(last, model_last)
    assert dice(last, edited) > dice(model_last, edited)


@pytest.mark.parametrize("permuted", [False, True])
def test_prompt_after_edit_samples_only_where_it_can_matter(permuted: bool) -> None:
    """Equal to sampling the whole low-res grid: the shown mask (+-8) wherever a sample touches
    an overridden voxel, the model's logits elsewhere."""
    from seganypet.preprocess import patch_grid_around, sample_volume
    from seganypet.session.candidates import mask_box_volume
    from seganypet.session.local_edit import prompt_after_edit
    from seganypet.session.safety_net import BoxMask
    from seganypet.volume import Volume

    affine = np.diag([4.0, 3.0, 2.5, 1.0])
    if permuted:
        affine = affine[:, [1, 2, 0, 3]]
        affine[0, 0] = -affine[0, 0]
    volume = Volume(np.zeros(SHAPE, np.float32), affine)
    grid = patch_grid_around(volume, (30, 30, 30), 32, 3.0)
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(16, 16, 16)).astype(np.float32)
    shown_mask = ball(9)
    over = np.zeros(SHAPE, bool)
    over[36:40, 28:31, 30:33] = True
    shown, overridden = BoxMask.cropped(shown_mask), BoxMask.cropped(over)
    got = prompt_after_edit(volume, grid, logits, shown, overridden)
    low = grid.coarsened(16)
    touched = sample_volume(mask_box_volume(volume, overridden), low) > 0
    rendered = (2.0 * sample_volume(mask_box_volume(volume, shown), low) - 1.0) * 8.0
    assert 0 < touched.sum() < touched.size
    assert np.array_equal(got, np.where(touched, rendered, logits).astype(np.float32))


@pytest.mark.parametrize("seed", range(5))
def test_distances_match_the_distance_transform(seed: int) -> None:
    """The windowed nearest-voxel searches equal scipy's exact Euclidean distance transform
    (the box's outside counted as outside the mask)."""
    from scipy import ndimage

    from seganypet.session.local_edit import _depth_in_mask, _distance_to_mask

    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(20, 45, size=3))
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1)
    blobs = np.zeros(shape, bool)
    for _ in range(3):
        centre, radius = rng.uniform(0, shape), rng.uniform(3, 12)
        blobs |= np.linalg.norm(idx - centre, axis=-1) < radius
    spacing = tuple(float(v) for v in rng.uniform(0.8, 4.0, size=3))
    depth = ndimage.distance_transform_edt(np.pad(blobs, 1), sampling=spacing)[1:-1, 1:-1, 1:-1]
    gap = ndimage.distance_transform_edt(~blobs, sampling=spacing)
    for point in map(tuple, rng.integers(0, shape, size=(12, 3))):
        if blobs[point]:
            assert _depth_in_mask(blobs, point, spacing) == pytest.approx(depth[point], abs=1e-9)
        elif blobs.any():
            assert _distance_to_mask(blobs, point, spacing) == pytest.approx(gap[point], abs=1e-9)


def test_negative_click_in_the_bulk_applies_the_whole_removal() -> None:
    """A first mask that swallowed a neighbour: a negative click deep in the neighbour (as deep
    as the mask's deepest part) removes all of the model's removal, not just its near part."""
    from seganypet.session.local_edit import BULK_DEPTH

    lesion = ball(4, CENTRE + np.array([0, 0, -16]))
    organ = np.zeros(SHAPE, bool)
    organ[27:34, 27:34, 22:60] = True  # 7 voxels thick (depth up to 4), 38 long
    shown = organ | lesion
    decoded = lesion.copy()  # the model removes the organ
    click = (30, 30, 40)  # depth 4 voxels, as deep as the mask gets; reach 12 voxels < 18
    edited = edit_near_click(shown, decoded, click, False, SPACING).astype(bool)
    assert np.array_equal(edited, lesion)
    # the same removal clicked at the organ's face (depth 1 voxel) stays local
    assert 1 / 4 < BULK_DEPTH
    near_face = edit_near_click(shown, decoded, (27, 30, 40), False, SPACING).astype(bool)
    assert near_face.sum() > 0.8 * shown.sum()


@pytest.mark.parametrize("click", [(30, 30, 40), (29, 30, 40), (27, 30, 40)])
def test_anchors_only_shortcut_the_bulk_test(click) -> None:
    """Deep anchors (the object's positive clicks) give the same edit as the distance transform
    of the whole mask, for clicks in the bulk, half-way and at the face."""
    lesion = ball(7, CENTRE + np.array([0, 0, -20]))  # depth up to 7 voxels: deeper than the organ
    organ = np.zeros(SHAPE, bool)
    organ[27:34, 27:34, 18:60] = True
    shown = organ | lesion
    decoded = lesion.copy()
    plain = edit_near_click(shown, decoded, click, False, SPACING)
    for anchors in ([tuple(CENTRE + np.array([0, 0, -20]))], [(30, 30, 45)], [(0, 0, 0)]):
        assert np.array_equal(edit_near_click(shown, decoded, click, False, SPACING, anchors), plain)
