"""CPCL pieces on hand-made tensors (paper Eqs. 2-6 and the ramp-up)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from seganypet.train import cpcl


def test_mean_prediction_is_voxelwise_mean() -> None:
    a = torch.tensor([[[0.0, 1.0, 0.5]]])
    b = torch.tensor([[[1.0, 1.0, 0.1]]])
    assert torch.allclose(cpcl.mean_prediction([a, b]), torch.tensor([[[0.5, 1.0, 0.3]]]))
    assert torch.allclose(cpcl.mean_prediction(torch.stack([a, b])), cpcl.mean_prediction([a, b]))


def test_entropy_of_known_probabilities() -> None:
    p = torch.tensor([0.5, 0.0, 1.0, 0.1, 0.9])
    h = cpcl.predictive_entropy(p)
    expected_01 = -(0.1 * math.log(0.1) + 0.9 * math.log(0.9))  # 0.32508 nats
    assert h[0].item() == pytest.approx(math.log(2.0), abs=1e-6)
    assert h[1].item() == pytest.approx(0.0, abs=1e-5)
    assert h[2].item() == pytest.approx(0.0, abs=1e-5)
    assert h[3].item() == pytest.approx(expected_01, abs=1e-6)
    assert h[4].item() == pytest.approx(expected_01, abs=1e-6)  # symmetric in p <-> 1-p


def test_rectification_flips_exactly_the_uncertain_voxels() -> None:
    labels = torch.tensor([[0, 1, 0, 1], [1, 1, 0, 0]])
    uncertainty = torch.tensor([[0.69, 0.69, 0.10, 0.20], [0.30, 0.31, 0.50, 0.30]])
    rectified = cpcl.rectify_labels(labels, uncertainty, threshold=0.3)
    expected = torch.tensor([[1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 1.0, 0.0]])
    assert torch.equal(rectified, expected)
    # u == H is not "above H": the voxel at 0.30 keeps its label (Eq. 5 uses u > H).
    flipped = rectified != labels.float()
    assert torch.equal(flipped, uncertainty > 0.3)


def test_rectification_from_cross_prompt_entropy() -> None:
    # Two prompt sets agree on voxels 0 and 1 and disagree on voxel 2.
    probs = torch.tensor([[0.95, 0.02, 0.9], [0.97, 0.01, 0.1]])  # (n_pt, voxels)
    u = cpcl.predictive_entropy(cpcl.mean_prediction(probs))
    noisy = torch.tensor([1, 1, 0])
    rectified = cpcl.rectify_labels(noisy, u, threshold=0.5)
    assert torch.equal(rectified, torch.tensor([1.0, 1.0, 1.0]))  # only voxel 2 (u = ln 2) flips


def test_consistency_loss_value() -> None:
    # n_pt = 2, B = 1, 1 channel, 2 voxels: mean = [0.5, 0.5]; squared deviations
    # [0.25, 0.25] and [0.25, 0.25] -> voxel means 0.25 each -> sum over predictions 0.5.
    probs = torch.tensor([[[[0.0, 1.0]]], [[[1.0, 0.0]]]])  # (2, 1, 1, 2)
    assert cpcl.consistency_loss(probs).tolist() == pytest.approx([0.5])
    same = torch.full((3, 2, 1, 4), 0.7)
    assert torch.all(cpcl.consistency_loss(same) == 0)


def test_consistency_loss_has_gradient_towards_agreement() -> None:
    probs = torch.tensor([[[[0.2]]], [[[0.8]]]], requires_grad=True)
    cpcl.consistency_loss(probs).sum().backward()
    assert probs.grad[0].item() < 0 < probs.grad[1].item()  # pushes them together


@pytest.mark.parametrize(("step", "power", "expected"), [
    (0, 2.0, 0.1 * math.exp(-5.0)),
    (50, 2.0, 0.1 * math.exp(-5.0 * 0.25)),
    (75, 2.0, 0.1 * math.exp(-5.0 * 0.0625)),
    (100, 2.0, 0.1),
    (250, 2.0, 0.1),
    (50, 1.0, 0.1 * math.exp(-2.5)),
])
def test_rampup_values(step: int, power: float, expected: float) -> None:
    assert cpcl.rampup_weight(step, 100, 0.1, power) == pytest.approx(expected, rel=1e-12)


def test_rampup_is_monotone() -> None:
    values = [cpcl.rampup_weight(t, 40, 1.0) for t in range(45)]
    assert all(a < b for a, b in itertools.pairwise(values[:41]))
    assert values[40:] == [1.0] * 5


def test_combined_loss_eq6() -> None:
    total = cpcl.combine_losses(torch.tensor(1.0), torch.tensor(0.2), torch.tensor(0.4),
                                lam=0.1, beta=5.0)
    assert total.item() == pytest.approx(1.0 + 0.1 * (0.2 + 5.0 * 0.4))
