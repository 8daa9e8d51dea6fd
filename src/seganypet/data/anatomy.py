"""Whole-body anatomy: a template adult, subject-to-subject variation, and rasterisation.

Template coordinates are RAS mm of a ~175 cm adult with the vertex of the head at z = 0 (z is
negative downwards, x positive towards the patient's right, y positive anteriorly). Positions
and sizes follow textbook adult anatomy (organ volumes: liver ~1.5 l, spleen ~0.2 l, kidney
~0.15 l each; ICRP Publication 89 reference values) rather than any one scan. A subject is the
template scaled (height, width, depth), bent by a smooth lateral curve, with every organ
shifted, rotated, rescaled and smoothly deformed at random; the spread of each variation is an
``AnatomyVariation`` (one for realistic phantoms, a wider one for domain randomisation).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from seganypet.data.body import BodyOutline, render_body
from seganypet.data.organs import ORGAN_IDS
from seganypet.data.shapes import (
    Capsule,
    Ellipsoid,
    RasGrid,
    capsule_mask,
    ellipsoid_mask,
    rotation_matrix,
)

__all__ = [
    "RANDOMIZED_ANATOMY",
    "REALISTIC_ANATOMY",
    "Anatomy",
    "AnatomyVariation",
    "Solid",
    "render_anatomy",
    "sample_anatomy",
]

Solid = Ellipsoid | Capsule

# Ellipsoid organs: name, centre (x, y, z), semi-axes, rotation about R, A, S (degrees).
# Listed in painting order: later organs overwrite earlier ones where they overlap (the liver
# pushes the base of the right lung into a dome, the heart sits in front of the left lung).
_ELLIPSOIDS: tuple[tuple[str, tuple[float, float, float], tuple[float, float, float],
                         tuple[float, float, float]], ...] = (
    ("lung_right", (80, -5, -425), (68, 78, 135), (0, 0, 0)),
    ("lung_left", (-80, -5, -420), (63, 76, 128), (0, 0, 0)),
    ("bowel", (0, 30, -735), (120, 62, 95), (0, 0, 0)),
    ("liver", (65, 0, -545), (88, 80, 72), (0, -8, -10)),
    ("liver", (-15, 25, -525), (55, 42, 38), (0, 0, 10)),  # left lobe, same label
    ("spleen", (-95, -45, -560), (30, 52, 45), (0, 0, 30)),
    ("stomach", (-55, 25, -565), (45, 35, 60), (0, 20, 0)),
    ("kidney_left", (-70, -55, -645), (28, 24, 55), (0, -15, 20)),
    ("kidney_right", (70, -55, -660), (28, 24, 55), (0, 15, -20)),
    ("heart", (-25, 20, -445), (60, 48, 55), (0, 20, 30)),
    ("heart_cavity", (-25, 20, -445), (47, 36, 43), (0, 20, 30)),
    ("bone_marrow", (0, -80, -825), (42, 25, 55), (30, 0, 0)),  # sacrum
    ("bone_marrow", (95, -45, -790), (22, 55, 62), (0, 0, -25)),  # iliac wings
    ("bone_marrow", (-95, -45, -790), (22, 55, 62), (0, 0, 25)),
    ("bone_marrow", (95, -5, -890), (24, 24, 24), (0, 0, 0)),  # femoral heads
    ("bone_marrow", (-95, -5, -890), (24, 24, 24), (0, 0, 0)),
    ("bladder", (0, 25, -885), (42, 35, 35), (0, 0, 0)),
    ("bone", (0, 0, -92), (72, 88, 76), (0, 0, 0)),  # skull
    ("brain", (0, 0, -90), (64, 80, 68), (0, 0, 0)),
    ("salivary_glands", (50, -5, -165), (13, 18, 22), (0, 0, 0)),  # parotids
    ("salivary_glands", (-50, -5, -165), (13, 18, 22), (0, 0, 0)),
    ("salivary_glands", (30, 25, -200), (11, 11, 10), (0, 0, 0)),  # submandibular
    ("salivary_glands", (-30, 25, -200), (11, 11, 10), (0, 0, 0)),
)
# Tubes: name, radius, polyline (x, y, z) points.
_TUBES: tuple[tuple[str, float, tuple[tuple[float, float, float], ...]], ...] = (
    ("aorta", 12.0, ((5, 25, -400), (5, 30, -348), (-20, -30, -348), (-25, -40, -470),
                     (-15, -35, -600), (-10, -25, -735))),
    ("bone_marrow", 20.0, ((0, -25, -200), (0, -40, -300), (0, -78, -420), (0, -78, -560),
                           (0, -62, -700), (0, -72, -790))),  # vertebral bodies
    ("bone", 14.0, ((95, -5, -890), (82, 0, -1400))),  # femoral shafts
    ("bone", 14.0, ((-95, -5, -890), (-82, 0, -1400))),
)
# Renal pelvis inside each kidney: offset towards the midline, semi-axes.
_PELVIS_OFFSET_MM, _PELVIS_RADII = 9.0, (10.0, 9.0, 24.0)
# Torso outline: z, half-width, half-depth, y-centre of the cross-section.
_TORSO = ((-255, 62, 60, -10), (-272, 125, 80, -12), (-295, 165, 98, -15), (-330, 170, 105, -10),
          (-420, 160, 112, -5), (-520, 150, 112, 0), (-620, 145, 110, 5), (-720, 155, 108, 5),
          (-820, 170, 105, 0), (-900, 165, 100, 0), (-935, 140, 90, 0))
# Each thigh: z, half-width, half-depth, distance of its centre from the midline.
_LEG = ((-860, 90, 95, 95), (-1000, 80, 85, 92), (-1150, 66, 70, 88), (-1300, 56, 58, 85),
        (-1450, 48, 52, 82))
_ARMS_DOWN = ((200, -20, -300), (215, -20, -560), (215, 10, -800), (212, 15, -900))
_ARMS_UP = ((180, -20, -300), (175, -10, -40), (95, 0, 170))
# Lymph-node stations (template mm), where nodal lesion chains are seeded.
_NODE_STATIONS = {
    "cervical_right": (40, 0, -245), "cervical_left": (-40, 0, -245),
    "axillary_right": (135, -20, -335), "axillary_left": (-135, -20, -335),
    "mediastinal": (12, 5, -375), "hilar_right": (38, -15, -425), "hilar_left": (-42, -15, -425),
    "paraaortic": (15, -35, -650), "iliac_right": (55, -25, -800), "iliac_left": (-55, -25, -800),
    "inguinal_right": (85, 40, -905), "inguinal_left": (-85, 40, -905),
}


@dataclass(frozen=True)
class AnatomyVariation:
    """Spread of subject-to-subject variation (standard deviations unless a range)."""

    height_sd: float = 0.05
    width_sd: float = 0.07
    depth_sd: float = 0.10
    fat_mm: tuple[float, float] = (6.0, 30.0)
    organ_scale_sd: float = 0.08
    organ_shift_mm: float = 6.0
    organ_rotation_deg: float = 6.0
    deform_sd: float = 0.05
    lateral_curve_mm: float = 6.0
    arms_up_probability: float = 0.5
    bladder_fill: tuple[float, float] = (0.6, 1.4)


REALISTIC_ANATOMY = AnatomyVariation()
RANDOMIZED_ANATOMY = AnatomyVariation(
    height_sd=0.10, width_sd=0.15, depth_sd=0.20, fat_mm=(2.0, 50.0), organ_scale_sd=0.2,
    organ_shift_mm=12.0, organ_rotation_deg=15.0, deform_sd=0.12, lateral_curve_mm=15.0,
    bladder_fill=(0.3, 2.0),
)


@dataclass(frozen=True)
class Anatomy:
    """One subject: body outline plus organ solids in world mm (vertex of the head at z = 0)."""

    body: BodyOutline
    organs: tuple[tuple[str, Solid], ...]
    kidney_pelvis: tuple[tuple[str, Ellipsoid], ...]
    node_stations: dict[str, np.ndarray]
    summary: dict

    @property
    def z_range_mm(self) -> tuple[float, float]:
        """(lowest, highest) z covered by the body."""
        return self.body.z_range_mm


class _Subject:
    """Maps template mm to this subject's world mm (global scales + smooth lateral curve)."""

    def __init__(self, rng: np.random.Generator, var: AnatomyVariation) -> None:
        self.scale = np.array([1 + var.width_sd * rng.standard_normal(),
                               1 + var.depth_sd * rng.standard_normal(),
                               1 + var.height_sd * rng.standard_normal()]).clip(0.6, 1.6)
        self.curve_amp = var.lateral_curve_mm * rng.standard_normal()
        self.curve_phase = rng.uniform(0, 2 * np.pi)

    def point(self, p: tuple[float, ...] | np.ndarray) -> np.ndarray:
        world = np.asarray(p, dtype=np.float64) * self.scale
        world[0] += self.lateral_shift(world[2])
        return world

    def lateral_shift(self, z: np.ndarray | float) -> np.ndarray | float:
        # One smooth bend over the trunk (wavelength ~1.6 m): posture / scoliosis variation.
        return self.curve_amp * np.sin(2 * np.pi * np.asarray(z) / 1600.0 + self.curve_phase)


def _sample_ellipsoid(rng: np.random.Generator, var: AnatomyVariation, subject: _Subject,
                      centre: tuple[float, ...], radii: tuple[float, ...],
                      angles_deg: tuple[float, ...], organ_scale: float) -> Ellipsoid:
    jitter = var.organ_shift_mm * rng.standard_normal(3)
    angles = np.deg2rad(np.asarray(angles_deg) + var.organ_rotation_deg * rng.standard_normal(3))
    axis_scale = organ_scale * np.clip(1 + 0.5 * var.organ_scale_sd * rng.standard_normal(3), 0.6, 1.5)
    return Ellipsoid(center=subject.point(centre) + jitter,
                     radii=np.asarray(radii) * subject.scale * axis_scale,
                     rotation=rotation_matrix(angles),
                     deform=np.clip(var.deform_sd * rng.standard_normal(9), -0.25, 0.25))


def _organ_scales(rng: np.random.Generator, var: AnatomyVariation) -> dict[str, float]:
    """One size factor per organ name, so paired parts (liver lobes, heart wall/cavity) agree."""
    names = sorted({e[0] for e in _ELLIPSOIDS})
    scales = dict(zip(names, np.clip(1 + var.organ_scale_sd * rng.standard_normal(len(names)),
                                     0.5, 1.8)))
    scales["bladder"] *= rng.uniform(*var.bladder_fill)
    return scales


def sample_anatomy(rng: np.random.Generator, variation: AnatomyVariation = REALISTIC_ANATOMY,
                   arms_up: bool | None = None) -> Anatomy:
    """Draw one subject. ``arms_up=None`` draws the arm position from the variation."""
    subject = _Subject(rng, variation)
    scales = _organ_scales(rng, variation)
    organs: list[tuple[str, Solid]] = []
    for name, centre, radii, angles in _ELLIPSOIDS:
        if name == "heart_cavity":
            # The cavity reuses the heart's draw, shrunk, so it always stays inside the wall.
            heart = dict(organs)["heart"]
            shrink = np.asarray(radii) / np.asarray(_heart_radii())
            organs.append((name, Ellipsoid(heart.center, heart.radii * shrink, heart.rotation,
                                           heart.deform)))
            continue
        organs.append((name, _sample_ellipsoid(rng, variation, subject, centre, radii, angles,
                                               scales[name])))
    for name, radius, points in _TUBES:
        world = [subject.point(p) for p in points]
        organs.extend((name, Capsule(a, b, radius * float(np.mean(subject.scale[:2]))))
                      for a, b in itertools.pairwise(world))
    pelvis = tuple((name, _pelvis_of(solid)) for name, solid in organs
                   if name in ("kidney_left", "kidney_right"))
    if arms_up is None:
        arms_up = bool(rng.random() < variation.arms_up_probability)
    fat = rng.uniform(*variation.fat_mm)
    body = _body_outline(subject, arms_up, fat)
    summary = {"scale_rl_ap_si": [round(float(s), 3) for s in subject.scale],
               "fat_mm": round(float(fat), 1), "arms_up": arms_up,
               "height_mm": round(float(-body.z_range_mm[0]), 1)}
    stations = {name: subject.point(p) for name, p in _NODE_STATIONS.items()}
    return Anatomy(body=body, organs=tuple(organs), kidney_pelvis=pelvis, node_stations=stations,
                   summary=summary)


def _heart_radii() -> tuple[float, float, float]:
    return next(r for n, _, r, _ in _ELLIPSOIDS if n == "heart")


def _pelvis_of(kidney: Ellipsoid) -> Ellipsoid:
    towards_midline = -np.sign(kidney.center[0]) * _PELVIS_OFFSET_MM
    centre = kidney.center + kidney.rotation[:, 0] * towards_midline
    radii = np.asarray(_PELVIS_RADII) * kidney.radii / np.array([28.0, 24.0, 55.0])
    return Ellipsoid(centre, radii, kidney.rotation, np.zeros(9))


def _body_outline(subject: _Subject, arms_up: bool, fat_mm: float) -> BodyOutline:
    sx, sy, sz = subject.scale
    torso = np.array([(z * sz, w * sx, d * sy, 0.0, yc * sy) for z, w, d, yc in _TORSO])
    torso[:, 3] = subject.lateral_shift(torso[:, 0])
    legs = np.array([(z * sz, w * sx, d * sy, off * sx) for z, w, d, off in _LEG])
    arm_points = _ARMS_UP if arms_up else _ARMS_DOWN
    arm_radii = (45.0, 38.0, 32.0)
    arms = []
    for side in (1.0, -1.0):
        pts = [subject.point((side * x, y, z)) for x, y, z in arm_points]
        arms.extend(Capsule(a, b, r * sx) for a, b, r in zip(pts[:-1], pts[1:], arm_radii))
    head = Ellipsoid(subject.point((0, 5, -115)), np.array([78, 98, 118]) * subject.scale,
                     np.eye(3), np.zeros(9))
    neck = Capsule(subject.point((0, -10, -160)), subject.point((0, -15, -275)), 55.0 * sx)
    humeri = tuple(Capsule(a.p0, a.p1, 12.0 * sx) for a in arms[0::len(arm_points) - 1])
    return BodyOutline(torso=torso, legs=legs, head=head, neck=neck, arms=tuple(arms),
                       bones=humeri, fat_mm=float(fat_mm))


def _solid_mask(grid: RasGrid, solid: Solid):
    return ellipsoid_mask(grid, solid) if isinstance(solid, Ellipsoid) else capsule_mask(grid, solid)


def render_anatomy(grid: RasGrid, anatomy: Anatomy) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise a subject on ``grid``.

    Returns:
        labels: ``(I, J, K)`` uint8 organ ids (``organs.ORGAN_IDS``), 0 = air.
        pelvis: ``(I, J, K)`` bool, the renal collecting system (inside the kidney labels).
    """
    labels = render_body(grid, anatomy.body, muscle=ORGAN_IDS["muscle"], fat=ORGAN_IDS["fat"],
                         bone=ORGAN_IDS["bone"])
    for name, solid in anatomy.organs:
        found = _solid_mask(grid, solid)
        if found is None:
            continue
        box, mask = found
        region = labels[box]
        # Organs live inside the body wall: never paint air or subcutaneous fat.
        inside = mask & (region != 0) & (region != ORGAN_IDS["fat"])
        region[inside] = ORGAN_IDS[name]
    pelvis = np.zeros(grid.shape, dtype=bool)
    for name, solid in anatomy.kidney_pelvis:
        found = ellipsoid_mask(grid, solid)
        if found is not None:
            box, mask = found
            pelvis[box] |= mask & (labels[box] == ORGAN_IDS[name])
    return labels, pelvis
