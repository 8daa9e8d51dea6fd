"""First-click candidates: isocontour safety net, boundary step, grow / shrink / undo, score."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from seganypet.errors import InputError
from seganypet.model import build_model
from seganypet.quantify.delineation import isocontour_family
from seganypet.session import Session
from seganypet.session.candidates import SUPPORT_LOGIT, CandidateInfo, CandidateSet, choose_shown
from seganypet.session.safety_net import BoundaryStep, BoxMask, boundary_step

from .conftest import layered_scene


@pytest.fixture(scope="module")
def tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("tiny")


def test_isocontour_family_is_nested_holds_the_seed_and_fills_holes() -> None:
    image = layered_scene()
    array = image.array.copy()
    array[24, 22, 20] = 0.5  # a cold (necrotic) voxel at the click, enclosed by the core
    image = image.with_array(array)
    suv_max, masks = isocontour_family(image, (24, 22, 20), (0.7, 0.3))
    assert suv_max == pytest.approx(float(array.max()))
    core, halo = masks
    assert core[24, 22, 20] and halo[24, 22, 20]  # filled hole: the seed belongs to both
    assert core.sum() < halo.sum() and not (core & ~halo).any()
    # the fraction 0.3 * 9 = 2.7 < 4 keeps the halo; 0.7 * 9 = 6.3 keeps the core only
    assert abs(core.sum() - (4 / 3) * np.pi * 4 ** 3) < 40
    assert abs(halo.sum() - (4 / 3) * np.pi * 9 ** 3) < 200


def test_boundary_step_reads_both_sides_of_the_surface() -> None:
    image = layered_scene()
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in image.shape], indexing="ij"), -1)
    dist = np.linalg.norm(idx - np.array([24, 22, 20]), axis=-1)
    halo = boundary_step(image, BoxMask.cropped(dist < 9))
    inside_halo = boundary_step(image, BoxMask.cropped(dist < 6))
    assert halo.inner == pytest.approx(4.0, abs=0.1) and halo.outer == pytest.approx(1.0, abs=0.1)
    assert halo.step > 2.5 and abs(inside_halo.step) < 0.2  # a surface on the plateau: no step
    assert halo.contrast == pytest.approx(halo.step / halo.inner)
    with pytest.raises(ValueError):
        boundary_step(image, BoxMask.cropped(np.zeros(image.shape, bool)))


def test_shells_equal_ndimage_erosion_and_dilation_also_at_the_border() -> None:
    from scipy import ndimage

    from seganypet.session.safety_net import mask_shells

    rng = np.random.default_rng(3)
    for shape in ((9, 7, 5), (4, 12, 3), (1, 6, 6)):
        inside = ndimage.gaussian_filter(rng.random(shape), 1.0) > 0.5
        inside[0] = True  # touches the array border: inner shell there, no outer one beyond
        inner, outer = mask_shells(inside)
        assert np.array_equal(inner, inside & ~ndimage.binary_erosion(inside, border_value=0))
        assert np.array_equal(outer, ndimage.binary_dilation(inside) & ~inside)
        assert inner[0].all()


def _info(index: int, source: str, step: float, volume: float) -> CandidateInfo:
    return CandidateInfo(index, source, volume, 0.5, BoundaryStep(1.0 + step, 1.0))


def test_selection_rule_veto_snap_and_flat_top() -> None:
    model = [_info(0, "model", 1.0, 500.0), _info(1, "model", 0.2, 900.0)]
    apart = [(0.0, 0.0), (0.0, 0.0)]

    def candidates(image: list[CandidateInfo], overlap: list[tuple[float, float]]) -> CandidateSet:
        return CandidateSet(model + image, 2, overlap=[overlap, apart])

    # comparable edges: the model's choice stays
    assert choose_shown(candidates([_info(2, "isocontour", 1.9, 20.0)], [(0.0, 0.0)]), 0) == 0
    # veto: twice as sharp; of the flat top (within 5 % of the best step) the largest
    veto = candidates([_info(2, "isocontour", 2.1, 20.0), _info(3, "isocontour", 2.05, 40.0),
                       _info(4, "isocontour", 1.5, 80.0)], [(0.0, 0.0)] * 3)
    assert choose_shown(veto, 0) == 3
    # snap outward: a larger isocontour holding the model's mask, with a sharper edge
    outward = [_info(2, "isocontour", 1.3, 700.0)]
    assert choose_shown(candidates(outward, [(0.95, 0.8)]), 0) == 2
    assert choose_shown(candidates(outward, [(0.5, 0.5)]), 0) == 0  # another object
    # a smaller isocontour with a (less than twice) sharper edge never replaces the model
    inward = [_info(2, "isocontour", 1.5, 300.0)]
    assert choose_shown(candidates(inward, [(0.6, 0.75)]), 0) == 0
    assert choose_shown(CandidateSet(model, 2), 1) == 1  # no isocontour: the model's choice
    # an isocontour the model does not support (mostly where every candidate is confident
    # background: a merge with neighbouring organs) is in neither pool
    merged = dataclasses.replace(veto.infos[3], model_support=0.3)
    assert choose_shown(candidates([veto.infos[2], merged, veto.infos[4]], [(0.0, 0.0)] * 3),
                        0) == 2
    unsupported = [dataclasses.replace(i, model_support=0.2) for i in veto.infos[2:]]
    assert choose_shown(candidates(unsupported, [(0.0, 0.0)] * 3), 0) == 0
    assert choose_shown(candidates([dataclasses.replace(outward[0], model_support=0.4)],
                                   [(0.95, 0.8)]), 0) == 0


def test_snap_outward_climbs_a_blurred_edge_as_a_chain_and_stops_at_a_jump() -> None:
    """Rule 2's same-object test follows the nested family: a core mask (2 ml) climbs to the
    5.8 ml isocontour whose step is within 5 % of the best, although that one overlaps the
    model's mask with Dice 0.53 only; a family that jumps (x3 in one step) ends there."""
    model = [_info(0, "model", 0.9, 2.1), _info(1, "model", 0.0, 125.0)]
    steps_volumes = [(1.19, 3.2), (1.36, 4.7), (1.33, 5.8), (1.2, 6.9), (0.63, 11.1)]
    family = [_info(2 + n, "isocontour", step, volume) for n, (step, volume) in enumerate(steps_volumes)]
    overlap = [(1.0, 2 * 2.1 / (2.1 + v)) for _, v in steps_volumes]  # nested around the model's
    apart = [(0.0, 0.0)] * len(family)
    assert choose_shown(CandidateSet(model + family, 2, overlap=[overlap, apart]), 0) == 4
    jumped = [dataclasses.replace(family[0], volume_ml=3.2), dataclasses.replace(family[1], volume_ml=4.7),
              dataclasses.replace(family[2], volume_ml=15.0, boundary=BoundaryStep(2.5, 1.0))]
    overlap = [(1.0, 2 * 2.1 / (2.1 + c.volume_ml)) for c in jumped]
    chosen = choose_shown(CandidateSet(model + jumped, 2, overlap=[overlap, apart[:3]]), 0)
    assert chosen == 3  # the 0.6 isocontour: the 15 ml one (a leak, x3.2) is not in the pool


def test_model_support_counts_voxels_the_model_does_not_rule_out() -> None:
    from seganypet.preprocess import patch_grid_around
    from seganypet.session.candidates import model_support

    image = layered_scene()
    grid = patch_grid_around(image, np.array([24.0, 22.0, 20.0]), 16, 4.0)
    strongest = np.full((8, 8, 8), -5.0, np.float32)
    strongest[:, :4] = 1.0  # the model allows the half of the patch with low j only
    whole = BoxMask.cropped(np.ones(image.shape, bool))
    low = grid.coarsened(8)
    centres = image.grid.index_in(low, np.argwhere(np.ones(image.shape, bool)))
    cells = np.rint(centres).astype(int)
    inside = np.all((cells >= 0) & (cells < 8), axis=1)
    expected = (inside & (cells[:, 1] < 4)).sum() / whole.voxels
    assert model_support(image, grid, strongest, whole) == pytest.approx(expected)
    assert 0.0 < expected < 0.5  # the patch covers part of the image; half of it is allowed
    assert model_support(image, grid, strongest, BoxMask.cropped(np.zeros(image.shape, bool))) == 0
    # Several masks at once (one mapping of their union) give each mask's own share.
    from seganypet.session.candidates import model_supports

    left, right = np.zeros(image.shape, bool), np.zeros(image.shape, bool)
    left[10:30, 5:25, 10:30] = True
    right[20:40, 15:40, 12:28] = True
    masks = [BoxMask.cropped(left), BoxMask.cropped(np.zeros(image.shape, bool)),
             BoxMask.cropped(right), whole]
    together = model_supports(image, grid, strongest, masks)
    alone = [model_support(image, grid, strongest, m) for m in masks]
    assert together == pytest.approx(alone) and together[1] == 0.0
    assert together[0] != pytest.approx(together[2])  # different masks, different shares


def test_grow_shrink_step_by_volume_and_undo_restores_the_mask(tiny_model) -> None:
    session = Session(tiny_model, multimask=True, max_tiles=2)
    session.set_image(layered_scene())
    session.add_point((24, 22, 20))
    infos = session.candidates
    assert [c.index for c in infos] == list(range(len(infos)))
    assert {c.source for c in infos} == {"model", "isocontour"}
    assert all(0.0 <= c.score <= 1.0 for c in infos)
    assert session.score == infos[session.candidate].score
    # go to the smallest candidate, then grow through every larger distinct volume
    while True:
        try:
            session.shrink()
        except InputError:
            break
    volumes = sorted({c.volume_ml for c in infos if c.volume_ml > 0})
    assert infos[session.candidate].volume_ml == volumes[0]
    for expected in volumes[1:]:
        before = session.mask.array.copy()
        shown = session.candidate
        session.grow()
        assert infos[session.candidate].volume_ml == expected
        session.undo()
        assert session.candidate == shown and np.array_equal(session.mask.array, before)
        session.grow()
    with pytest.raises(InputError, match="no larger candidate"):
        session.grow()
    # an isocontour candidate is shown exactly as the isocontour
    iso = next(c for c in infos if c.source == "isocontour")
    session.select_candidate(iso.index)
    core = session.current.tiles[(0, 0, 0)].candidate_set.image_mask(iso.index)
    assert np.array_equal(session.mask.array, core.full(session.mask.shape))
    # a refinement click ends the first-click candidates
    session.add_point((24, 22, 26))
    assert session.candidates == [] and session.candidate is None
    assert session.score is None or 0.0 <= session.score <= 1.0
    with pytest.raises(InputError, match="no candidates"):
        session.shrink()


def test_grow_without_candidates_is_an_input_error(tiny_model) -> None:
    session = Session(tiny_model, multimask=False, max_tiles=2)
    session.set_image(layered_scene())
    session.add_point((24, 22, 20))
    assert session.candidates == [] and session.candidate is None
    with pytest.raises(InputError, match="no candidates"):
        session.grow()


def test_isocontour_family_within_a_territory() -> None:
    """Outside ``within`` counts as no uptake: for the SUVmax reference and for the masks."""
    image = layered_scene()
    within = np.ones(image.shape, bool)
    within[26:, :, :] = False  # the half beyond i = 25 belongs to a neighbour
    suv_max, (core, halo) = isocontour_family(image, (22, 22, 20), (0.7, 0.3), within=within)
    assert suv_max == pytest.approx(float(image.array[:26].max()))
    assert not core[26:].any() and not halo[26:].any()
    _, (_, free_halo) = isocontour_family(image, (22, 22, 20), (0.7, 0.3))
    np.testing.assert_array_equal(halo, free_halo & within)


def test_opening_by_shifts_equals_ndimage_for_sphere_kernels() -> None:
    from scipy import ndimage

    from seganypet.quantify.peak import sphere_kernel
    from seganypet.session.safety_net import binary_opening_by_shifts

    rng = np.random.default_rng(1)
    for spacing, radius in (((9.38, 9.38, 6.54), 9.38), ((3.0, 3.0, 3.0), 6.0), ((2.0, 3.0, 5.0), 7.0)):
        kernel = sphere_kernel(np.diag([*spacing, 1.0]), radius)
        inside = ndimage.gaussian_filter(rng.random((23, 19, 27)), 1.5) > 0.5
        inside[0] = True  # at the array border: outside counts as outside the mask
        opened = binary_opening_by_shifts(inside, kernel)
        assert np.array_equal(opened, ndimage.binary_opening(inside, kernel))
        assert 0 < opened.sum() < inside.sum()


def test_an_isocontour_prompt_is_sampled_from_its_own_box() -> None:
    """The mask prompt of an image candidate, from its box one voxel wider (clipped to the
    image), equals sampling the whole-volume mask, also where the mask touches the border."""
    from seganypet.preprocess import patch_grid_around, sample_volume
    from seganypet.session.candidates import mask_box_volume
    from seganypet.volume import Volume

    affine = np.diag([4.0, 3.0, 2.5, 1.0])
    affine[:3, 3] = (-100.0, 20.0, -300.0)
    image = Volume(np.zeros((40, 30, 50), np.float32), affine)
    rng = np.random.default_rng(2)
    for lo, hi in (((5, 6, 7), (20, 18, 30)), ((0, 0, 40), (12, 30, 50))):
        mask = np.zeros(image.shape, bool)
        region = tuple(slice(a, b) for a, b in zip(lo, hi))
        mask[region] = rng.random(mask[region].shape) > 0.4
        box = BoxMask.cropped(mask)
        grid = patch_grid_around(image, np.asarray(lo, float), 32, 3.0).coarsened(16)
        whole = sample_volume(image.with_array(mask.astype(np.float32)), grid)
        np.testing.assert_allclose(sample_volume(mask_box_volume(image, box), grid), whole, atol=1e-6)
        assert whole.max() > 0.5


@pytest.mark.parametrize("kind", ["permuted", "oblique"])
def test_model_support_equals_the_per_voxel_mapping_on_any_axes(kind: str) -> None:
    """The axis-aligned fast path (three index lines) and the general one (every voxel mapped)
    give the share a per-voxel nearest-cell lookup gives, voxel for voxel."""
    from seganypet.preprocess import patch_grid_around
    from seganypet.session.candidates import model_supports
    from seganypet.volume import Volume

    rng = np.random.default_rng(5)
    if kind == "permuted":  # LPS-like: flipped and permuted axes, anisotropic voxels
        linear = np.array([[0.0, -3.0, 0.0], [2.5, 0.0, 0.0], [0.0, 0.0, -2.0]])
    else:
        angle = 0.3
        linear = np.array([[np.cos(angle), -np.sin(angle), 0.0],
                           [np.sin(angle), np.cos(angle), 0.0], [0.0, 0.0, 1.0]]) * 2.5
    affine = np.eye(4)
    affine[:3, :3], affine[:3, 3] = linear, (40.0, -20.0, 7.0)
    image = Volume(rng.random((36, 30, 28)).astype(np.float32), affine)
    assert (image.grid.axis_lines_in(image.grid, np.zeros(3), np.ones(3)) is None) == (kind == "oblique")
    grid = patch_grid_around(image, np.array([18.0, 15.0, 14.0]), 16, 4.0)
    strongest = rng.normal(-2.0, 1.0, size=(8, 8, 8)).astype(np.float32)
    masks = [BoxMask.cropped(rng.random(image.shape) > q) for q in (0.3, 0.7)]
    shares = model_supports(image, grid, strongest, masks)
    low = grid.coarsened(8)
    for mask, share in zip(masks, shares):
        voxels = np.argwhere(mask.full(image.shape))
        cells = np.rint(image.grid.index_in(low, voxels)).astype(int)
        inside = np.all((cells >= 0) & (cells < 8), axis=1)
        hits = np.zeros(len(voxels), bool)
        hits[inside] = strongest[tuple(cells[inside].T)] > SUPPORT_LOGIT
        assert share == hits.mean()
        assert 0.05 < share < 0.95


@pytest.mark.parametrize("seed", range(6))
def test_box_mask_cropped_is_the_tight_box_of_the_voxels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(1, 12, size=3))
    mask = rng.random(shape) < [0.0, 0.02, 0.3][seed % 3]
    if seed == 5:
        mask = np.asfortranarray(mask)  # any memory order
    lo = rng.integers(0, 5, size=3)
    box = BoxMask.cropped(mask.astype(np.uint8) if seed == 4 else mask, lo)
    where = np.argwhere(mask)
    if not where.size:
        assert box.array.size == 0 and np.array_equal(box.lo, lo)
        return
    start, stop = where.min(axis=0), where.max(axis=0) + 1
    assert np.array_equal(box.lo, lo + start)
    assert box.array.dtype == bool
    assert np.array_equal(box.array, mask[start[0]:stop[0], start[1]:stop[1], start[2]:stop[2]])
