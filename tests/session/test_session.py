"""Session behaviour with the real model code (tiny preset, random weights).

Random weights give arbitrary masks, so these tests check the mechanics that do not depend
on accuracy (geometry, undo, multi-object labels, errors); the sliding-window extension and
the candidate choice use tiny models made to give known logits (``constant_model``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from seganypet.errors import InputError
from seganypet.model import build_model
from seganypet.session import Session
from seganypet.session.state import PackedMask
from seganypet.volume import Volume


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return build_model("tiny")


def phantom(affine: np.ndarray, shape=(48, 44, 40)) -> Volume:
    rng = np.random.default_rng(3)
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1)
    dist = np.linalg.norm(idx - np.array(shape) / 2, axis=-1)
    return Volume((1.0 + 6.0 * (dist < 6) + 0.2 * rng.random(shape)).astype(np.float32), affine)


def lps_aniso() -> np.ndarray:
    affine = np.diag([-3.0, -2.5, 4.0, 1.0])
    affine[:3, 3] = [60.0, 50.0, -80.0]
    return affine


def test_first_patch_is_centred_on_click_and_mask_on_image_grid(tiny_model) -> None:
    vol = phantom(lps_aniso())
    session = Session(tiny_model)
    session.set_image(vol)
    click = (20, 25, 18)
    mask = session.add_point(click)
    grid = session.current.tiles[(0, 0, 0)].grid
    assert np.allclose(grid.center_world, vol.index_to_world(click))
    assert grid.spacing == pytest.approx((tiny_model.config.spacing_mm[0],) * 3)
    assert mask.shape == vol.shape and np.array_equal(mask.affine, vol.affine)
    assert mask.array.dtype == np.uint8 and set(np.unique(mask.array)) <= {0, 1}


def test_undo_restores_bit_for_bit_and_reset(tiny_model) -> None:
    session = Session(tiny_model)
    session.set_image(phantom(np.eye(4)))
    session.add_point((24, 22, 20))
    before = session.mask.array.copy()
    tiles_before = {k: t.logits.copy() for k, t in session.current.tiles.items()}
    session.add_point((26, 22, 20), positive=False)
    session.undo()
    assert np.array_equal(session.mask.array, before)
    for key, logits in tiles_before.items():
        assert np.array_equal(session.current.tiles[key].logits, logits)
    session.reset()
    assert session.mask.array.sum() == 0
    session.undo()
    assert np.array_equal(session.mask.array, before)


def test_second_object_never_overwrites_first(tiny_model) -> None:
    session = Session(tiny_model)
    session.set_image(phantom(np.eye(4)))
    session.add_point((24, 22, 20))
    first = session.mask.array.copy()
    label = session.new_object("second")
    assert label == 2
    session.add_point((10, 10, 10))
    labels = session.label_map.array
    assert np.array_equal(labels == 1, first == 1)
    assert np.all(labels[(session.mask.array == 1) & (first == 0)] == 2)
    assert session.label_names == {1: "object_1", 2: "second"}
    session.undo()  # the click of object 2
    session.undo()  # new_object
    assert list(session.label_names) == [1]


def test_select_object_edits_an_earlier_object_and_undo_follows_it(tiny_model) -> None:
    session = Session(tiny_model)
    session.set_image(phantom(np.eye(4)))
    session.add_point((24, 22, 20))
    first = session.mask.array.copy()
    session.new_object("second")
    session.add_point((10, 10, 10))
    second = session.mask.array.copy()
    session.select_object(1)
    assert session.active_label == 1 and np.array_equal(session.mask.array, first)
    session.add_point((30, 22, 20), positive=False)
    assert session.current.name == "object_1" and len(session.current.clicks) == 2
    session.select_object(2)
    assert np.array_equal(session.mask.array, second)  # object 2 untouched by the edit
    session.undo()  # the negative click of object 1: focus and mask back
    assert session.active_label == 1 and np.array_equal(session.mask.array, first)
    for bad in (0, 3, 1.0, True, "1"):
        with pytest.raises(InputError):
            session.select_object(bad)
    assert session.active_label == 1


def constant_model(sign: float) -> torch.nn.Module:
    """The tiny model made to answer ``sign`` everywhere (a fixture with a known answer): the
    last upscaling stage outputs GELU(1) on every voxel, every hypernetwork outputs ``sign``
    per channel, and the image-dependent skip path is removed, so every logit has ``sign``."""
    model = build_model("tiny")
    decoder = model.mask_decoder
    with torch.no_grad():
        last = [m for m in decoder.output_upscaling if isinstance(m, torch.nn.ConvTranspose3d)][-1]
        last.weight.zero_()
        last.bias.fill_(1.0)
        for mlp in decoder.output_hypernetworks_mlps:
            mlp.layers[-1].weight.zero_()
            mlp.layers[-1].bias.fill_(sign)
    model.image_encoder.skip_stem = None
    return model


def test_sliding_window_extends_beyond_first_patch() -> None:
    """A mask that reaches the patch border pulls in neighbouring patches at 50 % overlap,
    until ``max_tiles``; a mask that touches nothing adds none."""
    vol = phantom(np.diag([4.0, 4.0, 4.0, 1.0]), shape=(64, 40, 40))  # 256 mm > one 128 mm patch
    session = Session(constant_model(+1.0), max_tiles=8, keep_clicked_components=False,
                      safety_net=False)
    session.set_image(vol)
    session.add_point((32, 20, 20))
    tiles = session.current.tiles
    assert len(tiles) == 8 and all(abs(v) <= 2 for key in tiles for v in key)
    first = tiles[(0, 0, 0)].grid
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in vol.shape], indexing="ij"), -1)
    covered = first.contains_world(vol.index_to_world(idx))
    assert not covered.all() and session.mask.array[~covered].any()
    empty = Session(constant_model(-1.0), max_tiles=8, safety_net=False)
    empty.set_image(vol)
    assert not empty.add_point((32, 20, 20)).array.any() and len(empty.current.tiles) == 1


def candidate_model() -> torch.nn.Module:
    """Known first-click candidates: candidate 0 is background everywhere with the best
    predicted IoU (0.9), candidates 1 and 2 are foreground everywhere (0.5, 0.1)."""
    model = constant_model(+1.0)
    decoder = model.mask_decoder
    decoder.mask_quality_head = None
    with torch.no_grad():
        decoder.output_hypernetworks_mlps[1].layers[-1].bias.fill_(-1.0)  # token 1 = candidate 0
        head = decoder.iou_prediction_head.layers[-1]
        head.weight.zero_()
        head.bias.copy_(torch.tensor([0.0, 0.9, 0.5, 0.1]))
    return model


def test_candidates_and_selection() -> None:
    session = Session(candidate_model(), multimask=True, keep_clicked_components=False,
                      safety_net=False)
    session.set_image(phantom(np.eye(4)))
    session.add_point((24, 22, 20))
    assert session.candidate_ious == pytest.approx([0.9, 0.5, 0.1])
    # The click is foreground: the best score among the candidates containing it, not 0.
    assert session.current.chosen_candidate == 1 and session.mask.array.all()
    session.select_candidate(0)
    assert np.array_equal(session.current.tiles[(0, 0, 0)].logits,
                          session.current.tiles[(0, 0, 0)].candidates[0])
    assert not session.mask.array.any()
    with pytest.raises(InputError):
        session.select_candidate(7)


def test_world_click_equals_index_click(tiny_model) -> None:
    vol = phantom(lps_aniso())
    a, b = Session(tiny_model), Session(tiny_model)
    a.set_image(vol)
    b.set_image(vol)
    a.add_point((20, 21, 19))
    b.add_point_world(vol.index_to_world((20, 21, 19)))
    assert np.array_equal(a.mask.array, b.mask.array)


def test_clear_errors(tiny_model) -> None:
    session = Session(tiny_model)
    with pytest.raises(InputError, match="set_image"):
        session.add_point((1, 1, 1))
    session.set_image(phantom(np.eye(4)))
    with pytest.raises(InputError, match="outside the image"):
        session.add_point((100, 1, 1))
    with pytest.raises(InputError, match="three"):
        session.add_point((1, 1))
    with pytest.raises(InputError, match="nothing to undo"):
        session.undo()


def test_add_mask_prompts_a_patch_at_the_mask(tiny_model) -> None:
    vol = phantom(np.eye(4))
    prompt = np.zeros(vol.shape, bool)
    prompt[20:28, 18:26, 16:24] = True
    session = Session(tiny_model)
    session.set_image(vol)
    mask = session.add_mask(vol.with_array(prompt.astype(np.uint8)))
    tile = session.current.tiles[(0, 0, 0)]
    # The patch is centred on the prompt mask's deepest voxel (first of the ties in C order).
    assert np.allclose(tile.grid.center_world, vol.index_to_world((23, 21, 19)))
    assert tile.logits is not None and mask.shape == vol.shape
    session.add_point((24, 22, 20))  # clicks refine the mask-prompted object
    session.undo()
    assert np.array_equal(session.mask.array, mask.array)
    with pytest.raises(InputError, match="empty"):
        session.add_mask(np.zeros(vol.shape, bool))
    with pytest.raises(InputError, match="shape"):
        session.add_mask(np.ones((3, 3, 3), bool))


def test_refused_candidate_index_leaves_the_state_unchanged() -> None:
    session = Session(candidate_model(), multimask=True, keep_clicked_components=False,
                      safety_net=False)
    session.set_image(phantom(np.eye(4)))
    session.add_point((24, 22, 20))
    before, history = session.mask.array.copy(), len(session._history)
    for bad in (1.5, True, "1", 3, -1):
        with pytest.raises(InputError, match="candidate"):
            session.select_candidate(bad)  # type: ignore[arg-type]
    assert len(session._history) == history and session.current.chosen_candidate == 1
    assert np.array_equal(session.mask.array, before)
    assert not session.select_candidate(np.int64(0)).array.any()  # numpy integers are fine


def reachable_array_bytes(root: object) -> int:
    """nbytes of the distinct arrays reachable from ``root`` (views counted once, by owner)."""
    owners: dict[int, int] = {}
    stack = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            while isinstance(item.base, np.ndarray):
                item = item.base
            owners[id(item)] = item.nbytes
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif hasattr(item, "__dataclass_fields__"):
            stack.extend(getattr(item, name) for name in item.__dataclass_fields__)
    return sum(owners.values())


@pytest.mark.slow
def test_undo_memory_follows_what_changed_and_undo_stays_exact() -> None:
    """200 clicks on a 96^3 scan: the undo history holds what each click changed (the packed
    mask box, the re-decoded tile's logits), far below one full-mask copy per click; undoing
    all 200 gives back every earlier mask bit-for-bit."""
    vol = phantom(np.diag([3.0, 3.0, 3.0, 1.0]), shape=(96, 96, 96))
    session = Session(constant_model(+1.0), max_tiles=1)  # mask = the first patch (~9 %)
    session.set_image(vol)
    rng = np.random.default_rng(0)
    centre = np.array(vol.shape) / 2
    masks = []
    for n in range(200):
        session.add_point(tuple(centre + rng.integers(-8, 9, 3)), positive=n % 3 != 2)
        masks.append(hashlib.sha1(session.mask.array.tobytes()).hexdigest())
    full_copies = 200 * session.mask.array.nbytes  # what one deep copy per click held
    undo_bytes = reachable_array_bytes(session._history)
    assert 0 < undo_bytes < 0.1 * full_copies, (undo_bytes, full_copies)
    for expected in reversed(masks[:-1]):
        session.undo()
        assert hashlib.sha1(session.mask.array.tobytes()).hexdigest() == expected
    session.undo()
    assert not session.mask.array.any() and not session.current.clicks


def test_state_arrays_are_read_only(tiny_model) -> None:
    """Snapshots share the state's arrays, so writing into them in place is refused."""
    session = Session(tiny_model)
    session.set_image(phantom(np.eye(4)))
    session.add_point((24, 22, 20))
    tile = session.current.tiles[(0, 0, 0)]
    for array in (session.current.mask, tile.logits, session.mask.array):
        with pytest.raises(ValueError, match="read-only"):
            array[(0,) * array.ndim] = 1


@pytest.mark.parametrize("values", [np.zeros((5, 6, 7), np.uint8), np.eye(7, dtype=bool)[None],
                                    np.arange(210, dtype=np.uint16).reshape(5, 6, 7) % 4])
def test_packed_mask_round_trip_is_exact(values: np.ndarray) -> None:
    mask = np.zeros((9, 10, 11), values.dtype)
    mask[2:2 + values.shape[0], 1:1 + values.shape[1], 3:3 + values.shape[2]] = values
    restored = PackedMask.of(mask).unpack()
    assert restored.dtype == mask.dtype and np.array_equal(restored, mask)
