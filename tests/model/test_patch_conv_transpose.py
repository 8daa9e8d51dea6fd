"""PatchConvTranspose3d: the matmul form of a non-overlapping transposed convolution."""

from __future__ import annotations

import pytest
import torch

from seganypet.model.blocks import PatchConvTranspose3d


@pytest.mark.parametrize(("c_in", "c_out", "k", "shape"), [(24, 12, 2, (2, 5, 3, 4)),
                                                           (8, 3, 3, (1, 2, 2, 2))])
def test_matches_torch_conv_transpose_forward_and_backward(c_in, c_out, k, shape) -> None:
    torch.manual_seed(0)
    fast = PatchConvTranspose3d(c_in, c_out, k)
    reference = torch.nn.ConvTranspose3d(c_in, c_out, k, stride=k)
    reference.load_state_dict(fast.state_dict())  # same keys and shapes: checkpoints load as-is
    x = torch.randn(shape[0], c_in, *shape[1:], requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    out, expected = fast(x), reference(x_ref)
    assert out.shape == expected.shape == (shape[0], c_out, *(k * s for s in shape[1:]))
    assert torch.allclose(out, expected, atol=1e-5)
    grad = torch.randn_like(out)
    out.backward(grad)
    expected.backward(grad)
    assert torch.allclose(x.grad, x_ref.grad, atol=1e-5)
    assert torch.allclose(fast.weight.grad, reference.weight.grad, atol=1e-4)
    assert torch.allclose(fast.bias.grad, reference.bias.grad, atol=1e-4)
