"""First-click candidates of an object: the model's masks plus the image's isocontours.

On an object's first click the session holds one :class:`CandidateSet`: the model's multimask
candidates (indices ``0 .. M-1``, low-res logits on the first patch) followed by the
isocontour candidates of :mod:`seganypet.session.safety_net` (indices ``M ..``, full-resolution
masks). Every candidate is described by a :class:`CandidateInfo` (volume, boundary step,
quality score), so the user can step to the next larger or smaller one (``grow`` /
``shrink``) whatever produced it.

Which candidate is shown first (:func:`choose_shown`) -- declared in docs/results.md before
the final numbers were measured. ``step`` is the boundary step of
:mod:`seganypet.session.safety_net`; ``m`` the model's choice
(:func:`seganypet.model.candidates.choose_candidate`).

1. **Veto**: if some isocontour no larger than ``MAX_GROWTH`` (3) times the model's largest
   candidate has a step at least ``SWITCH_RATIO`` (2) times the step of ``m``, those
   isocontours are the pool (amendment of 14:20 UTC: the size bound, see docs/results.md). The image then shows a clearly sharper uptake edge
   than the model's surface: the signature of a mask that leaked into lower surrounding
   uptake (organ-sized mask on a hot lesion), stopped short inside a homogeneous organ, or
   missed the object. A factor of two keeps the model wherever the two are comparable, as on
   heterogeneous tumours where any isocontour cuts through the uptake pattern.
2. **Snap outward**: otherwise the pool is the isocontours that are larger than ``m``, hold
   at least ``CONTAIN`` (90 %) of it and form a chain of the same object, smallest first: the
   first overlaps ``m`` with Dice >= ``SAME_OBJECT`` (0.6), each next one the previous member
   (amendment of 2026-12-03 15:52 UTC: the family climbs a blurred edge in steps, a leak is a
   jump); the model's surface lies inside them. If the best step of that pool beats the step
   of ``m``, the model stopped on the object's plateau, short of its edge; else ``m`` is shown.
   An isocontour smaller than ``m`` never replaces it (rule 1 aside): a tumour's low-uptake
   parts lie inside the expert's contour but outside every isocontour.
3. From the pool, the **largest** isocontour whose step is within ``FLAT_TOP`` (5 %) of the
   pool's best. Across a partial-volume-blurred edge the step is flat near its maximum, and
   fractions of a noisy SUVmax (biased high by noise) place the maximum too far inside.

4. **Clicked territory** (:mod:`seganypet.session.territory_rule`, declared 2026-12-03): on a point
   click beside a hotter neighbour (a node beside the bladder or the heart), a shown mask that
   has swallowed the neighbour gives way to the clicked structure's own isocontour inside its
   watershed territory (:mod:`seganypet.session.neighbours`).
5. **Plateau snap** (``Session(plateau_snap=True)``, the default; declared 2026-12-03, v2 and
   its amendments): a model choice whose surface lies on its object's plateau
   (:func:`on_plateau`: a liver mask a third of the liver) snaps out in rule 2 without its Dice
   condition, and beside a hotter neighbour to the organ's own opened isocontour inside the
   click's territory (:func:`seganypet.session.territory_rule.snap_plateau_to_territory`). It
   met every accuracy criterion; its ~0.07 s are paid for by exact speed-ups of the rest of the
   first click (docs/results.md, 15:31 UTC).

Both pools hold only isocontours the model **supports** (amendment of 16:30 UTC): at least
``MIN_SUPPORT`` (half) of the isocontour's voxels lie where some model candidate's logit
exceeds ``SUPPORT_LOGIT`` (-2, a probability of 12 %). In an abdomen rendered from real
anatomy, liver, spleen, kidneys and stomach have similar FDG uptake and touch: every isocontour
from a spleen or kidney click is the merged organ block (3-10x the organ, Dice 0.1-0.3), its
outer edge against fat as sharp as a lesion's, so the step alone picked it. The model knows the
anatomy: such a block lies mostly (64-76 %) where all its candidates are confident background,
while good isocontours of spheres and lesions have support >= 0.94 and the whole-liver one 0.6.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from seganypet.errors import InputError
from seganypet.postprocess import LogitTile, keep_components_with_seeds, paste_mask
from seganypet.preprocess import PatchGrid, sample_volume
from seganypet.session.decoding import PROMPT_MASK_LOGIT
from seganypet.session.quality import mask_quality
from seganypet.session.ranking import CandidateRanker, RankingContext, candidate_features
from seganypet.session.safety_net import (
    BoundaryStep,
    BoxMask,
    boundary_step,
    isocontour_candidates,
    region_over,
)
from seganypet.volume import Volume

__all__ = ["FLAT_TOP", "MIN_SUPPORT", "PLATEAU_CONTRAST", "SWITCH_RATIO", "CandidateInfo", "CandidateSet",
           "build_candidate_set", "choose_shown", "first_patch_box", "mask_box_volume", "mask_overlap",
           "model_support", "on_plateau",
           "rank_candidates", "ranking_features", "shown_image_mask", "shown_logits", "step_to"]

SWITCH_RATIO = 2.0
MAX_GROWTH = 3.0
CONTAIN = 0.9
SAME_OBJECT = 0.6
FLAT_TOP = 0.05
MIN_SUPPORT = 0.5
PLATEAU_CONTRAST = 0.05
SUPPORT_LOGIT = -2.0


@dataclass(frozen=True)
class CandidateInfo:
    """One first-click candidate.

    Attributes:
        index: its number in :attr:`Session.candidates` (for ``select_candidate``).
        source: ``"model"``, ``"isocontour"`` or ``"territory"`` (rule 4).
        volume_ml: its volume within the first patch (the shown mask may extend beyond).
        score: quality score in [0, 1] (:func:`seganypet.session.quality.mask_quality`).
        boundary: uptake on both sides of its surface (SUV).
        predicted_iou: the model's own score (model candidates only).
        fraction: fraction of the local SUVmax (isocontour candidates only).
        model_support: share of its voxels where some model candidate's logit exceeds
            ``SUPPORT_LOGIT`` (isocontour candidates only).
    """

    index: int
    source: str
    volume_ml: float
    score: float
    boundary: BoundaryStep
    predicted_iou: float | None = None
    fraction: float | None = None
    model_support: float | None = None


@dataclass
class CandidateSet:
    """Every first-click candidate of an object: ``model_masks[m]`` (the model's candidate
    ``m`` pasted on the image grid, first patch only) and ``image_masks[j]`` (candidate
    ``M + j``)."""

    infos: list[CandidateInfo]
    num_model: int
    image_masks: list[BoxMask] = field(default_factory=list)
    model_masks: list[BoxMask] = field(default_factory=list)
    # overlap[m][j]: (share of model candidate m inside image candidate j, their Dice)
    overlap: list[list[tuple[float, float]]] = field(default_factory=list)
    # model_overlap[m][n]: (share of model candidate m inside model candidate n, their Dice)
    model_overlap: list[list[tuple[float, float]]] = field(default_factory=list)
    model_choice: int = 0  # the model's own choice (best predicted IoU at the click)
    seed_suv: float = 0.0  # SUV at the click voxel
    local_max: float = 0.0  # SUVmax within 10 mm of the click (the isocontours' reference)

    def overlap_with(self, choice: int) -> list[tuple[float, float]]:
        """Per candidate: (share of model candidate ``choice`` inside it, Dice of the two)."""
        return ([self.model_overlap[choice][n] for n in range(self.num_model)]
                + list(self.overlap[choice]))

    def mask(self, index: int) -> BoxMask:
        """Candidate ``index`` on the image grid (a model mask within the first patch)."""
        if index >= self.num_model:
            return self.image_masks[index - self.num_model]
        return self.model_masks[index]

    def add_image_candidate(self, volume: Volume, mask: BoxMask, source: str) -> int:
        """Append a full-resolution candidate made from the image (``source`` names how);
        returns its index."""
        index = len(self.infos)
        self.infos.append(_info(volume, mask, index, source))
        self.image_masks.append(mask)
        for m, model_mask in enumerate(self.model_masks):
            self.overlap[m].append(mask_overlap(model_mask, mask))
        return index

    def image_mask(self, index: int) -> BoxMask | None:
        """The full-resolution mask of candidate ``index`` if it is an image candidate."""
        return self.image_masks[index - self.num_model] if index >= self.num_model else None


def _model_mask(volume: Volume, grid: PatchGrid, logits: np.ndarray,
                seed: tuple[int, int, int]) -> BoxMask:
    """One candidate's low-res logits ``(L, L, L)`` pasted on the image grid, clicked part."""
    box, lo, _ = paste_mask([LogitTile(grid.coarsened(logits.shape[0]), logits)], volume)
    local = tuple(seed[d] - int(lo[d]) for d in range(3))
    if box.size and all(0 <= local[d] < box.shape[d] for d in range(3)):
        box = keep_components_with_seeds(box > 0, [local])  # type: ignore[arg-type]
    return BoxMask.cropped(box > 0, lo)


def _info(volume: Volume, mask: BoxMask, index: int, source: str, **extra: float) -> CandidateInfo:
    step = boundary_step(volume, mask) if mask.voxels else BoundaryStep(0.0, 0.0)
    return CandidateInfo(index, source, mask.voxels * volume.voxel_volume_ml,
                         mask_quality(step) if mask.voxels else 0.0, step, **extra)


def build_candidate_set(volume: Volume, grid: PatchGrid, logits: np.ndarray, ious: np.ndarray,
                        seed: tuple[int, int, int], isocontours: bool = True,
                        model_choice: int = 0) -> CandidateSet:
    """The model's candidates ``logits (M, L, L, L)`` / ``ious (M,)`` of the first patch
    ``grid`` plus (``isocontours``) the isocontours around ``seed`` within its extent;
    ``model_choice`` is the model's own pick among its candidates."""
    model_masks = [_model_mask(volume, grid, lg, seed) for lg in logits]
    infos = [_info(volume, mask, m, "model", predicted_iou=float(iou))
             for m, (mask, iou) in enumerate(zip(model_masks, ious))]
    if not isocontours or volume.array[seed] <= 0:
        return CandidateSet(infos, len(logits), model_masks=model_masks,
                            model_choice=model_choice)
    box = first_patch_box(volume, grid)
    image_masks = []
    strongest = logits.max(axis=0)
    local_max, isocontours_found = isocontour_candidates(volume, seed, box)
    supports = model_supports(volume, grid, strongest, [m for _, m in isocontours_found])
    for (fraction, mask), support in zip(isocontours_found, supports):
        infos.append(_info(volume, mask, len(infos), "isocontour", fraction=fraction,
                           model_support=support))
        image_masks.append(mask)
    overlap = [[mask_overlap(m, j) for j in image_masks] for m in model_masks]
    model_overlap = [[mask_overlap(m, n) for n in model_masks] for m in model_masks]
    return CandidateSet(infos, len(logits), image_masks, model_masks, overlap, model_overlap,
                        model_choice, float(volume.array[seed]), float(local_max))


def first_patch_box(volume: Volume, grid: PatchGrid) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` voxel bounds of the first patch ``grid`` on the image."""
    return grid.box_covering(volume.grid, np.zeros(3), np.full(3, grid.size - 1))


def model_support(volume: Volume, grid: PatchGrid, strongest: np.ndarray, mask: BoxMask) -> float:
    """Share of ``mask``'s voxels where the strongest model candidate logit ``strongest (L, L, L)``
    (max over candidates, low-res grid of the first patch ``grid``) exceeds ``SUPPORT_LOGIT``;
    voxels outside the patch count as unsupported."""
    return model_supports(volume, grid, strongest, [mask])[0]


def model_supports(volume: Volume, grid: PatchGrid, strongest: np.ndarray,
                   masks: list[BoxMask]) -> list[float]:
    """:func:`model_support` of each of ``masks``, mapping the voxels of their union to the
    low-res grid once (the isocontours are nested: one mapping instead of five)."""
    filled = [m for m in masks if m.voxels]
    if not filled:
        return [0.0] * len(masks)
    lo = np.min([m.lo for m in filled], axis=0)
    hi = np.max([m.lo + np.asarray(m.array.shape) for m in filled], axis=0)
    shape = tuple(int(v) for v in hi - lo)
    placed = [BoxMask(m.lo - lo, m.array).full(shape).astype(bool) for m in filled]
    supported = _supported_voxels(volume, grid.coarsened(strongest.shape[0]), strongest, lo,
                                  placed)
    shares = iter(float((p & supported).sum()) / p.sum() for p in placed)
    return [next(shares) if m.voxels else 0.0 for m in masks]


def _supported_voxels(volume: Volume, low: PatchGrid, strongest: np.ndarray, lo: np.ndarray,
                      placed: list[np.ndarray]) -> np.ndarray:
    """Bool over the box at ``lo`` of ``placed``'s shape: the voxel's nearest low-res voxel of
    ``low`` (inside it) has ``strongest`` logit over ``SUPPORT_LOGIT``. Exact on the voxels of
    ``placed``'s union (elsewhere possibly True too, which no share counts)."""
    shape, size = placed[0].shape, strongest.shape[0]
    lines = volume.grid.axis_lines_in(low, lo, lo + np.asarray(shape))
    if lines is not None:  # axis-aligned: gather per axis instead of per voxel (3 N, not N^3)
        index = [np.rint(values).astype(int) for _, values in lines]
        inside = [(i >= 0) & (i < size) for i in index]
        logits = strongest.transpose([axis for axis, _ in lines])
        gathered = logits[np.ix_(*(np.clip(i, 0, size - 1) for i in index))]
        along_i, along_j, along_k = inside
        return ((gathered > SUPPORT_LOGIT) & along_i[:, None, None] & along_j[None, :, None]
                & along_k[None, None, :])
    voxels = np.argwhere(np.logical_or.reduce(placed))
    index = np.rint(volume.grid.index_in(low, voxels + lo)).astype(int)
    keep = np.all((index >= 0) & (index < size), axis=1)
    supported = np.zeros(shape, bool)
    hits = voxels[keep][strongest[tuple(index[keep].T)] > SUPPORT_LOGIT]
    supported[tuple(hits.T)] = True
    return supported


def on_plateau(info: CandidateInfo) -> bool:
    """Whether candidate ``info``'s surface lies on its object's plateau: its inner and outer
    shells differ by under ``PLATEAU_CONTRAST`` (5 %). A mask that stopped inside a homogeneous
    organ says nothing about where the organ ends (docs/results.md, plateau snap)."""
    return info.volume_ml > 0 and info.boundary.contrast < PLATEAU_CONTRAST


def mask_overlap(model: BoxMask, image: BoxMask) -> tuple[float, float]:
    """(share of ``model`` inside ``image``, Dice of the two), computed in their joint box."""
    if model.voxels == 0 or image.voxels == 0:
        return 0.0, 0.0
    lo = np.minimum(model.lo, image.lo)
    hi = np.maximum(model.lo + model.array.shape, image.lo + image.array.shape)
    shape = tuple(int(v) for v in hi - lo)
    a = BoxMask(model.lo - lo, model.array).full(shape) > 0
    b = BoxMask(image.lo - lo, image.array).full(shape) > 0
    both = int((a & b).sum())
    return both / model.voxels, 2.0 * both / (model.voxels + image.voxels)


def choose_shown(candidates: CandidateSet, model_choice: int, plateau_snap: bool = False) -> int:
    """The candidate shown after the first click (module docstring, rules 1-3; with
    ``plateau_snap`` rule 5's part in rule 2)."""
    image = [c for c in candidates.infos[candidates.num_model:]
             if c.model_support is None or c.model_support >= MIN_SUPPORT]
    if not image:
        return model_choice
    shown = candidates.infos[model_choice]
    model_step = max(shown.boundary.step, 0.0)
    largest = max(c.volume_ml for c in candidates.infos[:candidates.num_model])
    limit = MAX_GROWTH * largest if largest > 0 else np.inf  # no model mask: no bound
    bounded = [c for c in image if c.volume_ml <= limit]
    best = max((c.boundary.step for c in bounded), default=0.0)
    if best > 0 and best >= SWITCH_RATIO * model_step:
        pool = bounded
    else:
        plateau = plateau_snap and on_plateau(shown)  # the Dice test keeps a mask inside an organ
        pool = _snap_outward_pool(candidates, image, model_choice, same_object=not plateau)
        if not pool or max(c.boundary.step for c in pool) <= model_step:
            return model_choice
    top = max(c.boundary.step for c in pool)
    flat = [c for c in pool if c.boundary.step >= (1.0 - FLAT_TOP) * top]
    return max(flat, key=lambda c: c.volume_ml).index


def _snap_outward_pool(candidates: CandidateSet, image: list[CandidateInfo], model_choice: int,
                       same_object: bool = True) -> list[CandidateInfo]:
    """Rule 2's pool: the isocontours of ``image`` larger than the model's choice that hold
    ``CONTAIN`` of it, smallest first, as a chain of the same object (``same_object``): the
    first overlaps the model's mask with Dice >= ``SAME_OBJECT``, each next one the previous
    member (the family is nested, so their Dice is ``2 v_small / (v_small + v_large)``); the
    first that fails ends the pool. A leak into a neighbour is a jump of the family, a blurred
    edge a climb (docs/results.md, rule 2 as a chain, 2026-12-03 15:52 UTC)."""
    overlap = candidates.overlap[model_choice]
    shown = candidates.infos[model_choice]
    pool: list[CandidateInfo] = []
    for c in sorted((c for c in image if c.volume_ml > shown.volume_ml), key=lambda c: c.volume_ml):
        held, with_model = overlap[c.index - candidates.num_model]
        if held < CONTAIN:
            continue
        if same_object:
            smaller = pool[-1].volume_ml if pool else None
            dice = with_model if smaller is None else 2.0 * smaller / (smaller + c.volume_ml)
            if dice < SAME_OBJECT:
                break
        pool.append(c)
    return pool


def ranking_features(candidates: CandidateSet) -> np.ndarray | None:
    """The ranker's features ``(N, F)`` of every candidate, or None without isocontours (safety
    net off, or a click on zero uptake: then the model's choice stands)."""
    if not candidates.image_masks:
        return None
    choice = candidates.model_choice
    context = RankingContext(choice, choose_shown(candidates, choice),
                             candidates.overlap_with(choice), candidates.seed_suv,
                             candidates.local_max)
    return candidate_features(candidates.infos, candidates.num_model, context)


def rank_candidates(candidates: CandidateSet, ranker: CandidateRanker) -> int:
    """The candidate of highest predicted Dice (:mod:`seganypet.session.ranking`); every
    candidate's ``score`` becomes its predicted Dice."""
    features = ranking_features(candidates)
    if features is None:
        return candidates.model_choice
    predicted = ranker.predict(features)
    candidates.infos = [replace(info, score=float(p))
                        for info, p in zip(candidates.infos, predicted)]
    return int(np.argmax(predicted))


def step_to(candidates: CandidateSet | None, current: int, larger: bool) -> int:
    """The candidate with the next larger (or smaller) volume than candidate ``current``.

    Raises:
        InputError: when there are no candidates, or none larger / smaller.
    """
    if candidates is None:
        raise InputError("no candidates to step through: grow/shrink work after an object's "
                         "first click, before any further click")
    volume = candidates.infos[current].volume_ml
    pool = [c for c in candidates.infos if c.volume_ml > 0
            and (c.volume_ml > volume if larger else c.volume_ml < volume)]
    if not pool:
        raise InputError(f"no {'larger' if larger else 'smaller'} candidate than the one shown "
                         f"({volume:.1f} ml)")
    pick = min(pool, key=lambda c: c.volume_ml) if larger else max(pool, key=lambda c: c.volume_ml)
    return pick.index


def shown_logits(volume: Volume, grid: PatchGrid, candidates: CandidateSet | None,
                 model_logits: np.ndarray, index: int) -> np.ndarray:
    """Low-res logits ``(L, L, L)`` of candidate ``index`` on the first patch ``grid``: the
    mask prompt of the object's next click. An isocontour is sampled as a prompt mask is
    (:data:`seganypet.session.decoding.PROMPT_MASK_LOGIT`)."""
    image = candidates.image_mask(index) if candidates is not None else None
    if image is None:
        return model_logits[index].copy()
    low = grid.coarsened(model_logits.shape[-1])
    fraction = sample_volume(mask_box_volume(volume, image), low)
    return ((2.0 * fraction - 1.0) * PROMPT_MASK_LOGIT).astype(np.float32)


def mask_box_volume(volume: Volume, mask: BoxMask) -> Volume:
    """``mask`` as a float32 volume of its own box, one voxel wider where the image allows:
    sampled like the whole-volume mask (zero outside the box; at the image border the box
    ends where the image does, so centres beyond it read 0 as there), without a whole-volume
    copy (12 ms of a whole-body first click)."""
    lo = np.maximum(mask.lo - 1, 0)
    hi = np.minimum(mask.lo + np.asarray(mask.array.shape) + 1, volume.shape)
    array = region_over(mask.array, mask.lo, lo, tuple(hi - lo)).astype(np.float32)
    affine = volume.affine.copy()
    affine[:3, 3] = volume.affine[:3, :3] @ lo + volume.affine[:3, 3]
    return Volume(array, affine)


def shown_image_mask(candidates: CandidateSet | None, index: int,
                     shape: tuple[int, int, int]) -> np.ndarray | None:
    """The full-resolution uint8 mask when candidate ``index`` is an isocontour, else None."""
    image = candidates.image_mask(index) if candidates is not None else None
    return None if image is None else image.full(shape)
