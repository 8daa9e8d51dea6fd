"""Elastic deformation of training patches: the field is smooth, pinned at the click, moves
image and labels together, and leaves runs without it unchanged."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from seganypet.errors import InputError
from seganypet.train.config import TrainConfig
from seganypet.train.data import LabeledCase, PatchSpec, extract_patch
from seganypet.train.deformation import random_displacement, warp_patch
from seganypet.volume import Volume


def _ball_case() -> LabeledCase:
    shape = (48, 48, 48)
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    idx = np.indices(shape)
    ball = ((idx - 24) ** 2).sum(0) <= 12 ** 2
    suv = np.where(ball, 6.0, 1.0).astype(np.float32)
    return LabeledCase("ball", Volume(suv, affine, "SUV"),
                       Volume(ball.astype(np.int32) * 3, affine, "label"), {3: "liver"})


def test_a_constant_field_is_a_shift_and_zero_is_the_identity() -> None:
    image = np.random.default_rng(0).random((20, 20, 20)).astype(np.float32)
    shift = torch.zeros(20, 20, 20, 3)
    shift[..., 1] = 3.0  # output voxel (i, j, k) reads input (i, j + 3, k)
    moved, = warp_patch([image], shift, [False])
    np.testing.assert_allclose(moved[:, :-3], image[:, 3:], atol=1e-5)
    assert np.all(moved[:, -3:] == 0)  # read from outside the patch
    same, = warp_patch([image], torch.zeros(20, 20, 20, 3), [False])
    np.testing.assert_allclose(same, image, atol=1e-5)


def test_field_is_zero_at_the_anchor_and_smooth() -> None:
    anchor = np.array([10, 30, 21])
    field = random_displacement(np.random.default_rng(3), 40, 3.0, 5, anchor)
    assert field.shape == (40, 40, 40, 3)
    assert torch.all(field[10, 30, 21] == 0)
    assert field.abs().max() > 1.0  # it does move things
    # neighbouring voxels move almost alike: no tearing at voxel scale
    assert (field[1:] - field[:-1]).abs().max() < 1.0


def test_deformed_patches_keep_the_click_inside_and_image_and_label_together() -> None:
    case = _ball_case()
    spec = PatchSpec(size=32, spacing_mm=3.0, intensity="log1p_suv", center_jitter_vox=4,
                     jitter_prob=1.0, center_click_prob=0.0, flip=True, elastic_vox=3.0,
                     elastic_control_points=4, elastic_prob=1.0)
    plain = dataclasses.replace(spec, elastic_vox=0.0)
    changed = 0
    for n in range(8):
        sample = extract_patch(case, 3, spec, np.random.default_rng([5, n]))
        reference = extract_patch(case, 3, plain, np.random.default_rng([5, n]))
        assert sample.target[tuple(sample.first_click)] == 1
        assert np.array_equal(sample.first_click, reference.first_click)
        assert set(np.unique(sample.target)) <= {0.0, 1.0}
        # labels follow the image: hot voxels are the ball's, away from the blurred edge
        inside = sample.image[sample.target > 0]
        assert np.median(inside) > np.log1p(5.0)
        changed += int(not np.array_equal(sample.target, reference.target))
    assert changed >= 6


@pytest.mark.parametrize("bad", [{"elastic_mm": -1.0}, {"elastic_control_points": 1},
                                 {"elastic_prob": 1.5}])
def test_bad_elastic_options_are_refused(bad: dict) -> None:
    with pytest.raises(InputError, match="elastic"):
        TrainConfig(**bad)
