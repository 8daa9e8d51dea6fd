"""Plateau snap v2: a model mask that stopped inside a homogeneous organ beside a hotter
neighbour gives way to the organ's own opened isocontour inside the click's territory."""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from seganypet.evaluation.metrics import dice
from seganypet.preprocess import patch_grid_around
from seganypet.session.candidates import build_candidate_set, choose_shown, on_plateau
from seganypet.session.neighbours import clicked_territory
from seganypet.session.safety_net import BoxMask, boundary_step
from seganypet.session.territory_rule import clicked_organ, snap_plateau_to_territory
from seganypet.volume import Volume

SHAPE = (72, 72, 72)
SPACING = 3.0
CLICK = (30, 36, 36)


def _distance(centre, radii=(1.0, 1.0, 1.0)) -> np.ndarray:
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in SHAPE], indexing="ij"), -1)
    return np.linalg.norm((idx - np.asarray(centre)) * SPACING / np.asarray(radii), axis=-1)


def organ_beside_heart(heart: bool = True, strand: bool = False, seed: int = 0):
    """A liver-like ellipsoid (SUV 2, semi-axes 54 / 42 / 42 mm) touching a hotter ball
    (SUV 6, 24 mm radius: a heart wall's level) in a background of 0.4, 6.5 mm PSF, count-like
    noise (10 % of the uptake). ``strand``: a 3 mm wide tube at the organ's level runs from it
    to a second, separate blob of the same uptake (the lace a noisy plateau forms)."""
    organ = _distance(CLICK, (54 / 42, 1.0, 1.0)) < 42.0
    other = _distance((CLICK[0] + 29, 36, 36)) < 24.0
    blob = _distance((30, 36, 66)) < 12.0
    tube = np.zeros(SHAPE, bool)
    tube[29:31, 35:37, 48:62] = True
    activity = 0.4 + 1.6 * organ
    if heart:
        activity = np.where(other & ~organ, 6.0, activity)
    if strand:
        activity = np.where((blob | tube) & ~organ, 2.0, activity)
    rng = np.random.default_rng(seed)
    image = ndimage.gaussian_filter(activity, 6.5 / 2.3548 / SPACING)
    image = image * (1.0 + 0.1 * rng.standard_normal(SHAPE))
    volume = Volume(image.astype(np.float32), np.diag([SPACING] * 3 + [1.0]))
    return volume, organ, other & ~organ, blob


def _candidates(volume: Volume, inner_mm: float):
    """The candidate set of a 'model' whose one mask is a ball of ``inner_mm`` at the click (the
    mask a third of the liver that stops on its plateau)."""
    grid = patch_grid_around(volume, np.asarray(CLICK, float), 64, SPACING)
    low = grid.coarsened(32)
    centres = np.stack(np.meshgrid(*[np.arange(32)] * 3, indexing="ij"), -1).reshape(-1, 3)
    world = low.affine[:3, :3] @ centres.T + low.affine[:3, 3:4]
    click_mm = volume.affine[:3, :3] @ np.asarray(CLICK, float) + volume.affine[:3, 3]
    distance = np.linalg.norm(world.T - click_mm, axis=1).reshape(32, 32, 32)
    logits = (4.0 * (inner_mm - distance) / inner_mm)[None].astype(np.float32)
    return grid, build_candidate_set(volume, grid, logits, np.array([0.3], np.float32), CLICK)


def test_a_mask_stopped_inside_the_organ_snaps_to_the_organ() -> None:
    volume, organ, heart, _ = organ_beside_heart()
    grid, candidates = _candidates(volume, 22.0)
    assert on_plateau(candidates.infos[0])  # the model's mask lies on the organ's plateau
    assert choose_shown(candidates, 0) == 0  # rules 1-2 keep it (its isocontours take the heart)
    shown = snap_plateau_to_territory(volume, grid, candidates, 0, CLICK)
    assert candidates.infos[shown].source == "territory"
    mask = candidates.mask(shown).full(volume.shape) > 0
    assert dice(mask, organ) > 0.85
    assert (mask & heart).sum() < 0.02 * heart.sum()
    # the model's mask it replaced stays a candidate (grow / shrink reach it)
    assert candidates.mask(0).voxels < candidates.mask(shown).voxels


def test_no_snap_without_a_hotter_neighbour_or_off_the_plateau() -> None:
    volume, _, _, _ = organ_beside_heart(heart=False)
    grid, candidates = _candidates(volume, 22.0)
    assert snap_plateau_to_territory(volume, grid, candidates, 0, CLICK) == 0
    # a model mask on the organ's own edge is not on a plateau: left alone
    volume, organ, _, _ = organ_beside_heart()
    grid, candidates = _candidates(volume, 60.0)
    candidates.model_masks[0] = BoxMask.cropped(organ)
    candidates.infos[0] = dataclasses.replace(
        candidates.infos[0], volume_ml=float(organ.sum()) * volume.voxel_volume_ml,
        boundary=boundary_step(volume, BoxMask.cropped(organ)))
    assert not on_plateau(candidates.infos[0])
    assert snap_plateau_to_territory(volume, grid, candidates, 0, CLICK) == 0


def test_opening_cuts_the_lace_to_a_blob_of_the_same_uptake() -> None:
    volume, organ, _, blob = organ_beside_heart(strand=True)
    territory = clicked_territory(volume, CLICK, (np.zeros(3, int), np.asarray(SHAPE)))
    assert territory is not None
    anchor = BoxMask.cropped(_distance(CLICK) < 20.0)
    part = clicked_organ(volume, CLICK, territory, anchor)
    mask = part.full(volume.shape) > 0
    assert (mask & blob).sum() < 0.05 * blob.sum()
    assert dice(mask, organ) > 0.85


def test_rule_two_drops_its_overlap_test_only_for_a_plateau_choice_and_only_when_asked() -> None:
    from seganypet.session.candidates import CandidateInfo, CandidateSet
    from seganypet.session.safety_net import BoundaryStep

    def info(index: int, source: str, inner: float, outer: float, volume: float) -> CandidateInfo:
        return CandidateInfo(index, source, volume, 0.5, BoundaryStep(inner, outer),
                             model_support=None if source == "model" else 0.8)

    # the model's mask: 300 ml on a plateau (contrast 0.02); an isocontour 3x larger holding
    # it (share 0.95, Dice 0.5 < 0.6) with a real edge, over 3x (so no veto of rule 1)
    plateau = [info(0, "model", 2.0, 1.96, 300.0), info(1, "isocontour", 2.0, 0.6, 1000.0)]
    candidates = CandidateSet(plateau, 1, overlap=[[(0.95, 0.5)]])
    assert choose_shown(candidates, 0) == 0
    assert choose_shown(candidates, 0, plateau_snap=True) == 1
    # a model mask with an edge of its own (contrast 0.3) keeps the overlap test
    edged = [info(0, "model", 2.0, 1.4, 300.0), info(1, "isocontour", 2.0, 0.6, 1000.0)]
    assert choose_shown(CandidateSet(edged, 1, overlap=[[(0.95, 0.5)]]), 0, plateau_snap=True) == 0
