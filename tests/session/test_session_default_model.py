"""The shipped default model through the Session on one synthetic scene stored in several
voxel orders: a click on a known voxel of a hot sphere gives a mask that contains the
sphere and that voxel, is (nearly) symmetric about it, and is the same world-space mask
whatever the storage order (RAS, LPS, permuted and flipped). Accuracy on realistic data is
measured by the evaluation (README model card), not here."""

from __future__ import annotations

import numpy as np
import pytest

from seganypet import Session, load_model
from seganypet.evaluation.metrics import dice
from seganypet.preprocess import sample_volume
from seganypet.volume import Volume

from .conftest import CLICK, ras_scene


@pytest.fixture(scope="module")
def default_model():
    return load_model("default")


def restored(volume: Volume, perm: tuple[int, int, int], flips: tuple[int, ...]) -> Volume:
    """The same scene stored with axes permuted (new axis t = old axis perm[t]) and flipped."""
    array = np.flip(volume.array.transpose(perm), flips)
    new_to_old = np.zeros((4, 4))
    new_to_old[3, 3] = 1.0
    for t, old in enumerate(perm):
        if t in flips:
            new_to_old[old, t], new_to_old[old, 3] = -1.0, array.shape[t] - 1
        else:
            new_to_old[old, t] = 1.0
    return Volume(np.ascontiguousarray(array), volume.affine @ new_to_old, volume.unit)


STORAGE = {"ras": ((0, 1, 2), ()), "lps": ((0, 1, 2), (0, 1)), "permuted_flipped": ((2, 0, 1), (0, 2))}


def segment(model, scan: Volume, world_click: np.ndarray) -> np.ndarray:
    session = Session(model)
    session.set_image(scan)
    return session.add_point(np.rint(scan.world_to_index(world_click))).array > 0


def test_storage_order_gives_same_world_mask(default_model) -> None:
    base, _ = ras_scene()
    world_click = base.index_to_world(CLICK)
    world_masks = []
    for perm, flips in STORAGE.values():
        scan = restored(base, perm, flips)
        assert np.allclose(scan.index_to_world(np.rint(scan.world_to_index(world_click))), world_click)
        mask = segment(default_model, scan, world_click)
        world = np.round(scan.index_to_world(np.argwhere(mask)), 2)
        world_masks.append({tuple(v) for v in world})
    assert world_masks[0]
    for other in world_masks[1:]:
        assert len(other ^ world_masks[0]) <= 0.001 * len(world_masks[0])


def test_sphere_click_finds_the_sphere_and_model_input_symmetric(default_model) -> None:
    scan, sphere = ras_scene()
    session = Session(default_model)
    session.set_image(scan)
    mask = session.add_point(CLICK).array > 0
    assert mask[CLICK], "the clicked voxel must be in the mask"
    # A regression floor, not a target: the shipped model (stage 5) gives Dice 0.70 here (it
    # under-segments, 54 % of the sphere); stage 4 gave 0.49 by leaking to 3x the sphere, which
    # the earlier containment-only check (>= 90 % of the sphere inside the mask) let pass.
    score = dice(mask, sphere)
    assert score >= 0.6, f"one click on a plain hot sphere must find it (Dice {score:.2f})"
    # What the model sees is exactly symmetric about the click (the scene is), so nothing in
    # the pipeline shifts the object by a voxel or half a voxel; symmetric logits paste back
    # symmetrically (tests/test_postprocess.py). The model itself is not flip-equivariant.
    patch = sample_volume(scan, session.current.tiles[(0, 0, 0)].grid)
    for axis in range(3):
        assert np.allclose(patch, np.flip(patch, axis), atol=1e-5)
