"""Model calls of the session: encode a patch of the scan, decode one patch from its prompts.

This is the only session module that touches torch; numpy <-> torch conversion and the
batch/channel dimensions are added here and nowhere else in the session.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from seganypet.click import Click
from seganypet.mask_centre import distance_center
from seganypet.model.candidates import choose_candidate
from seganypet.postprocess import LogitTile, merge_logits
from seganypet.preprocess import PatchGrid, normalize_intensity, sample_volume
from seganypet.session.state import ObjectState, TileState
from seganypet.volume import Volume

__all__ = ["PROMPT_MASK_LOGIT", "TileDecoder"]

# Logit magnitude given to a user-supplied prompt mask (inside +8, outside -8): a confident
# previous prediction, the kind of mask prompt the decoder sees during click refinement.
PROMPT_MASK_LOGIT = 8.0


class TileDecoder:
    """Runs the model on patches for a session.

    Args:
        model: SegAnyPET model; put in eval mode here.
        precision: ``"fp32"`` or ``"bf16"`` (autocast for the image encoder on CPU; the
            decoder stays fp32, it is cheap and its logits are thresholded at 0).
    """

    def __init__(self, model: torch.nn.Module, device: torch.device, precision: str) -> None:
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32', 'bf16' or 'auto', got {precision!r}")
        self.model = model.to(device).eval()
        self.device = device
        self.precision = precision
        self.config = model.config

    @property
    def low_res_size(self) -> int:
        return int(self.config.low_res_size)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @torch.inference_mode()
    def encode_tile(self, volume: Volume, grid: PatchGrid) -> Any:
        """Image embedding of the patch ``grid`` of ``volume``."""
        patch = normalize_intensity(sample_volume(volume, grid), self.config.intensity)
        image = torch.from_numpy(patch)[None, None].to(self.device)  # (1, 1, S, S, S)
        with self._autocast():
            embedding = self.model.encode(image)
        return embedding.to(torch.float32)

    def as_logit_tile(self, tile: TileState) -> LogitTile:
        return LogitTile(tile.grid.coarsened(tile.logits.shape[0]), tile.logits)  # type: ignore[union-attr]

    def _mask_prompt(self, volume: Volume, obj: ObjectState, tile: TileState,
                     others: list[TileState]) -> tuple[np.ndarray, np.ndarray]:
        """The tile's mask prompt ``(L, L, L)`` logits and where it carries information."""
        size = self.low_res_size
        low = tile.grid.coarsened(size)
        if tile.logits is not None:
            return tile.logits, np.ones(tile.logits.shape, bool)
        if obj.prompt_mask is not None:
            fraction = sample_volume(volume.with_array(obj.prompt_mask.astype(np.float32)), low)
            return (2.0 * fraction - 1.0) * PROMPT_MASK_LOGIT, np.ones(fraction.shape, bool)
        if others:
            merged = merge_logits([self.as_logit_tile(t) for t in others], low, fill=np.nan)
            covered = np.isfinite(merged)
            return np.where(covered, merged, 0.0).astype(np.float32), covered
        zeros = np.zeros((size, size, size), np.float32)
        return zeros, np.zeros(zeros.shape, bool)

    def _pseudo_click(self, prompt: np.ndarray, informative: np.ndarray, grid: PatchGrid
                      ) -> np.ndarray | None:
        """A positive click (patch index) deep inside the prompted region, or None."""
        region = (prompt > 0) & informative
        if not region.any():
            return None
        low_index = np.asarray(distance_center(region), np.float64)
        factor = grid.size / prompt.shape[0]
        return (low_index + 0.5) * factor - 0.5

    @staticmethod
    def _points(volume: Volume, obj: ObjectState, tile: TileState
                ) -> tuple[list[np.ndarray], list[int]]:
        """The object's clicks inside the patch, as patch indices, and their labels (1/0)."""
        coords, labels = [], []
        for click in obj.clicks:
            local = volume.grid.index_in(tile.grid, click.point)
            if tile.grid.contains_index(local):
                coords.append(local)
                labels.append(1 if click.positive else 0)
        if 1 not in labels and obj.prompt_anchor is not None:
            local = volume.grid.index_in(tile.grid, obj.prompt_anchor)
            if tile.grid.contains_index(local):
                coords.append(local)
                labels.append(1)
        return coords, labels

    @torch.inference_mode()
    def decode_tile(self, volume: Volume, obj: ObjectState, tile: TileState, embedding: Any, *,
                    multimask: bool, others: list[TileState]
                    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Decode one patch. Returns ``(logits (M, L, L, L), iou (M,))`` or None if unprompted.

        Points are every click of the object inside the patch, in patch index coordinates
        (tensor-axis order); a patch with no positive click of its own (a sliding-window
        extension, or a mask-only prompt) gets one pseudo-click deep inside its mask prompt.
        """
        coords, labels = self._points(volume, obj, tile)
        prompt, informative = self._mask_prompt(volume, obj, tile, others)
        if 1 not in labels:
            pseudo = self._pseudo_click(prompt, informative, tile.grid)
            if pseudo is None:
                return None
            coords.append(pseudo)
            labels.append(1)
        point_coords = torch.tensor(np.asarray(coords), dtype=torch.float32)[None].to(self.device)
        point_labels = torch.tensor(labels, dtype=torch.long)[None].to(self.device)
        # A copy: the prompt may be a tile's stored logits, read-only (session.state)
        mask_logits = torch.from_numpy(np.array(prompt, np.float32))[None, None]
        logits, iou = self.model.decode(embedding, point_coords, point_labels,
                                        mask_logits.to(self.device), multimask=multimask)
        return (logits[0].float().cpu().numpy(), iou[0].float().cpu().numpy())

    def choose_candidate(self, volume: Volume, tile: TileState, logits: np.ndarray,
                         ious: np.ndarray, click: Click) -> int:
        """The first-click candidate to show (:func:`seganypet.model.candidates.choose_candidate`),
        each candidate's logit interpolated at the click. ``logits (M, L, L, L)``, ``ious (M,)``."""
        low = tile.grid.coarsened(logits.shape[-1])
        point = volume.grid.index_in(low, click.point)
        at_click = np.array([ndimage.map_coordinates(c, point[:, None], order=1, mode="nearest")[0]
                             for c in logits])
        chosen = choose_candidate(torch.from_numpy(at_click)[None], torch.tensor(ious)[None])
        return int(chosen[0])
