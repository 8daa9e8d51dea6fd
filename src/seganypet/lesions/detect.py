"""Whole-body lesion mode: every lesion of a scan from automatic prompts.

Pipeline (one :class:`~seganypet.session.Session` on the scan, one object per prompt):

1. **Frame and liver**: the body frame and the automatic liver (:mod:`.anatomy`,
   :mod:`.liver`); the PERCIST threshold is ``1.5 × liver mean + 2 × SD`` (or a fixed SUV;
   ``FALLBACK_SUV`` with a warning when no liver is found).
2. **Hot spots**: 18-connected components of ``SUV >= threshold`` inside the body, at least
   ``min_spot_ml``; with an automatic threshold also the **contrast spots** below it (partial
   volume: small compact spots above the liver mean that stand out of their local
   background, :func:`~seganypet.lesions.hotspots.find_contrast_spots`), except those in the
   liver or the bowel's place. Uptake of the bladder's spot reaching beyond the bladder's
   blurred edge is split from it (:func:`_split_bladder`: a node touching the bladder).
3. **Physiological uptake**: the spots the anatomy rules name (:mod:`.organs`) are prompted
   once each; their model mask ∩ the hot voxels, plus the spot, is that organ's region; every
   other spot lying mostly inside an organ region is that organ too. Spots within the liver
   are never another organ. A contrast spot in an organ's place is that organ unprompted.
4. **One prompt per remaining spot**, hottest first, at its SUVmax voxel. The guard against
   the model's leaks into neighbouring uptake is the hot spot itself: ``core`` = the region
   around the seed above ``bg + core_fraction × (SUVmax − bg)`` (``bg`` the local
   background, never below the spot's level), ``extent`` = the same at ``extent_fraction``
   without the floor. Of the model's first-click candidates the one with the best Dice
   against ``core`` is kept; the lesion is ``(model ∩ extent) ∪ core``, made solid (closed,
   holes filled) for large spots, minus organ regions and earlier lesions. A candidate whose
   hot core alone fits an organ's place and size while its spot is much larger is that
   organ merged with other uptake (:func:`_organ_by_core`).
5. **Drop what the model rejects**: the score is that best Dice; below ``min_score``
   (``min_score_below`` for contrast spots) the model's mask does not describe the hot spot
   and the candidate is dropped. Small faint blobs (< ``faint_ml`` and
   SUVmax < ``min_contrast`` × the local background) are dropped, and so are contrast spots
   less than ``ContrastSettings.min_peak_contrast`` times their shell (before any prompt) or
   whose lesion grows past twice ``ContrastSettings.max_ml`` (part of a larger warm
   structure). A spot whose SUVmax voxel already lies in an earlier lesion is merged into it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cc3d
import numpy as np
from scipy import ndimage
from tqdm import tqdm

from seganypet.errors import InputError
from seganypet.evaluation.metrics import dice
from seganypet.lesions.anatomy import BodyFrame, body_frame
from seganypet.lesions.hotspots import (
    ContrastSettings,
    HotSpot,
    describe_region,
    find_contrast_spots,
    find_hot_spots,
    local_hot_region,
)
from seganypet.lesions.liver import LiverFinding, find_liver
from seganypet.lesions.organs import (
    ORGAN_MIN_ML,
    PHYSIOLOGICAL_ORGANS,
    in_bowel_place,
    organ_candidates,
    organ_of,
)
from seganypet.quantify.percist import deepest_voxel
from seganypet.volume import Volume

__all__ = ["LesionResult", "LesionSettings", "find_lesions"]

log = logging.getLogger(__name__)

_MAX_TILES = 4
# Hot spots at least this large (ml at the threshold) are clicked at their deepest voxel.
_LARGE_SPOT_ML = 20.0
# Their lesions are made solid with a closing of about one PSF width (_solid).
_CLOSING_MM = 8.0
# Without a liver (none in the field of view, or none the image heuristics accept) PERCIST
# has no reference: the fixed SUV 4 of autoPET-style threshold baselines is used instead.
FALLBACK_SUV = 4.0
# A hot spot at least this many times its hot core's volume is a merge of that core with other
# uptake; a core of at least _MERGED_ORGAN_MIN_ML ml in an organ's place is then that organ.
_MERGED_SPOT_RATIO = 4.0
_MERGED_ORGAN_MIN_ML = 10.0
# Uptake farther than this from the bladder's hot core is not the bladder's blurred edge
# (which falls from the core's level to the threshold within about one PSF FWHM, <= 10 mm).
_BLADDER_RIM_MM = 12.0


@dataclass(frozen=True)
class LesionSettings:
    """How lesion mode runs.

    Args:
        threshold: fixed SUV cut-off for hot spots; None = PERCIST from the automatic liver.
        exclude_organs: physiological organs to suppress (``organs.PHYSIOLOGICAL_ORGANS``).
        min_spot_ml: hot spots smaller than this are noise.
        core_fraction, extent_fraction: the hot-spot guard (module docstring, step 4).
        min_score: candidates whose model mask agrees less with the hot core are dropped.
        min_score_below: the same for spots found below the threshold (contrast spots), whose
            only other evidence is their contrast: the model must agree more.
        faint_ml, min_contrast: lesions smaller than ``faint_ml`` whose SUVmax is less than
            ``min_contrast`` × their local background are dropped: heterogeneous organ uptake
            (bowel, stomach) makes such blobs at 1.5-2.3 times their surroundings, while
            nodes and nodules sit in cold tissue and a bone lesion above the threshold stands
            ~2.5-3 times above the marrow (SUV ~1.6).
        guard: ``"hybrid"`` (step 4), ``"model"`` (the model's mask alone) or ``"hot"``
            (the core alone: the threshold method without the model), for measurements.
        contrast: the partial-volume pass below an automatic threshold
            (:func:`~seganypet.lesions.hotspots.find_contrast_spots`); None = threshold only.
    """

    threshold: float | None = None
    exclude_organs: tuple[str, ...] = PHYSIOLOGICAL_ORGANS
    min_spot_ml: float = 0.3
    core_fraction: float = 0.4
    extent_fraction: float = 0.2
    min_score: float = 0.1
    min_score_below: float = 0.3
    faint_ml: float = 2.0
    min_contrast: float = 2.5
    guard: str = "hybrid"
    contrast: ContrastSettings | None = field(default_factory=ContrastSettings)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.exclude_organs) - set(PHYSIOLOGICAL_ORGANS))
        if unknown:
            raise InputError(f"unknown organ(s) {unknown}; choose from {list(PHYSIOLOGICAL_ORGANS)}")
        if self.guard not in ("hybrid", "model", "hot"):
            raise InputError(f"guard {self.guard!r} is not hybrid, model or hot")
        if self.threshold is not None and not self.threshold > 0:
            raise InputError(f"the SUV threshold must be > 0, got {self.threshold}")


@dataclass(frozen=True)
class LesionResult:
    """Lesion mode's answer on one scan.

    Attributes:
        labels: uint16 ``(I, J, K)`` label map on the scan grid, lesion n = label n.
        scores: label -> model agreement score in [0, 1].
        threshold: SUV cut-off used; ``threshold_source`` ``"percist"``, ``"fixed"`` or
            ``"fallback"`` (no liver found: ``FALLBACK_SUV``).
        liver: the automatic liver (None when it was not found).
        organs: uint8 label map of the organs found; ``organ_names`` its label -> name.
        hot_spot_count: hot spots above the threshold (before suppression).
    """

    labels: Volume
    scores: dict[int, float]
    threshold: float
    threshold_source: str
    liver: LiverFinding | None
    organs: Volume
    organ_names: dict[int, str] = field(default_factory=dict)
    hot_spot_count: int = 0


def _liver(image: Volume, frame: BodyFrame, session, settings: LesionSettings
           ) -> LiverFinding | None:
    try:
        return find_liver(image, frame, session)
    except InputError:
        log.warning("no liver found; heights for the organ rules are taken from the body "
                    "centre%s", "" if settings.threshold is not None
                    else f" and the threshold falls back to SUV {FALLBACK_SUV:g}")
        return None


def _liver_height(frame: BodyFrame, image: Volume, liver: LiverFinding | None) -> float:
    """RAS axial index of the liver prompt (the body's mid-height without a liver)."""
    if liver is None:
        zs = np.nonzero(frame.body.any(axis=(0, 1)))[0]
        return float(zs.mean())
    marker = np.zeros(image.shape, bool)
    marker[liver.prompt_index] = True
    return float(np.argwhere(frame.to_ras(marker))[0][2])


@dataclass
class _Prompted:
    """One hot spot after its prompt: the hot core, the model's shown mask, the candidate
    agreeing best with the core, that agreement (Dice) and the peak / local background."""

    core: np.ndarray
    shown: np.ndarray | None
    best: np.ndarray | None
    score: float
    contrast: float
    extent: np.ndarray


def _prompt(session, name: str, seed: tuple[int, int, int], reference: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, float]:
    """One positive click at ``seed``: (shown mask, the first-click candidate with the best Dice
    against ``reference``, that Dice). Other candidates are decoded only when the shown one
    agrees poorly (< 0.5), which saves their tile extensions."""
    session.new_object(name)
    shown = session.add_point(seed).array > 0
    best, score = shown, dice(shown, reference)
    if score < 0.5:
        for k in range(len(session.candidate_ious)):
            mask = session.select_candidate(k).array > 0
            value = dice(mask, reference)
            if value > score:
                best, score = mask, value
    return shown, best, float(score)


def _box_pad(image: Volume) -> int:
    return int(np.ceil(60.0 / min(image.spacing)))  # the box holds lesions up to ~12 cm wide


def _prompt_spot(image: Volume, session, spot: HotSpot, threshold: float,
                 settings: LesionSettings, name: str) -> _Prompted:
    suv = np.asarray(image.array, dtype=np.float32)
    floor = min(threshold, spot.level) if spot.level > 0 else threshold
    core = local_hot_region(suv, spot.max_index, settings.core_fraction, floor, _box_pad(image))
    contrast = core.peak / max(core.background, 1e-3)
    full_core = core.full(image.shape)
    if (_below_threshold(spot, threshold) and settings.contrast is not None
            and (contrast < settings.contrast.min_peak_contrast
                 or full_core.sum() * image.voxel_volume_ml > 2 * settings.contrast.max_ml)):
        # Below the threshold contrast is the only evidence: a spot not conspicuous, or whose
        # core is no small spot (part of a larger warm structure), is not prompted.
        return _Prompted(full_core, None, None, 0.0, contrast, full_core)
    if settings.guard == "hot" and name.startswith("candidate"):
        return _Prompted(full_core, None, None, 1.0, contrast, full_core)
    extent = local_hot_region(suv, spot.max_index, settings.extent_fraction, 0.0,
                              _box_pad(image)).full(image.shape)
    click = spot.max_index
    if spot.volume_ml >= _LARGE_SPOT_ML:
        # A large tumour's maximum sits anywhere, often at its rim, where the model's patch
        # sees half the tumour: click the deepest voxel of the filled hot region instead.
        filled = ndimage.binary_fill_holes(local_hot_region(suv, spot.max_index, 0.0, threshold,
                                                            _box_pad(image)).full(image.shape))
        click, _ = deepest_voxel(image, filled)
    shown, best, score = _prompt(session, name, click, full_core)
    return _Prompted(full_core, shown, best, score, contrast, extent)


def _below_threshold(spot: HotSpot, threshold: float) -> bool:
    """Whether ``spot`` comes from the partial-volume pass (found below ``threshold``)."""
    return 0 < spot.level < threshold


def _lesion_mask(image: Volume, spot: HotSpot, prompted: _Prompted,
                 settings: LesionSettings) -> np.ndarray:
    """The guarded lesion mask of one prompted hot spot (scan order; module docstring)."""
    if settings.guard == "hot" or prompted.best is None:
        return prompted.core
    if settings.guard == "model":
        return prompted.best
    return (prompted.best & ndimage.binary_dilation(prompted.extent)) | prompted.core


def _surrounded_by(spot: np.ndarray, organ: np.ndarray) -> bool:
    """Whether most of the spot, or most of a 2-voxel shell around it, lies in ``organ`` (the
    model's liver can leave a metastasis out, but not the parenchyma around it)."""
    box = ndimage.find_objects(spot.astype(np.uint8))[0]
    box = tuple(slice(max(b.start - 3, 0), b.stop + 3) for b in box)
    local, inside = spot[box], organ[box]
    shell = ndimage.binary_dilation(local, iterations=2) & ~local
    return bool(inside[local].mean() > 0.5 or (shell.any() and inside[shell].mean() > 0.5))


def _organ_name(organ: str, spot: HotSpot) -> str:
    if organ != "kidney":
        return organ
    return "kidney_right" if spot.lateral_mm > 0 else "kidney_left"


def _organ_value(names: dict[int, str], name: str) -> int:
    """The organ map value of ``name`` (a new one the first time)."""
    for value, known in names.items():
        if known == name:
            return value
    names[len(names) + 1] = name
    return len(names)


def _organs(image: Volume, session, spots: list[HotSpot], spot_map: np.ndarray, threshold: float,
            settings: LesionSettings, liver: np.ndarray | None
            ) -> tuple[np.ndarray, dict[int, str], dict[int, _Prompted]]:
    """Scan-order uint8 organ label map, its names, and the prompts of the spots that turned
    out not to be organs (reused as lesion candidates).

    Spots within the liver (``liver``, bool, or None; :func:`_surrounded_by`) are never
    another organ, nor part of one. A spot in an organ's place that is organ-sized by itself
    is that organ; so is a contrast spot (below the threshold its place is the strongest
    evidence). A smaller hot spot is prompted: an organ-sized shown mask confirms it, and
    (shown mask ∩ hot voxels) ∪ spot becomes that organ's region; otherwise it stays a lesion
    candidate. Spots lying mostly inside an organ region join it.
    """
    in_liver = {s.label for s in spots
                if liver is not None and _surrounded_by(spot_map == s.label, liver)}
    hot = (spot_map > 0) & ~np.isin(spot_map, list(in_liver))
    region = np.zeros(image.shape, np.uint8)
    names: dict[int, str] = {}
    kept: dict[int, _Prompted] = {}
    by_label = {s.label: s for s in spots}
    for spot_label, organ in sorted(organ_candidates(spots, settings.exclude_organs).items()):
        spot = by_label[spot_label]
        in_spot = spot_map == spot_label
        if spot_label in in_liver:
            continue  # within the liver: a liver lesion, whatever organ's place it is in
        if spot.volume_ml >= ORGAN_MIN_ML[organ] or _below_threshold(spot, threshold):
            # The spot is the organ's hot part; no prompt needed.
            region[in_spot & (region == 0)] = _organ_value(names, _organ_name(organ, spot))
            continue
        prompted = _prompt_spot(image, session, spot, threshold, settings, organ)
        volume = float(prompted.shown.sum()) * image.voxel_volume_ml  # type: ignore[union-attr]
        if volume < ORGAN_MIN_ML[organ]:
            log.info("hot spot %d in the %s's place: model mask %.0f ml, kept as a lesion "
                     "candidate", spot_label, organ, volume)
            kept[spot_label] = prompted
            continue
        value = _organ_value(names, _organ_name(organ, spot))
        region[((prompted.shown & hot) | in_spot) & (region == 0)] = value  # type: ignore[operator]
    grown = ndimage.binary_dilation(region > 0)
    for spot in spots:
        inside = spot_map == spot.label
        if (spot.label not in in_liver and region[spot.max_index] == 0
                and grown[inside].mean() > 0.5):
            values = region[inside & (region > 0)]
            region[inside & (region == 0)] = np.bincount(values).argmax() if values.size else 1
            kept.pop(spot.label, None)
    return region, names, kept


def _candidate_spots(frame: BodyFrame, threshold: float, liver_z: float,
                     settings: LesionSettings, floor: float | None, liver: np.ndarray | None
                     ) -> tuple[np.ndarray, list[HotSpot]]:
    """RAS label map and descriptions of the hot spots at ``threshold`` and, with a liver
    reference (``floor`` = its mean) and ``settings.contrast``, the partial-volume spots below
    it (labels after the hot spots'). Contrast spots touching the liver's extent (scan-order
    bool ``liver``) are dropped: in the liver only PERCIST's level tells a lesion from the
    parenchyma, and the liver's thin edges stand out of the fat around them."""
    spot_ras, spots = find_hot_spots(frame, threshold, liver_z, frame.scan_index,
                                     settings.min_spot_ml)
    if floor is None or settings.contrast is None or floor >= threshold:
        return spot_ras, spots
    extra_ras, extra = find_contrast_spots(frame, floor, spot_ras > 0, liver_z,
                                           frame.scan_index, len(spots) + 1, settings.contrast)
    dropped = {s.label for s in extra if in_bowel_place(s)}
    if liver is not None:
        near = ndimage.binary_dilation(frame.to_ras(liver))
        dropped |= set(np.unique(extra_ras[near & (extra_ras > 0)]).tolist())
    extra = [s for s in extra if s.label not in dropped]
    extra_ras = np.where(np.isin(extra_ras, list(dropped)), 0, extra_ras)
    log.info("%d hot spots at SUV %.2f, %d contrast spots above SUV %.2f", len(spots),
             threshold, len(extra), floor)
    return np.where(extra_ras > 0, extra_ras, spot_ras), spots + extra


def _split_bladder(image: Volume, frame: BodyFrame, spots: list[HotSpot], spot_map: np.ndarray,
                   threshold: float, liver_z: float, settings: LesionSettings
                   ) -> tuple[np.ndarray, list[HotSpot], dict[int, np.ndarray]]:
    """Split from the bladder's hot spot the uptake beyond the bladder's own blur: scan-order
    label map, spots (the split parts appended with new labels) and each part's mask.

    Urine is the hottest uptake of most scans, so a node, the prostate or a bone lesion
    touching the bladder merges with it at the threshold. The bladder is a sac of uniform
    activity: from its hot core (above ``core_fraction`` of the way to its maximum) its
    blurred edge falls to the threshold within about one PSF width. A part of the spot
    outside the core reaching farther than ``_BLADDER_RIM_MM`` from it is another source.
    """
    bladder = [label for label, organ in organ_candidates(spots, settings.exclude_organs).items()
               if organ == "bladder"]
    if not bladder:
        return spot_map, spots, {}
    spot = next(s for s in spots if s.label == bladder[0])
    suv = np.asarray(image.array, dtype=np.float32)
    core = local_hot_region(suv, spot.max_index, settings.core_fraction, threshold,
                            _box_pad(image))
    in_spot = spot_map[core.box] == spot.label
    distance = ndimage.distance_transform_edt(~core.mask, sampling=image.spacing)
    rest = in_spot & ~ndimage.binary_dilation(core.mask)
    parts_map = cc3d.connected_components(rest, connectivity=18)
    spot_map, spots, parts = spot_map.copy(), list(spots), {}
    for n, box in enumerate(ndimage.find_objects(parts_map)):
        part = parts_map[box] == n + 1
        volume = float(part.sum()) * image.voxel_volume_ml
        if distance[box][part].max() < _BLADDER_RIM_MM or volume < settings.min_spot_ml:
            continue  # the bladder's own blurred edge
        mask = np.zeros(image.shape, bool)
        mask[core.box][box] = part
        label = max(s.label for s in spots) + 1
        spot_map[mask] = label
        parts[label] = mask
        spots.append(describe_region(frame, frame.to_ras(mask), liver_z, frame.scan_index,
                                     label, threshold))
        log.info("hot spot %d: %.1f ml beyond the bladder's edge, split from it", label, volume)
    return spot_map, spots, parts


def _prompt_part(image: Volume, session, part: np.ndarray, name: str) -> _Prompted:
    """One prompt at the deepest voxel of a part split from an organ; the part is the
    lesion's core and, grown by a voxel, its extent (its uptake is continuous with the
    organ's, so no threshold region around it would stop at the organ)."""
    click, _ = deepest_voxel(image, part)
    shown, best, score = _prompt(session, name, click, part)
    suv = np.asarray(image.array)
    shell = ndimage.binary_dilation(part, iterations=2) & ~part
    contrast = float(suv[part].max()) / max(float(np.median(suv[shell])), 1e-3)
    return _Prompted(part, shown, best, score, contrast, ndimage.binary_dilation(part))


def _organ_by_core(frame: BodyFrame, core: np.ndarray, spot: HotSpot, liver_z: float,
                   settings: LesionSettings, liver: np.ndarray | None) -> str | None:
    """The organ a lesion candidate's hot core (scan-order bool) is by itself, or None.

    At the threshold an organ can merge with neighbouring uptake (PSMA: kidney and bowel) into
    one spot whose centroid is in no organ's place; the hot core around the spot's maximum
    is the organ alone. Only a core clearly smaller than its spot is tested (otherwise the
    spot's own test stands), and never one inside the liver."""
    voxel_ml = float(np.prod(frame.spacing)) / 1000.0
    if not core.any() or _MERGED_SPOT_RATIO * float(core.sum()) * voxel_ml > spot.volume_ml:
        return None
    if liver is not None and _surrounded_by(core, liver):
        return None
    described = describe_region(frame, frame.to_ras(core), liver_z, frame.scan_index)
    organ = organ_of(described, settings.exclude_organs)
    if organ is None or described.volume_ml < max(ORGAN_MIN_ML[organ], _MERGED_ORGAN_MIN_ML):
        return None
    return _organ_name(organ, described)


def _solid(mask: np.ndarray, spacing) -> np.ndarray:
    """A large lesion made solid: closed with a ``_CLOSING_MM`` structuring element and its
    enclosed holes filled. Uptake inside a large tumour dips (necrosis, hypoxia, noise), so a
    threshold- or model-based mask is pitted and hollow where the tumour is not."""
    if not mask.any():
        return mask
    steps = max(1, round(_CLOSING_MM / float(np.mean(spacing))))
    box = tuple(slice(max(s.start - steps - 1, 0), s.stop + steps + 1)
                for s in ndimage.find_objects(mask.astype(np.uint8))[0])
    out = mask.copy()
    local = np.pad(mask[box], steps + 1)
    closed = ndimage.binary_closing(local, iterations=steps)[tuple(
        slice(steps + 1, -(steps + 1)) for _ in range(3))]
    out[box] |= ndimage.binary_fill_holes(closed)
    return out


def _keep_seeded(mask: np.ndarray, seed: tuple[int, int, int]) -> np.ndarray:
    """The connected part of ``mask`` holding ``seed`` (the largest part if it lost the seed)."""
    import cc3d

    parts = cc3d.connected_components(mask, connectivity=18)
    if parts[seed]:
        return parts == parts[seed]
    return cc3d.largest_k(mask, k=1, connectivity=18) > 0 if mask.any() else mask


def find_lesions(image: Volume, model, settings: LesionSettings = LesionSettings(), *,
                 progress: bool = False, device: str = "cpu") -> LesionResult:
    """Every lesion of a whole-body SUV scan ``(I, J, K)`` (see the module docstring).

    Args:
        image: SUV volume.
        model: a loaded SegAnyPET model (``seganypet.load_model``).
        settings: thresholds and guards.
        progress: show a progress bar (stderr) over the candidate prompts.
    """
    from seganypet.session import Session

    # Lesions and the liver fit in one 384 mm patch: a few tiles bound a leaking mask's cost.
    # The boundary-step rule shows the first-click candidate: the detection's guards were
    # designed and measured with it (the ranker is fitted on clicks at targets' deepest voxel).
    session = Session(model, device=device, max_tiles=_MAX_TILES, ranker=None)
    session.set_image(image)
    frame = body_frame(image)
    liver = _liver(image, frame, session, settings)
    if settings.threshold is not None:
        threshold, source = settings.threshold, "fixed"
    elif liver is not None:
        threshold, source = liver.reference.threshold, "percist"
    else:
        threshold, source = FALLBACK_SUV, "fallback"
    liver_z = _liver_height(frame, image, liver)
    liver_extent = None if liver is None else liver.extent
    spot_ras, spots = _candidate_spots(frame, threshold, liver_z, settings,
                                       None if source == "fixed" or liver is None
                                       else liver.reference.mean, liver_extent)
    spot_map, spots, parts = _split_bladder(image, frame, spots, frame.to_scan(spot_ras),
                                            threshold, liver_z, settings)
    organ_map, organ_names, prompted = _organs(
        image, session, spots, spot_map, threshold, settings, liver_extent)
    labels = np.zeros(image.shape, np.uint16)
    scores: dict[int, float] = {}
    remaining = sorted((s for s in spots if not organ_map[s.max_index]),
                       key=lambda s: (-s.suv_max, s.label))
    candidates = set(organ_candidates(spots, settings.exclude_organs))
    for spot in tqdm(remaining, desc="lesion candidates", disable=not progress, unit="spot"):
        if labels[spot.max_index]:
            continue  # merged: an earlier lesion already holds this hot spot's maximum
        name = f"candidate_{spot.label}"
        result = prompted.get(spot.label) or (
            _prompt_part(image, session, parts[spot.label], name) if spot.label in parts
            else _prompt_spot(image, session, spot, threshold, settings, name))
        if result.score < (settings.min_score_below if _below_threshold(spot, threshold)
                           else settings.min_score):
            log.info("hot spot %d dropped: model agreement %.2f", spot.label, result.score)
            continue
        mask = _lesion_mask(image, spot, result, settings)
        if spot.volume_ml >= _LARGE_SPOT_ML:
            mask = _solid(mask, image.spacing)
        mask = _keep_seeded(mask & (organ_map == 0) & (labels == 0), spot.max_index)
        if (_below_threshold(spot, threshold) and settings.contrast is not None
                and mask.sum() * image.voxel_volume_ml > 2 * settings.contrast.max_ml):
            log.info("contrast spot %d dropped: its lesion (%.0f ml) is no small spot",
                     spot.label, mask.sum() * image.voxel_volume_ml)
            continue
        organ = None if spot.label in candidates else _organ_by_core(
            frame, result.core, spot, liver_z, settings, liver_extent)
        if organ is not None:
            organ_map[(mask | result.core) & (organ_map == 0)] = _organ_value(organ_names, organ)
            log.info("hot spot %d: its hot core is the %s", spot.label, organ)
            continue
        if (mask.sum() * image.voxel_volume_ml < settings.faint_ml
                and result.contrast < settings.min_contrast):
            log.info("hot spot %d dropped: small and faint (contrast %.2f)", spot.label,
                     result.contrast)
            continue
        if mask.any():
            value = len(scores) + 1
            labels[mask] = value
            scores[value] = round(result.score, 4)
            log.info("lesion %d: score %.2f contrast %.2f level %.2f; %.0f mm above the liver, "
                     "%.0f right, %.0f behind", value, result.score, result.contrast, spot.level,
                     spot.height_mm, spot.lateral_mm, spot.posterior_mm)
    return LesionResult(
        labels=image.with_array(labels, unit="label"), scores=scores, threshold=float(threshold),
        threshold_source=source, liver=liver,
        organs=image.with_array(_with_liver(organ_map, organ_names, liver), unit="label"),
        organ_names=_liver_names(organ_names, liver), hot_spot_count=len(spots),
    )


def _with_liver(organ_map: np.ndarray, names: dict[int, str], liver: LiverFinding | None
                ) -> np.ndarray:
    if liver is None:
        return organ_map
    out = organ_map.copy()
    out[(liver.mask.array > 0) & (out == 0)] = len(names) + 1
    return out


def _liver_names(names: dict[int, str], liver: LiverFinding | None) -> dict[int, str]:
    return {**names, len(names) + 1: "liver"} if liver is not None else dict(names)
