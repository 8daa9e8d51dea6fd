"""Physiological uptake: which hot spots are organs, from anatomy relative to the image.

No fixed boxes: every rule is stated relative to landmarks found in the same scan (the liver
prompt's height, the body's midline and front/back centre; ``seganypet.lesions.anatomy``)
and to the hot spot's own size and shape. A hot spot that a rule names is then prompted in
the model (:mod:`seganypet.lesions.detect`), and the model's organ mask, not the box of the
rule, is what suppresses uptake: any other hot spot lying mostly inside it is the same organ.

Rules (distances in mm; height above the liver prompt, lateral > 0 = patient right):

============== ===========================================================================
salivary       above the shoulders (> 170), off the midline (> 15), with a mirror partner
               (paired glands: opposite side, similar height, similar size and SUVmax);
               tested first, so a hot pair of glands high in the head is not taken for
               small pieces of the brain (PSMA: cold brain, glands as hot as lesions)
brain          high above the liver (> 300), near the midline
myocardium     just above the liver (20-170), left of or on the midline
kidney         beside the spine below the liver prompt (-200 to -30 high, 20-140 lateral),
               in the back half of the body
stomach        at the liver's height (-150 to 60), left of the midline (> 20), > 30 ml
ureter         between kidneys and bladder, thin and long (principal-axis ratio > 3,
               width < 15 mm, < 15 ml)
bladder        low in the pelvis (> 250 below the liver), on the midline (< 45), the largest
               such hot spot
bowel          (spots below the threshold only, :func:`in_bowel_place`) in the abdomen
               below the liver prompt (-450 to -30 high), in front of the body's centre:
               physiological bowel uptake is focal and around the liver's level, so a spot
               that never reaches the threshold there is likelier bowel than a node
============== ===========================================================================

A place is not enough: a lymph node beside the kidney is in the kidney's place. The spot
is an organ only when the model, prompted at it, returns an organ-sized mask or the spot is
organ-sized itself (``ORGAN_MIN_ML``); otherwise it stays a lesion candidate.
"""

from __future__ import annotations

from seganypet.lesions.hotspots import HotSpot

__all__ = ["ORGAN_MIN_ML", "PHYSIOLOGICAL_ORGANS", "in_bowel_place", "organ_candidates",
           "organ_of"]

PHYSIOLOGICAL_ORGANS = ("brain", "salivary_glands", "heart", "kidney", "ureter", "bladder",
                        "stomach")


def _is_brain(s: HotSpot) -> bool:
    return s.height_mm > 300 and abs(s.lateral_mm) < 60


# Paired glands take up the tracer alike: their SUVmax differ by less than this factor (a
# lesion and its contralateral gland, or two nodes of one chain, rarely match this well).
_PAIR_SUV_RATIO = 1.5
_PAIR_MIN_LATERAL_MM = 15.0


def _mirrored(a: HotSpot, b: HotSpot) -> bool:
    """Whether ``a`` and ``b`` look like one pair of glands: mirror places about the midline,
    similar height, volume and SUVmax."""
    return (a.lateral_mm * b.lateral_mm < 0 and abs(a.lateral_mm + b.lateral_mm) < 25
            and min(abs(a.lateral_mm), abs(b.lateral_mm)) > _PAIR_MIN_LATERAL_MM
            and abs(a.height_mm - b.height_mm) < 25
            and max(a.volume_ml, b.volume_ml) < 4 * min(a.volume_ml, b.volume_ml)
            and max(a.suv_max, b.suv_max) < _PAIR_SUV_RATIO * min(a.suv_max, b.suv_max))


def _is_heart(s: HotSpot) -> bool:
    return 20 < s.height_mm < 170 and -140 < s.lateral_mm < 30


def _is_stomach(s: HotSpot) -> bool:
    return -150 < s.height_mm < 60 and s.lateral_mm < -20 and s.volume_ml > 30


def _is_kidney(s: HotSpot) -> bool:
    return -200 < s.height_mm < -30 and 20 < abs(s.lateral_mm) < 140 and s.posterior_mm > 10


def _is_ureter(s: HotSpot) -> bool:
    return (-480 < s.height_mm < -80 and abs(s.lateral_mm) < 100 and s.volume_ml < 15
            and s.elongation > 3.0 and s.width_mm < 15.0)


def _bladder(spots: list[HotSpot]) -> HotSpot | None:
    pelvic = [s for s in spots if s.height_mm < -250 and abs(s.lateral_mm) < 45
              and s.volume_ml > 10]
    return max(pelvic, key=lambda s: (s.volume_ml, -s.label)) if pelvic else None


# Least volume (ml) of an organ: of the model's mask from a click at the spot's maximum, or of
# the spot itself. A lesion in an organ's place is smaller on both counts; a scan that ends
# inside the head shows only a slab of brain, hence the low brain bound.
ORGAN_MIN_ML = {"brain": 30.0, "heart": 20.0, "kidney": 3.0, "bladder": 10.0,
                "salivary_glands": 0.0, "ureter": 0.0, "stomach": 30.0}


def organ_candidates(spots: list[HotSpot], organs: tuple[str, ...] = PHYSIOLOGICAL_ORGANS
                     ) -> dict[int, str]:
    """Hot-spot label -> organ name for every spot in an organ's place (to be confirmed by the
    model's mask volume, ``ORGAN_MIN_ML``)."""
    found: dict[int, str] = {}
    if "salivary_glands" in organs:
        head = [s for s in spots if s.height_mm > 170]
        for a in head:
            if any(_mirrored(a, b) for b in head if b.label != a.label):
                found[a.label] = "salivary_glands"
    for spot in spots:
        organ = organ_of(spot, organs)
        if spot.label not in found and organ is not None:
            found[spot.label] = organ
    if "bladder" in organs:
        bladder = _bladder([s for s in spots if s.label not in found])
        if bladder is not None:
            found[bladder.label] = "bladder"
    return found


def in_bowel_place(spot: HotSpot) -> bool:
    """Whether a spot lies where the bowel does (module docstring): for contrast spots,
    which have no other evidence than their contrast."""
    return -450 < spot.height_mm < -30 and spot.posterior_mm < 0


def organ_of(spot: HotSpot, organs: tuple[str, ...] = PHYSIOLOGICAL_ORGANS) -> str | None:
    """The single-organ place rule ``spot`` fits (brain, heart, kidney, ureter, stomach; the
    paired glands and the bladder need the other spots, :func:`organ_candidates`), or None."""
    rules = {"brain": _is_brain, "heart": _is_heart, "kidney": _is_kidney, "ureter": _is_ureter,
             "stomach": _is_stomach}
    return next((organ for organ, rule in rules.items() if organ in organs and rule(spot)), None)


