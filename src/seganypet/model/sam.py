"""The composed promptable 3D segmentation model (SAM-Med3D / SegAnyPET architecture)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from seganypet.model.config import ModelConfig
from seganypet.model.image_encoder import ImageEmbedding, ImageEncoder
from seganypet.model.mask_decoder import MaskDecoder
from seganypet.model.prompt_encoder import PromptEncoder

__all__ = ["SegAnyPET"]


class SegAnyPET(nn.Module):
    """Image encoder + prompt encoder + mask decoder.

    Embed a patch once with :meth:`encode`, then answer any number of clicks with
    :meth:`decode`. The mask threshold is logit 0.
    """

    mask_threshold = 0.0

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        # The file the weights came from (set by load_model): files fitted to these weights,
        # such as the session's candidate ranker, are looked up beside it.
        self.weights_path: Path | None = None
        self.image_encoder = ImageEncoder(config)
        self.prompt_encoder = PromptEncoder(config)
        self.mask_decoder = MaskDecoder(config)

    def encode(self, image: torch.Tensor) -> ImageEmbedding:
        """``image (B, 1, S, S, S)`` already preprocessed (see ``config.intensity``) ->
        :class:`ImageEmbedding` with ``tokens (B, prompt_dim, g, g, g)``."""
        return self.image_encoder(image)

    def decode(
        self,
        embedding: ImageEmbedding,
        point_coords: torch.Tensor | None,
        point_labels: torch.Tensor | None,
        mask_logits: torch.Tensor | None = None,
        multimask: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Masks for one prompt set per batch row.

        Args:
            embedding: from :meth:`encode` (batch B, or 1 to share one image across prompts).
            point_coords: ``(B, N, 3)`` float voxel indices in the patch, tensor-axis order.
            point_labels: ``(B, N)`` long: 1 positive, 0 negative, -1 padding.
            mask_logits: ``(B, 1, L, L, L)`` previous low-res logits, or None.
            multimask: False -> the single-mask token 0; True -> the
                ``num_multimask_outputs`` candidates.

        Returns:
            ``low_res_logits (B, M, L, L, L)`` and ``iou (B, M)``.
        """
        sparse, dense = self.prompt_encoder(point_coords, point_labels, mask_logits)
        if dense.shape[0] != sparse.shape[0]:
            raise ValueError("point prompts and mask prompt have different batch sizes")
        return self.mask_decoder(
            embedding.tokens,
            self.prompt_encoder.dense_positional_encoding(),
            sparse,
            dense,
            skip=embedding.skip,
            multimask=multimask,
        )

    def forward(
        self,
        image: torch.Tensor,
        point_coords: torch.Tensor | None,
        point_labels: torch.Tensor | None,
        mask_logits: torch.Tensor | None = None,
        multimask: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``encode`` then ``decode`` (shapes as there)."""
        return self.decode(self.encode(image), point_coords, point_labels, mask_logits, multimask)
