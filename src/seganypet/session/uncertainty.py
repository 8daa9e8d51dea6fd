"""Where is the model least sure? Cross-prompt entropy and the suggested next click.

CPCL (SegAnyPET §3.2, Eq. 2 and 4; :mod:`seganypet.train.cpcl` for training) measures how
much the predictions of one target under *different prompts* disagree: the mean foreground
probability ``p̄`` over the prompt sets and its two-class entropy. Here the prompt sets of a
patch are the object's own prompts, perturbed the ways a user's clicks vary:

* the mask shown (its stored logits) and one re-decode of the same prompts;
* ``JITTERS`` decodes with every click moved by up to ``JITTER_MM`` (seeded: a suggestion is
  reproducible);
* with two or more clicks, leave-one-out decodes (never dropping the last positive click).

That costs 5-8 decoder calls per patch (no encoder call: the embedding is cached). The first
click's candidate masks are left out on purpose: they are alternatives for *different*
targets (lesion or organ), and counting them made the suggestions worse (hit rate 0.50 -> 0.44
on phantom organs and lesions, 0.60 -> 0.60 on the sarcoma crops).

From ``p̄`` on the image grid: the **uncertainty map** is the entropy in bits (0 sure, 1 a
coin flip), and the probability that a voxel of the shown mask is wrong is ``1 - p̄`` inside
it and ``p̄`` outside. The **suggested click** goes to the 18-connected region of likely
errors (``p_error >= ERROR_LEVEL``, inside and outside the mask taken apart) that holds the
most expected wrong voxels, at its most likely wrong voxel (the deepest one on ties); it is
negative inside the mask (probably a leak) and positive outside (probably missed). Picking
the region's deepest voxel instead hit an error less often (0.38 / 0.40 against 0.50 / 0.60). ``benchmarks/suggest_calibration.py`` checks
that ``p_error`` means what it says.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cc3d
import numpy as np

from seganypet.click import Click
from seganypet.errors import InputError
from seganypet.mask_centre import distance_center
from seganypet.postprocess import LogitTile, merge_logits
from seganypet.session.state import ObjectState, TileState
from seganypet.volume import Volume

if TYPE_CHECKING:
    from seganypet.session.session import Session

__all__ = ["ERROR_LEVEL", "Suggestion", "cross_prompt_probability", "error_probability",
           "suggest", "suggest_from"]

JITTERS = 4
JITTER_MM = 6.0
MAX_LEAVE_ONE_OUT = 3
# A voxel is a likely error when at least a quarter of the prompt sets disagree with the mask.
ERROR_LEVEL = 0.25
_SEED = 20260


@dataclass(frozen=True)
class Suggestion:
    """The model's suggested next click.

    Attributes:
        index: voxel ``(i, j, k)`` of the image array.
        positive: True = the voxel is probably missing from the mask (click positive);
            False = probably a leak (click negative).
        error_probability: the fraction of prompt sets that disagree with the mask there.
        uncertainty: cross-prompt entropy in bits, float32 ``(I, J, K)`` on the image grid
            (0 where no patch of the object reaches).
    """

    index: tuple[int, int, int]
    positive: bool
    error_probability: float
    uncertainty: Volume

    @property
    def click(self) -> Click:
        return Click(self.index, self.positive)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))).astype(np.float32)


def _jittered(obj: ObjectState, volume: Volume, rng: np.random.Generator) -> ObjectState:
    upper = np.asarray(volume.shape) - 1.0
    clicks = []
    for click in obj.clicks:
        offset = rng.uniform(-JITTER_MM, JITTER_MM, 3) / np.asarray(volume.spacing)
        moved = np.clip(click.point + offset, 0.0, upper)
        clicks.append(Click(tuple(float(v) for v in moved), click.positive))
    return dataclasses.replace(obj, clicks=clicks)


def _prompt_variants(obj: ObjectState, volume: Volume) -> list[ObjectState]:
    """The object with its prompts perturbed (module docstring), re-decode first."""
    rng = np.random.default_rng(_SEED)
    variants = [obj] + [_jittered(obj, volume, rng) for _ in range(JITTERS)]
    positives = sum(c.positive for c in obj.clicks)
    if len(obj.clicks) >= 2:
        for n in range(len(obj.clicks) - 1, -1, -1)[:MAX_LEAVE_ONE_OUT]:
            if obj.clicks[n].positive and positives == 1:
                continue
            variants.append(dataclasses.replace(obj, clicks=obj.clicks[:n] + obj.clicks[n + 1:]))
    return variants


def _tile_members(session: Session, obj: ObjectState, key: tuple[int, int, int],
                  tile: TileState) -> np.ndarray:
    """Foreground probabilities ``(n, L, L, L)`` of one patch under every prompt set."""
    volume = session._require_image()
    members = [_sigmoid(tile.logits)]  # type: ignore[arg-type]
    embedding = session._embedding(tile)
    others = session._other_tiles(obj, key)
    for variant in _prompt_variants(obj, volume):
        result = session._decoder.decode_tile(volume, variant, tile, embedding, multimask=False,
                                              others=others)
        if result is not None:
            members.append(_sigmoid(result[0][0]))
    return np.stack(members)


def cross_prompt_probability(session: Session) -> np.ndarray:
    """Mean foreground probability ``p̄`` over the prompt sets, float32 ``(I, J, K)`` on the
    image grid (0 outside the object's patches)."""
    volume = session._require_image()
    obj = session.current
    tiles = [(k, t) for k, t in obj.tiles.items() if t.logits is not None]
    if not tiles:
        raise InputError("nothing to suggest yet: give the object a first click or shape")
    low = []
    for key, tile in tiles:
        mean = _tile_members(session, obj, key, tile).mean(axis=0)
        low.append(LogitTile(tile.grid.coarsened(mean.shape[0]), mean))
    return merge_logits(low, volume.grid, fill=0.0)


def _entropy_bits(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-7, 1 - 1e-7)
    return (-(q * np.log2(q) + (1 - q) * np.log2(1 - q))).astype(np.float32)


def _best_error_region(p_error: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """The likely-error component with the largest expected number of wrong voxels."""
    best, best_mass = None, 0.0
    for side in (mask, ~mask):
        likely = (p_error >= ERROR_LEVEL) & side
        if not likely.any():
            continue
        labels, count = cc3d.connected_components(likely, connectivity=18, return_N=True)
        mass = np.bincount(labels.ravel(), weights=p_error.ravel(), minlength=count + 1)
        mass[0] = 0.0
        top = int(np.argmax(mass))
        if mass[top] > best_mass:
            best, best_mass = labels == top, float(mass[top])
    return best


def suggest_from(probability: np.ndarray, mask: np.ndarray, volume: Volume) -> Suggestion:
    """The suggestion for a shown ``mask`` (bool ``(I, J, K)``) given the cross-prompt mean
    probability (:func:`cross_prompt_probability`) on ``volume``'s grid."""
    p_error = error_probability(probability, mask)
    region = _best_error_region(p_error, mask)
    if region is None:  # nothing likely wrong: the least sure voxel
        index = tuple(int(v) for v in np.unravel_index(int(np.argmax(p_error)), p_error.shape))
    else:  # the region's most likely wrong voxel; the deepest of them on ties
        top = region & (p_error >= p_error[region].max())
        index = distance_center(top, volume.spacing)
    uncertainty = volume.with_array(_entropy_bits(probability), unit="bits")
    return Suggestion(index, not bool(mask[index]), float(p_error[index]), uncertainty)  # type: ignore[arg-type]


def error_probability(probability: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Probability that each voxel of the shown ``mask`` is wrong: ``1 - p̄`` inside, ``p̄``
    outside (float32, same shape)."""
    return np.where(mask, 1.0 - probability, probability).astype(np.float32)


def suggest(session: Session) -> Suggestion:
    """The suggested next click of the session's current object (module docstring)."""
    probability = cross_prompt_probability(session)
    return suggest_from(probability, session.mask.array.astype(bool), session._require_image())
