"""Rule 4 of the first-click candidate choice: the clicked territory against a hotter neighbour.

A node beside the bladder or the heart: the shown mask (a model candidate or an isocontour of
the local SUVmax, which is the neighbour's) has swallowed the neighbour. It gives way to the
clicked structure's own isocontour inside its watershed territory
(:mod:`seganypet.session.neighbours`). Declared and measured in docs/results.md (v1-v3,
2026-12-03): v1 cut heterogeneous sarcomas to pockets, v2 missed its node target by one mask,
v3 (this) met all seven criteria.
"""

from __future__ import annotations

import numpy as np

from seganypet.preprocess import PatchGrid
from seganypet.quantify.delineation import isocontour_family
from seganypet.session.candidates import FLAT_TOP, CandidateSet, first_patch_box
from seganypet.session.neighbours import Territory, clicked_territory
from seganypet.session.safety_net import FRACTIONS, BoxMask
from seganypet.volume import Volume

__all__ = ["MOSTLY_NEIGHBOUR", "OWN_SURFACE", "clicked_part", "keep_clicked_territory"]

MOSTLY_NEIGHBOUR = 0.5
OWN_SURFACE = 0.5
FOCUS_MM = 40.0
FOCUS_MARGIN_MM = 10.0


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


def keep_clicked_territory(volume: Volume, grid: PatchGrid, candidates: CandidateSet, choice: int,
                           seed: tuple[int, int, int]) -> int:
    """The candidate to show instead of ``choice`` when that one has swallowed a hotter neighbour.

    With a hotter neighbour beside the click (:mod:`seganypet.session.neighbours`; a node
    beside the bladder, whose masks are the bladder), candidate ``choice`` gives way when more
    than ``MOSTLY_NEIGHBOUR`` of it lies in the neighbour's territory or it holds at least that
    share of the neighbour's hot core. It gives way to the clicked structure's own isocontour
    (:func:`clicked_part`), which joins the candidates (source ``"territory"``) if it faces the
    click's territory over at least ``OWN_SURFACE`` of its outer shell (a "territory" that is a
    pocket enclosed by hotter uptake is the cooler part of one heterogeneous tumour). For point
    clicks (the session does not call it for boxes, scribbles or lassos). Rule declared in
    docs/results.md (v3, 2026-12-03 11:53 UTC).
    """
    if len(candidates.overlap) != candidates.num_model:  # no image candidates were made
        return choice
    shown = candidates.mask(choice)
    territory = clicked_territory(volume, seed, first_patch_box(volume, grid),
                                  focus=_focus_box(volume, grid, shown, seed))
    if territory is None:
        return choice
    if territory.share_outside(shown) <= MOSTLY_NEIGHBOUR \
            and territory.core_share(shown) < MOSTLY_NEIGHBOUR:
        return choice
    part = clicked_part(volume, seed, territory)
    if part is None or territory.faces_own_side(part) < OWN_SURFACE:
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
    family = [BoxMask.cropped(m, territory.lo) for m in masks if m.any()]
    if not family:
        return None
    steps = [territory.own_side_step(volume, m) for m in family]
    top = max(steps)
    if not top > 0:
        return None
    flat = [m for m, step in zip(family, steps) if step >= (1.0 - FLAT_TOP) * top]
    return max(flat, key=lambda m: m.voxels)
