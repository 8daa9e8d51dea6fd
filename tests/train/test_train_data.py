"""Training patches are cut exactly like inference patches and the click lands in the target."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seganypet.model import get_preset
from seganypet.preprocess import normalize_intensity, patch_grid_around, sample_volume
from seganypet.train.config import TrainConfig
from seganypet.train.data import LabeledCase, PatchSpec, choose_target, extract_patch, patch_spec
from seganypet.train.interaction import sample_clicks
from seganypet.train.phantom_cases import phantom_case_generator
from seganypet.train.sources import PatchSource, PhantomCases
from seganypet.volume import Volume


def _case() -> LabeledCase:
    shape = (40, 36, 30)
    affine = np.diag([2.0, 2.0, 2.5, 1.0])
    affine[:3, 3] = (-40.0, -30.0, 10.0)
    idx = np.indices(shape)
    ball = ((idx - np.array([20, 15, 12])[:, None, None, None]) ** 2).sum(0) <= 25
    lesion = ((idx - np.array([8, 25, 20])[:, None, None, None]) ** 2).sum(0) <= 4
    labels = np.where(ball, 3, 0) + np.where(lesion, 101, 0)
    suv = 1.0 + 4.0 * ball + 9.0 * lesion
    return LabeledCase("synthetic", Volume(suv.astype(np.float32), affine, "SUV"),
                       Volume(labels.astype(np.int32), affine, "label"),
                       {3: "liver", 101: "lesion_1"})


def test_centred_patch_matches_inference_preprocessing() -> None:
    case = _case()
    spec = PatchSpec(size=16, spacing_mm=3.0, intensity="log1p_suv", center_jitter_vox=0,
                     center_click_prob=1.0, flip=False)
    sample = extract_patch(case, 3, spec, np.random.default_rng(0))
    grid = patch_grid_around(case.image, (20, 15, 12), 16, 3.0)  # the ball's centre voxel
    expected_image = normalize_intensity(sample_volume(case.image, grid), "log1p_suv")
    assert np.array_equal(sample.image, expected_image)
    assert np.array_equal(sample.target, (sample_volume(case.label, grid, nearest=True) == 3))
    assert sample.first_click.tolist() == [8, 8, 8]  # the session's click voxel size // 2
    assert not sample.low_quality and sample.target_name == "liver"


def test_flips_and_jitter_keep_the_click_inside_the_target() -> None:
    case = _case()
    spec = PatchSpec(size=16, spacing_mm=3.0, intensity="log1p_suv", center_jitter_vox=3,
                     jitter_prob=1.0, center_click_prob=0.0, flip=True)
    rng = np.random.default_rng(1)
    for _ in range(20):
        sample = extract_patch(case, 101 if rng.random() < 0.5 else 3, spec, rng)
        assert sample.target[tuple(sample.first_click)] == 1
        # the image is bright exactly where the label is (the flips moved both together)
        assert sample.image[sample.target > 0].min() > np.log1p(1.0) + 0.1


def test_choose_target_respects_kinds_and_names() -> None:
    case = _case()
    rng = np.random.default_rng(0)
    assert {choose_target(case, "lesions", 0.5, rng) for _ in range(10)} == {101}
    assert {choose_target(case, "organs", 0.5, rng) for _ in range(10)} == {3}
    assert {choose_target(case, "all", 0.5, rng, names=("spleen",)) for _ in range(10)} == {101}
    picks = [choose_target(case, "all", 0.8, rng) for _ in range(400)]
    assert 0.7 < picks.count(101) / 400 < 0.9


def test_sample_clicks_follow_the_error_rule() -> None:
    target = torch.zeros(2, 1, 6, 6, 6)
    target[:, :, 1:4, 1:4, 1:4] = 1
    logits = torch.full((2, 1, 6, 6, 6), -1.0)
    logits[0, :, 1:4, 1:4, 1:3] = 1.0  # sample 0: only FN voxels (k == 3 slab)
    logits[1, :, :, :, :] = 1.0        # sample 1: everything predicted -> FP outside the cube
    logits[1, :, 1:4, 1:4, 1:4] = 1.0
    rngs = [np.random.default_rng(s) for s in (0, 1)]
    for _ in range(10):
        coords, labels = sample_clicks(logits, target, rngs)
        assert coords.shape == (2, 1, 3) and labels.tolist() == [[1], [0]]
        assert coords[0, 0, 2] == 3 and target[0, 0][tuple(coords[0, 0])].item() == 1
        assert target[1, 0][tuple(coords[1, 0])].item() == 0


def test_sample_clicks_fall_back_on_perfect_and_empty_predictions() -> None:
    target = torch.zeros(2, 1, 5, 5, 5)
    target[0, :, 1:3, 1:3, 1:3] = 1
    logits = torch.where(target > 0, 4.0, -4.0)  # sample 0 perfect; sample 1 empty and empty
    rngs = [np.random.default_rng(s) for s in (0, 1)]
    for _ in range(10):
        coords, labels = sample_clicks(logits, target, rngs)
        assert labels.tolist() == [[1], [0]]  # a target voxel; a (correct) negative anywhere
        assert target[0, 0][tuple(coords[0, 0])].item() == 1


def test_center_error_clicks_land_at_the_centre_of_the_largest_error() -> None:
    target = torch.zeros(1, 1, 12, 12, 12)
    target[:, :, 1:8, 1:8, 1:11] = 1  # 7 x 7 x 10; the prediction covers only its k < 4 part
    logits = torch.full((1, 1, 12, 12, 12), -1.0)
    logits[0, :, 1:8, 1:8, 1:4] = 1.0
    logits[0, :, 11, 11, 11] = 1.0  # a one-voxel FP elsewhere: the FN slab is larger
    rng = [np.random.default_rng(0)]
    coords, labels = sample_clicks(logits, target, rng, center_prob=1.0)
    # FN = the 7^3 cube i, j in 1..7, k in 4..10: its distance-transform centre is (4, 4, 7).
    assert coords[0, 0].tolist() == [4, 4, 7] and labels.tolist() == [[1]]
    picks = {tuple(sample_clicks(logits, target, rng, center_prob=0.0)[0][0, 0].tolist())
             for _ in range(20)}
    assert len(picks) > 5  # uniform mode spreads the clicks


def test_phantom_stream_is_a_pure_function_of_the_sample_number() -> None:
    cfg = TrainConfig(preset="tiny", phantom_voxel_mm=8.0, phantom_pool=2, phantom_reuse=2,
                      phantom_lq_fraction=0.5)
    spec = patch_spec(cfg, get_preset("tiny"))
    first = PatchSource(cfg, spec, None, PhantomCases(phantom_case_generator(cfg), cfg))
    second = PatchSource(cfg, spec, None, PhantomCases(phantom_case_generator(cfg), cfg))
    a = first.batch([5, 6])
    first.batch([0, 1, 2])  # other samples in between must not change sample 6
    b = second.batch([6])
    assert torch.equal(a.images[1], b.images[0]) and torch.equal(a.targets[1], b.targets[0])
    assert a.seeds[1] == b.seeds[0]
    assert a.images.shape == (2, 1, 32, 32, 32)
    for i in range(2):
        assert a.targets[i, 0][tuple(a.first_clicks[i])].item() == 1


@pytest.mark.parametrize("kinds", ["organs", "lesions"])
def test_target_kinds_on_phantoms(kinds: str) -> None:
    cfg = TrainConfig(preset="tiny", phantom_voxel_mm=8.0, phantom_pool=1, target_kinds=kinds)
    source = PatchSource(cfg, patch_spec(cfg, get_preset("tiny")), None,
                         PhantomCases(phantom_case_generator(cfg), cfg))
    names = source.batch(range(6)).target_names
    assert all(n.startswith("lesion") == (kinds == "lesions") for n in names)
