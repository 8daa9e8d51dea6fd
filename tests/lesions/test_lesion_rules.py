"""Organ rules on described hot spots (no model): paired glands, the brain, merged organs."""

from __future__ import annotations

from dataclasses import replace

from seganypet.lesions.hotspots import HotSpot
from seganypet.lesions.organs import organ_candidates, organ_of


def _spot(label: int, height: float, lateral: float, volume: float, suv_max: float) -> HotSpot:
    return HotSpot(label=label, volume_ml=volume, suv_max=suv_max, max_index=(0, 0, 0),
                   height_mm=height, lateral_mm=lateral, posterior_mm=0.0,
                   extent_mm=(20.0, 20.0, 20.0), hollow=1.0, elongation=1.3, width_mm=15.0)


def test_hot_glands_high_in_the_head_are_salivary_not_pieces_of_brain():
    """PSMA: a cold brain and parotids as hot as lesions, 400 mm above the liver (the brain's
    place); the mirrored pair is the salivary glands."""
    left, right = _spot(1, 410, -45, 10.0, 15.6), _spot(2, 420, 46, 10.4, 15.0)
    assert organ_candidates([left, right]) == {1: "salivary_glands", 2: "salivary_glands"}


def test_mirrored_nodes_of_unlike_uptake_are_not_glands():
    """Two neck nodes at mirror places but with SUVmax 12 and 5 are not a pair of glands."""
    hot, faint = _spot(1, 250, -50, 3.0, 12.0), _spot(2, 255, 48, 2.5, 5.0)
    assert organ_candidates([hot, faint]) == {}
    assert organ_candidates([hot, replace(faint, suv_max=11.0)]) == {
        1: "salivary_glands", 2: "salivary_glands"}


def test_midline_head_spot_is_still_the_brain():
    brain = _spot(1, 420, 2, 900.0, 11.0)
    assert organ_candidates([brain]) == {1: "brain"}
    assert organ_of(brain) == "brain"
