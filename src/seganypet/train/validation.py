"""Quick held-out accuracy during development: patch-level Dice after 1..n simulated clicks.

This is *not* the evaluation protocol (``seganypet evaluate`` runs the real Session on whole
scans); it scores centred training-style patches from a held-out phantom stream, which is
cheap enough to run beside training and to compare training variants (the CPCL ablation).
Click 1 is the target centre; with multimask the candidate with the highest predicted IoU is
kept, as the Session does; later clicks follow the training rule (uniform over FN ∪ FP).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

import numpy as np
import torch

from seganypet.data.organs import is_lesion_name
from seganypet.model.sam import SegAnyPET
from seganypet.train.config import TrainConfig
from seganypet.train.data import PatchBatch, patch_spec
from seganypet.train.interaction import click_rngs, sample_clicks
from seganypet.train.losses import hard_dice, upsample_logits
from seganypet.train.phantom_cases import phantom_case_generator
from seganypet.train.sources import PatchSource, PhantomCases

__all__ = ["held_out_source", "patch_dice"]


def held_out_source(config: TrainConfig, model: SegAnyPET, seed_offset: int = 10_007,
                    target_names: tuple[str, ...] | None = None,
                    target_kinds: str | None = None) -> PatchSource:
    """Centred, unflipped patches of HQ phantoms that training never generates."""
    held = dataclasses.replace(
        config, phantom_seed_offset=seed_offset, phantom_lq_fraction=0.0, center_jitter_prob=0.0,
        center_click_prob=1.0, flip=False, manifest=None, phantoms=True,
        target_names=target_names if target_names is not None else config.target_names,
        target_kinds=target_kinds or config.target_kinds)
    return PatchSource(held, patch_spec(held, model.config), None,
                       PhantomCases(phantom_case_generator(held), held))


@torch.no_grad()
def _clicks_dice(model: SegAnyPET, batch: PatchBatch, n_clicks: int) -> np.ndarray:
    """Dice ``(B, n_clicks)`` after each click."""
    size, low_size = batch.images.shape[-1], model.config.low_res_size
    n = batch.images.shape[0]
    embedding = model.encode(batch.images)
    coords = batch.first_clicks[:, None, :].float()
    labels = torch.ones((n, 1), dtype=torch.long)
    empty = torch.zeros((n, 1, low_size, low_size, low_size))
    multimask = model.config.num_multimask_outputs > 1 and not model.config.upstream_quirks
    low, iou = model.decode(embedding, coords, labels, empty, multimask=multimask)
    low = low[torch.arange(n), iou.argmax(1)][:, None]
    rngs = click_rngs(batch.seeds)
    scores = []
    for k in range(n_clicks):
        full = upsample_logits(low, size)
        scores.append(hard_dice(full, batch.targets).cpu().numpy())
        if k + 1 == n_clicks:
            break
        new_coords, new_labels = sample_clicks(full, batch.targets, rngs)
        coords = torch.cat([coords, new_coords.float()], 1)
        labels = torch.cat([labels, new_labels], 1)
        low, _ = model.decode(embedding, coords, labels, low, multimask=False)
    return np.stack(scores, axis=1)


def patch_dice(model: SegAnyPET, source: PatchSource, n_samples: int, n_clicks: int = 5,
               batch_size: int = 2, first_index: int = 0) -> dict[str, np.ndarray]:
    """Target name -> Dice array ``(samples of that target, n_clicks)`` on held-out patches.

    Lesions are pooled under ``"lesion"``; the model is run in eval mode (bf16 autocast off).
    """
    was_training = model.training
    model.eval()
    per_target: dict[str, list[np.ndarray]] = defaultdict(list)
    for start in range(0, n_samples, batch_size):
        indices = range(first_index + start, first_index + min(start + batch_size, n_samples))
        batch = source.batch(list(indices))
        for name, row in zip(batch.target_names, _clicks_dice(model, batch, n_clicks)):
            per_target["lesion" if is_lesion_name(name) else name].append(row)
    model.train(was_training)
    return {name: np.stack(rows) for name, rows in per_target.items()}
