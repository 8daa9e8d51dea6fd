"""Every preset runs forward and backward; prompts and positional encodings behave as specified."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from seganypet.errors import InputError
from seganypet.model import PRESETS, ModelConfig, SegAnyPET, build_model
from seganypet.model.image_encoder import EncoderBlock, ImageEmbedding
from seganypet.model.mask_decoder import MaskDecoder
from seganypet.model.prompt_encoder import PromptEncoder
from seganypet.model.upscaling import UpscaledFeatures

FAST_PRESETS = [name for name in PRESETS if name != "sam-med3d"]


def _inputs(config: ModelConfig, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    s, low = config.image_size, config.low_res_size
    image = torch.randn(batch, 1, s, s, s, generator=gen)
    coords = torch.rand(batch, 2, 3, generator=gen) * (s - 1)
    labels = torch.tensor([[1, 0]] * batch)
    mask = torch.randn(batch, 1, low, low, low, generator=gen)
    return image, coords, labels, mask


@pytest.mark.parametrize("name", FAST_PRESETS)
def test_forward_backward_reaches_every_parameter(name: str) -> None:
    config = PRESETS[name]
    model = build_model(config).train()
    image, coords, labels, mask = _inputs(config)
    logits, iou = model(image, coords, labels, mask)
    low = config.low_res_size
    assert logits.shape == (2, 1, low, low, low) and iou.shape == (2, 1)
    (logits.square().mean() + iou.square().mean()).backward()
    # Parameters that single-mask output cannot reach: the multimask hypernetworks, and the
    # no-mask embedding when a mask prompt is given, the candidate scorer (multimask only).
    # (All mask tokens are reached: they attend to each other in the two-way transformer.)
    unreachable = ("output_hypernetworks_mlps.1", "output_hypernetworks_mlps.2",
                   "output_hypernetworks_mlps.3", "no_mask_embed", "mask_quality_head")
    for pname, p in model.named_parameters():
        if not any(u in pname for u in unreachable):
            assert p.grad is not None and p.grad.abs().sum() > 0, pname
    assert model.image_encoder.patch_embed.proj.weight.grad.abs().sum() > 0


def test_mask_quality_head_scores_candidates_without_bending_the_masks() -> None:
    config = PRESETS["tiny"]
    model = build_model(config).train()
    image, coords, labels, mask = _inputs(config)
    _, iou = model(image, coords, labels, mask, multimask=True)
    assert iou.shape == (2, 3)
    iou.square().sum().backward()  # an IoU loss alone
    head = model.mask_decoder.mask_quality_head
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())
    # The scorer's inputs are detached: the hypernetworks get no gradient from the IoU loss.
    hyper = model.mask_decoder.output_hypernetworks_mlps[1].layers[0].weight
    assert hyper.grad is None or hyper.grad.abs().sum() == 0
    # Its score depends on the candidate: two different masks get different scores.
    features = torch.randn(1, 8, 8, 8, 8)
    small = torch.full((1, 1, 8, 8, 8), -5.0)
    small[..., 3:5, 3:5, 3:5] = 5.0
    big = torch.full((1, 1, 8, 8, 8), 5.0)
    rows = features.flatten(2).transpose(1, 2)  # with 0 upscaling stages, block order = grid order
    scores = head(torch.cat([small, big], 1), UpscaledFeatures(rows, None, 8, 0))
    assert scores.shape == (1, 2) and abs(float(scores[0, 0] - scores[0, 1])) > 1e-4


def test_quality_head_shell_is_the_3x3x3_max_pool() -> None:
    from seganypet.model.mask_decoder import _neighbourhood_max

    prob = torch.rand(2, 3, 7, 5, 6)
    prob[0, 0, 3, 2, 4] = 1.0  # a peak spreads to its 26 neighbours, clipped at the border
    pooled = torch.nn.functional.max_pool3d(prob, 3, stride=1, padding=1)
    assert torch.equal(_neighbourhood_max(prob), pooled)
    assert float(_neighbourhood_max(prob)[0, 0, 2:5, 1:4, 3:6].min()) == 1.0


def test_sam_med3d_backward_reduced() -> None:
    """The released layout is differentiable end to end; checked on two encoder blocks (one
    padded-window, one global) and the full prompt/decoder path, to keep CI fast."""
    config = PRESETS["sam-med3d"]
    windowed, global_ = EncoderBlock(config, 1), EncoderBlock(config, 2)
    tokens = torch.randn(1, 8, 8, 8, config.encoder_dim, requires_grad=True)
    global_(windowed(tokens)).square().mean().backward()
    assert windowed.attn.rel_pos_w.grad.abs().sum() > 0 and windowed.attn.rel_pos_w.shape[0] == 27
    assert global_.attn.rel_pos_d.grad.abs().sum() > 0 and global_.attn.rel_pos_d.shape[0] == 15
    prompts, decoder = PromptEncoder(config), MaskDecoder(config)
    image_tokens = torch.randn(1, 384, 8, 8, 8, requires_grad=True)
    sparse, dense = prompts(torch.tensor([[[51.0, 70.0, 89.0]]]), torch.tensor([[1]]),
                            torch.randn(1, 1, 32, 32, 32))
    logits, iou = decoder(image_tokens, prompts.dense_positional_encoding(), sparse, dense)
    assert logits.shape == (1, 1, 32, 32, 32)
    (logits.mean() + iou.sum()).backward()
    assert image_tokens.grad.abs().sum() > 0
    assert prompts.mask_downscaling[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("name", FAST_PRESETS)
def test_point_encoding_equals_dense_encoding_at_the_same_voxel(name: str) -> None:
    config = PRESETS[name]
    model = build_model(config)
    p, g = config.patch_size, config.grid_size
    cells = torch.tensor([[0, 0, 0], [g - 1, 0, 1], [1, g - 1, 0], [g - 1, g - 2, g - 1]])
    voxels = cells.float() * p + (p - 1) / 2  # voxel whose centre is the cell centre
    with torch.no_grad():
        sparse = model.prompt_encoder.embed_points(voxels[None], torch.ones(1, 4, dtype=torch.long))
        point_pe = sparse[0, :4] - model.prompt_encoder.point_embeddings[1].weight
        dense = model.prompt_encoder.dense_positional_encoding()[0]
    want = torch.stack([dense[:, a, b, c] for a, b, c in cells.tolist()])
    torch.testing.assert_close(point_pe, want, atol=1e-5, rtol=1e-5)
    # [sin, cos] only: no duplicated channels.
    assert not torch.allclose(dense[: config.prompt_dim // 2], dense[config.prompt_dim // 2 :])


def test_upstream_dense_encoding_swaps_the_first_two_axes() -> None:
    """Released model: a click at voxel (16 g1 + 7.5, 16 g0 + 7.5, 16 g2 + 7.5) has the dense
    encoding of cell (g0, g1, g2), and the sine block appears twice."""
    model = SegAnyPET(PRESETS["sam-med3d"])
    cells = torch.tensor([[0, 3, 5], [7, 1, 2], [2, 6, 7]])
    swapped = cells[:, [1, 0, 2]].float() * 16 + 7.5
    with torch.no_grad():
        point_pe = model.prompt_encoder.pe_layer((swapped + 0.5) / 128)
        dense = model.prompt_encoder.dense_positional_encoding()[0]
    want = torch.stack([dense[:, a, b, c] for a, b, c in cells.tolist()])
    torch.testing.assert_close(point_pe, want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(dense[:128], dense[256:])


def test_point_labels_select_embeddings() -> None:
    model = build_model("tiny")
    coords = torch.tensor([[[3.0, 4.0, 5.0], [3.0, 4.0, 5.0], [3.0, 4.0, 5.0]]])
    with torch.no_grad():
        sparse = model.prompt_encoder.embed_points(coords, torch.tensor([[1, 0, -1]]))
        pe = model.prompt_encoder.pe_layer((coords[0, 0] + 0.5) / 32)
    pos, neg, pad = model.prompt_encoder.point_embeddings[1].weight[0], \
        model.prompt_encoder.point_embeddings[0].weight[0], model.prompt_encoder.not_a_point_embed.weight[0]
    assert sparse.shape == (1, 4, 64)  # + the appended padding point
    torch.testing.assert_close(sparse[0, 0], pe + pos)
    torch.testing.assert_close(sparse[0, 1], pe + neg)
    torch.testing.assert_close(sparse[0, 2], pad)
    torch.testing.assert_close(sparse[0, 3], pad)


@pytest.mark.parametrize("stages", [1, 2, 3])
def test_mask_prompt_maps_low_res_grid_back_to_tokens(stages: int) -> None:
    config = dataclasses.replace(PRESETS["tiny"], name="tiny-up", upscale_stages=stages)
    model = build_model(config)
    image, coords, labels, _ = _inputs(config, batch=1)
    low = config.low_res_size
    assert low == config.grid_size * 2**stages
    with torch.no_grad():
        embedding = model.encode(image)
        assert embedding.skip.shape == (1, config.upscaled_channels[-1], low, low, low)
        logits, _ = model.decode(embedding, coords, labels, torch.zeros(1, 1, low, low, low))
        chained, _ = model.decode(embedding, coords, labels, logits)  # next click's mask prompt
    assert logits.shape == chained.shape == (1, 1, low, low, low)
    assert not torch.allclose(logits, chained)


def test_multimask_and_shared_embedding() -> None:
    config = PRESETS["tiny"]
    model = build_model(config)
    image, coords, labels, mask = _inputs(config, batch=2)
    with torch.no_grad():
        embedding = model.encode(image[:1])  # one image, two prompt sets
        single, iou1 = model.decode(embedding, coords, labels, mask)
        multi, iou3 = model.decode(embedding, coords, labels, mask, multimask=True)
        alone, _ = model.decode(embedding, coords[1:], labels[1:], mask[1:])
    low = config.low_res_size
    assert multi.shape == (2, 3, low, low, low) and iou3.shape == (2, 3)
    assert single.shape == (2, 1, low, low, low) and iou1.shape == (2, 1)
    torch.testing.assert_close(single[1:], alone, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(single, multi[:, :1])


def test_skip_features_are_added_before_the_hypernetwork_product() -> None:
    """Logits are affine in the skip features (hyper . (upscaled + skip))."""
    model = build_model("tiny")
    image, coords, labels, mask = _inputs(PRESETS["tiny"], batch=1)
    with torch.no_grad():
        emb = model.encode(image)
        zero, one, two = (
            model.decode(ImageEmbedding(emb.tokens, emb.skip * f), coords, labels, mask)[0]
            for f in (0.0, 1.0, 2.0)
        )
    torch.testing.assert_close(two - zero, 2 * (one - zero), atol=1e-4, rtol=1e-4)
    assert (one - zero).abs().max() > 1e-3


def test_decode_without_points_or_mask() -> None:
    model = build_model("tiny")
    image, _, _, mask = _inputs(PRESETS["tiny"], batch=1)
    with torch.no_grad():
        emb = model.encode(image)
        mask_only, _ = model.decode(emb, None, None, mask)
        nothing, _ = model.decode(emb, None, None, None)
    assert mask_only.shape == nothing.shape == (1, 1, 16, 16, 16)


def test_config_round_trip_and_validation() -> None:
    for config in PRESETS.values():
        assert ModelConfig.from_dict(config.to_dict()) == config
    assert PRESETS["sam-med3d"].low_res_size == 32 and PRESETS["pet-small"].low_res_size == 64
    with pytest.raises(InputError, match="divide"):
        dataclasses.replace(PRESETS["tiny"], window_size=3)
    with pytest.raises(InputError, match="unknown fields"):
        ModelConfig.from_dict({**PRESETS["tiny"].to_dict(), "depth": 3})
    with pytest.raises(InputError, match="unknown model preset"):
        build_model("vit_h")


def test_image_shape_is_checked() -> None:
    model = build_model("tiny")
    with pytest.raises(ValueError, match=r"\(B, 1, 32, 32, 32\)"):
        model.encode(torch.zeros(1, 1, 32, 32, 16))


def test_positional_encoding_stays_fp32_under_bf16_autocast() -> None:
    model = build_model("pet-small")
    reference = model.prompt_encoder.dense_positional_encoding()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        autocast = model.prompt_encoder.dense_positional_encoding()
    assert autocast.dtype == torch.float32
    torch.testing.assert_close(autocast, reference, rtol=0, atol=0)
