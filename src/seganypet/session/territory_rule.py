"""Rules 4 and 5 of the first-click candidate choice: the clicked territory against a hotter
neighbour.

Rule 4 (:func:`keep_clicked_territory`): a node beside the bladder or the heart, whose shown
mask (a model candidate or an isocontour of the local SUVmax, which is the neighbour's) has
swallowed the neighbour, gives way to the clicked structure's own isocontour inside its
watershed territory (:mod:`seganypet.session.neighbours`). Declared and measured in
docs/results.md (v1-v3, 2026-12-03): v1 cut heterogeneous sarcomas to pockets, v2 missed its
node target by one mask, v3 (this) met all seven criteria.

Rule 5 (:func:`snap_plateau_to_territory`, on by default): a model mask that stopped on the plateau
inside a homogeneous organ beside a hotter neighbour (a liver mask a third of the liver, beside
the heart and a kidney) gives way to the organ's own opened isocontour inside its territory.
Declared and measured in docs/results.md (plateau snap v2 and its amendments, 2026-12-03; the
default since the exact speed-ups of 15:31 UTC).
"""

from __future__ import annotations

import cc3d
import numpy as np

from seganypet.preprocess import PatchGrid
from seganypet.quantify.delineation import isocontour_family
from seganypet.quantify.peak import sphere_kernel
from seganypet.session.block_grid import block_mean_volume, blocks_of, upsampled_mask
from seganypet.session.candidates import (
    CONTAIN,
    FLAT_TOP,
    CandidateSet,
    first_patch_box,
    mask_overlap,
    on_plateau,
)
from seganypet.session.neighbours import (
    HotterNeighbours,
    Territory,
    clicked_territory,
    hotter_neighbours,
)
from seganypet.session.safety_net import (
    FRACTIONS,
    BoxMask,
    binary_opening_by_shifts,
    boundary_step,
    region_over,
)
from seganypet.volume import Volume

__all__ = [
    "MOSTLY_NEIGHBOUR",
    "OWN_SURFACE",
    "apply_territory_rules",
    "clicked_organ",
    "clicked_part",
    "keep_clicked_territory",
    "snap_plateau_to_territory",
]

MOSTLY_NEIGHBOUR = 0.5
OWN_SURFACE = 0.5
FOCUS_MM = 40.0
FOCUS_MARGIN_MM = 10.0
OPEN_MM = 6.0


def _focus_box(volume: Volume, grid: PatchGrid, shown: BoxMask,
               seed: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` of the region the watershed runs in: the shown mask's box and ``FOCUS_MM``
    around the click (room for a 99 ml lesion), ``FOCUS_MARGIN_MM`` wider, within the first
    patch. The watershed is the first click's costliest step (0.12 s on a 0.8 M voxel patch
    box of a whole-body scan); what it decides lies in this region."""
    spacing = np.abs(np.asarray(volume.spacing, float))
    reach = np.ceil(FOCUS_MM / spacing).astype(int)
    margin = np.ceil(FOCUS_MARGIN_MM / spacing).astype(int)
    lo, hi = np.asarray(seed) - reach, np.asarray(seed) + reach + 1
    if shown.voxels:
        lo = np.minimum(lo, shown.lo)
        hi = np.maximum(hi, shown.lo + np.asarray(shown.array.shape))
    patch_lo, patch_hi = first_patch_box(volume, grid)
    return np.maximum(lo - margin, patch_lo), np.minimum(hi + margin, patch_hi)


def apply_territory_rules(volume: Volume, grid: PatchGrid, candidates: CandidateSet, choice: int,
                          seed: tuple[int, int, int], plateau_snap: bool = False) -> int:
    """Rules 4 and 5 of the first-click choice on a point click: :func:`keep_clicked_territory`,
    then (``plateau_snap``; the session's default) :func:`snap_plateau_to_territory`, when a
    hotter neighbour lies beside the click."""
    if len(candidates.overlap) != candidates.num_model:  # no image candidates were made
        return choice
    neighbours = hotter_neighbours(volume, seed, first_patch_box(volume, grid))
    if neighbours is None:
        return choice
    choice = keep_clicked_territory(volume, grid, candidates, choice, seed, neighbours)
    if not plateau_snap:
        return choice
    return snap_plateau_to_territory(volume, grid, candidates, choice, seed)


def keep_clicked_territory(volume: Volume, grid: PatchGrid, candidates: CandidateSet, choice: int,
                           seed: tuple[int, int, int],
                           neighbours: HotterNeighbours | None = None) -> int:
    """The candidate to show instead of ``choice`` when that one has swallowed a hotter neighbour.

    With a hotter neighbour beside the click (:mod:`seganypet.session.neighbours`; a node
    beside the bladder, whose masks are the bladder), candidate ``choice`` gives way when more
    than ``MOSTLY_NEIGHBOUR`` of it lies in the neighbour's territory or it holds at least that
    share of the neighbour's hot core. It gives way to the clicked structure's own isocontour
    (:func:`clicked_part`), which joins the candidates (source ``"territory"``) if it faces the
    click's territory over at least ``OWN_SURFACE`` of its outer shell (a "territory" that is a
    pocket enclosed by hotter uptake is the cooler part of one heterogeneous tumour). For point
    clicks (the session does not call it for boxes, scribbles or lassos). Rule declared in
    docs/results.md (v3, 2026-12-03 11:53 UTC). ``neighbours``: :func:`hotter_neighbours` of
    the click in the first patch, if already found.
    """
    if len(candidates.overlap) != candidates.num_model:  # no image candidates were made
        return choice
    shown = candidates.mask(choice)
    territory = clicked_territory(volume, seed, first_patch_box(volume, grid),
                                  focus=_focus_box(volume, grid, shown, seed), neighbours=neighbours)
    if territory is None:
        return choice
    if territory.share_outside(shown) <= MOSTLY_NEIGHBOUR \
            and territory.core_share(shown) < MOSTLY_NEIGHBOUR:
        return choice
    part = clicked_part(volume, seed, territory)
    if part is None or territory.faces_own_side(part) < OWN_SURFACE:
        return choice
    return candidates.add_image_candidate(volume, part, "territory")


def snap_plateau_to_territory(volume: Volume, grid: PatchGrid, candidates: CandidateSet,
                              choice: int, seed: tuple[int, int, int]) -> int:
    """The clicked structure's own isocontour instead of a model mask that stopped inside it.

    A model choice on a plateau (:func:`~seganypet.session.candidates.on_plateau`: a liver
    mask a third of the liver) is still shown when no model-supported isocontour holds it
    (rule 2), and a liver-sized isocontour cannot be supported by a model whose largest
    candidate is a third of it. Beside a hotter neighbour (the heart, a kidney), the clicked
    part inside the click's territory (:func:`clicked_organ`, found over the whole first patch
    on 2x2x2 block means, :mod:`seganypet.session.block_grid`) replaces it when it has a larger
    step against the click's own side, and, back on the image grid, is larger and holds at
    least ``CONTAIN`` of the model's mask. The watershed against the hotter neighbours is the
    guard against the leak model support guards against elsewhere; holding the model's mask,
    the part can only grow it (so no pocket test as in :func:`keep_clicked_territory`: an
    organ's whole surface may be the watershed line). Declared in docs/results.md (plateau snap
    v2, 2026-12-03 13:17 UTC, and its amendments).
    """
    if choice != candidates.model_choice or len(candidates.overlap) != candidates.num_model:
        return choice
    info = candidates.infos[choice]
    if not on_plateau(info):
        return choice
    box = first_patch_box(volume, grid)
    lo, blocks = box[0], block_mean_volume(volume, box)
    block_seed = tuple(int(v) for v in np.minimum((np.asarray(seed) - lo) // 2,
                                                  np.asarray(blocks.shape) - 1))
    territory = clicked_territory(blocks, block_seed, (np.zeros(3, int), np.asarray(blocks.shape)))
    if territory is None:
        return choice
    shown = candidates.mask(choice)
    anchor = blocks_of(shown, lo)
    part = clicked_organ(blocks, block_seed, territory, anchor) if anchor.voxels else None
    if part is None or territory.own_side_step(blocks, part) <= max(boundary_step(blocks, anchor).step, 0.0):
        return choice
    part = upsampled_mask(part, lo, volume.shape)
    if part.voxels <= shown.voxels or mask_overlap(shown, part)[0] < CONTAIN:
        return choice
    return candidates.add_image_candidate(volume, part, "territory")


def clicked_part(volume: Volume, seed: tuple[int, int, int], territory: Territory) -> BoxMask | None:
    """The clicked structure's isocontour inside its territory, or None when there is none.

    The safety net's fractions of the SUVmax within 10 mm of the click inside the territory,
    each restricted to it; of those, the largest whose step against the click's own
    surroundings (:meth:`Territory.own_side_step`) is within ``FLAT_TOP`` of the best, as rule 3
    of :func:`choose_shown` picks among isocontours.
    """
    _, masks = isocontour_family(volume, seed, FRACTIONS, box=territory.box, within=territory.inside)
    return _flattest_top(volume, territory, [BoxMask.cropped(m, territory.lo) for m in masks if m.any()])


def clicked_organ(volume: Volume, seed: tuple[int, int, int], territory: Territory,
                  anchor: BoxMask) -> BoxMask | None:
    """:func:`clicked_part` for a click inside a homogeneous organ, or None.

    At an organ's plateau level noisy uptake forms lace: strands that run out along vessels and
    between organs, and holes inside the organ. Each isocontour is opened with a ball of
    ``OPEN_MM`` (about the scanner's resolution: what is thinner is noise, not structure; at
    least one voxel of ``volume``'s grid) and reduced to the component holding most of
    ``anchor`` (the model's mask inside the organ; the click voxel itself may fall in a hole)
    before the pick.
    """
    _, masks = isocontour_family(volume, seed, FRACTIONS, box=territory.box, within=territory.inside)
    # at least one voxel of the grid it runs on (on 2x2x2 blocks a 6 mm ball is a single block)
    ball = sphere_kernel(volume.affine, max(OPEN_MM, float(np.max(np.abs(volume.spacing)))))
    family = [_opened_part(BoxMask.cropped(m, territory.lo), ball, anchor) for m in masks if m.any()]
    return _flattest_top(volume, territory, [m for m in family if m is not None])


def _opened_part(mask: BoxMask, ball: np.ndarray, anchor: BoxMask) -> BoxMask | None:
    """``mask`` opened with the structuring element ``ball``, its component holding most of
    ``anchor`` (None if the opening leaves none of it). Done in the mask's own box: an opening
    never leaves the mask, and outside the box the mask is empty, so it equals the whole-patch
    one."""
    opened = binary_opening_by_shifts(mask.array, ball)
    labels = cc3d.connected_components(opened.astype(np.uint8), connectivity=6)
    under = region_over(labels, mask.lo, anchor.lo, anchor.array.shape)[anchor.array]
    held = np.bincount(under, minlength=2)[1:]
    if not held.size or held.max() == 0:
        return None
    return BoxMask.cropped(labels == int(np.argmax(held)) + 1, mask.lo)


def _flattest_top(volume: Volume, territory: Territory, family: list[BoxMask]) -> BoxMask | None:
    """Of ``family``, the largest mask whose own-side step is within ``FLAT_TOP`` of the best
    (rule 3 of :func:`~seganypet.session.candidates.choose_shown`), or None."""
    if not family:
        return None
    steps = [territory.own_side_step(volume, m) for m in family]
    top = max(steps)
    if not top > 0:
        return None
    flat = [m for m, step in zip(family, steps) if step >= (1.0 - FLAT_TOP) * top]
    return max(flat, key=lambda m: m.voxels)
