"""Lesions: kinds, sizes and contrasts; placement in their host organs; painting.

Each lesion is a smoothly deformed ellipsoid with the volume of a sphere of the requested
diameter, labelled with its own instance id (``organs.lesion_id``). Its contrast is the SUV of
viable tumour divided by the SUV of its host organ; an optional cold core (necrosis) of a given
radius fraction makes large primaries heterogeneous, as in real sarcomas and lung cancers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from seganypet.data.anatomy import Anatomy
from seganypet.data.organs import LESION_ID_START, MAX_LESIONS, ORGAN_IDS, lesion_id
from seganypet.data.shapes import Ellipsoid, RasGrid, ellipsoid_mask, rotation_matrix
from seganypet.data.uptake import OrganUptake

__all__ = [
    "JUXTA_KIND",
    "JUXTA_NEIGHBOURS",
    "LESION_KINDS",
    "RANDOMIZED_LESIONS",
    "REALISTIC_LESIONS",
    "LesionDistribution",
    "LesionSpec",
    "paint_lesions",
    "sample_juxta_specs",
    "sample_lesion_specs",
]

LESION_KINDS = ("lymph_node", "lung_nodule", "liver_met", "bone_met", "primary")
# Nodes pressed against organs of high physiological uptake (cervical nodes by the salivary
# glands, hilar/mediastinal nodes by the heart, pelvic nodes by the bladder, retroperitoneal
# nodes by the kidneys). Drawn only on request (``sample_juxta_specs``): they are the scenes
# where a one-click mask leaks from the node into the organ beside it.
JUXTA_KIND = "juxta_node"
JUXTA_NEIGHBOURS = ("salivary_glands", "heart", "bladder", "kidney_left", "kidney_right",
                    "stomach", "bowel", "liver")
_HOSTS = {"lymph_node": ("muscle",), "lung_nodule": ("lung_left", "lung_right"),
          "liver_met": ("liver",), "bone_met": ("bone_marrow",),
          "primary": ("lung_left", "lung_right", "muscle")}
# Realistic diameter ranges in mm (log-uniform): nodes and nodules small, primaries large.
_DIAMETERS = {"lymph_node": (8.0, 30.0), "lung_nodule": (5.0, 30.0), "liver_met": (10.0, 40.0),
              "bone_met": (8.0, 35.0), "primary": (40.0, 80.0)}


@dataclass(frozen=True)
class LesionSpec:
    """A lesion to insert.

    Args:
        kind: one of ``LESION_KINDS``.
        diameter_mm: diameter of the sphere of equal volume.
        contrast: viable-tumour SUV / host-organ SUV (< 1 gives a cold lesion).
        host: organ name the contrast refers to (and where the centre is drawn).
        center_mm: RAS mm, or None to draw a voxel of the host at random.
        necrotic_fraction: radius fraction of a cold necrotic core (0 = solid).
        chain: name of the lymph-node chain (station) the node belongs to, if any.
        beside: for ``JUXTA_KIND``, the organ whose surface the lesion touches (its centre
            is drawn in the host tissue just outside that organ).
    """

    kind: str
    diameter_mm: float
    contrast: float
    host: str = ""
    center_mm: tuple[float, float, float] | None = None
    necrotic_fraction: float = 0.0
    chain: str = ""
    beside: str = ""

    def __post_init__(self) -> None:
        if self.kind not in (*LESION_KINDS, JUXTA_KIND):
            raise ValueError(f"unknown lesion kind {self.kind!r}; use one of "
                             f"{(*LESION_KINDS, JUXTA_KIND)}")
        if (self.kind == JUXTA_KIND) != bool(self.beside):
            raise ValueError("a juxta_node lesion needs `beside` (and only it may have one)")
        if not self.host:
            object.__setattr__(self, "host", "muscle" if self.beside else _HOSTS[self.kind][0])


@dataclass(frozen=True)
class LesionDistribution:
    """How lesions are drawn: count range, kind weights, size scale, contrast model."""

    count: tuple[int, int] = (1, 6)
    kind_weights: tuple[float, ...] = (0.35, 0.2, 0.15, 0.15, 0.15)
    randomized: bool = False
    deform_sd: float = 0.04


REALISTIC_LESIONS = LesionDistribution()
RANDOMIZED_LESIONS = LesionDistribution(count=(0, 10), kind_weights=(0.2,) * 5, randomized=True,
                                        deform_sd=0.10)
# Typical viable-tumour SUVmean per tracer: (median, CoV, min, max); FDG lesions of lymphoma /
# lung cancer / sarcoma are mostly SUV 3-20, PSMA-avid prostate lesions 5-60 (Prasad 2016).
_LESION_SUV = {"fdg": (6.0, 0.6, 2.5, 30.0), "psma": (12.0, 0.8, 3.0, 80.0)}


def _contrast(rng: np.random.Generator, dist: LesionDistribution, tracer: str,
              host_suv: float) -> float:
    if dist.randomized:
        return float(np.exp(rng.uniform(np.log(0.3), np.log(15.0))))
    median, cov, lo, hi = _LESION_SUV.get(tracer, _LESION_SUV["fdg"])
    suv = np.clip(median * np.exp(np.sqrt(np.log1p(cov**2)) * rng.standard_normal()), lo, hi)
    return float(max(suv / max(host_suv, 1e-3), 1.5))


def _diameter(rng: np.random.Generator, dist: LesionDistribution, kind: str) -> float:
    lo, hi = (5.0, 80.0) if dist.randomized else _DIAMETERS[kind]
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _node_chain(rng: np.random.Generator, anatomy: Anatomy, spec: LesionSpec) -> list[LesionSpec]:
    """2-4 nodes strung along a mostly cranio-caudal line from a random nodal station."""
    station = sorted(anatomy.node_stations)[rng.integers(len(anatomy.node_stations))]
    direction = np.array([0.3 * rng.standard_normal(), 0.3 * rng.standard_normal(), 1.0])
    direction /= np.linalg.norm(direction)
    point = anatomy.node_stations[station] + 8.0 * rng.standard_normal(3)
    nodes = []
    for n in range(int(rng.integers(2, 5))):
        diameter = spec.diameter_mm if n == 0 else spec.diameter_mm * rng.uniform(0.6, 1.2)
        if n:
            point = point + direction * 0.6 * (nodes[-1].diameter_mm + diameter)
        nodes.append(replace(spec, diameter_mm=float(diameter), center_mm=tuple(map(float, point)),
                             chain=station))
    return nodes


def sample_lesion_specs(rng: np.random.Generator, anatomy: Anatomy, uptake: OrganUptake,
                        dist: LesionDistribution = REALISTIC_LESIONS,
                        count: int | None = None) -> list[LesionSpec]:
    """Draw lesion specs for one case (``count`` primary draws; node chains add nodes)."""
    n = int(rng.integers(dist.count[0], dist.count[1] + 1)) if count is None else count
    weights = np.asarray(dist.kind_weights) / np.sum(dist.kind_weights)
    specs: list[LesionSpec] = []
    for _ in range(n):
        kind = LESION_KINDS[rng.choice(len(LESION_KINDS), p=weights)]
        hosts = _HOSTS[kind]
        host = hosts[rng.integers(len(hosts))]
        necrotic = 0.0
        if (kind == "primary" or dist.randomized) and rng.random() < (0.8 if kind == "primary" else 0.3):
            necrotic = float(rng.uniform(0.3, 0.65))
        spec = LesionSpec(kind, _diameter(rng, dist, kind), _contrast(rng, dist, uptake.tracer,
                          uptake.suv[host]), host=host, necrotic_fraction=necrotic)
        specs.extend(_node_chain(rng, anatomy, spec) if kind == "lymph_node" else [spec])
    return specs[:MAX_LESIONS]


def sample_juxta_specs(rng: np.random.Generator, uptake: OrganUptake, count: int,
                       neighbours: tuple[str, ...] = JUXTA_NEIGHBOURS) -> list[LesionSpec]:
    """``count`` node-sized lesions (8-30 mm, FDG/PSMA lesion uptake) each touching one organ
    of ``neighbours`` (drawn uniformly); placed by :func:`paint_lesions`."""
    specs = []
    for _ in range(count):
        beside = neighbours[int(rng.integers(len(neighbours)))]
        specs.append(LesionSpec(JUXTA_KIND, float(np.exp(rng.uniform(np.log(8.0), np.log(30.0)))),
                                _contrast(rng, REALISTIC_LESIONS, uptake.tracer, uptake.suv["muscle"]),
                                beside=beside))
    return specs


def _juxta_voxel(rng: np.random.Generator, grid: RasGrid, labels: np.ndarray,
                 spec: LesionSpec) -> np.ndarray | None:
    """A soft-tissue voxel (muscle or fat) at 0.4-0.8 lesion radii from the surface of
    ``spec.beside``: the lesion then overlaps the organ's edge, touching it as a node does."""
    organ = labels == ORGAN_IDS[spec.beside]
    if not organ.any():
        return None
    radius_vox = 0.5 * spec.diameter_mm / np.asarray(grid.spacing)
    reach = np.ceil(radius_vox).astype(int) + 1
    where = np.argwhere(organ)
    lo = np.maximum(where.min(0) - reach, 0)
    hi = np.minimum(where.max(0) + reach + 1, labels.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    # Distance to the organ in mm (EDT with the voxel spacing), within the organ's box only.
    distance = ndimage.distance_transform_edt(~organ[box], sampling=grid.spacing)
    radius = 0.5 * spec.diameter_mm
    tissue = np.isin(labels[box], (ORGAN_IDS["muscle"], ORGAN_IDS["fat"]))
    ring = tissue & (distance >= 0.4 * radius) & (distance <= 0.8 * radius)
    options = np.argwhere(ring)
    if options.size == 0:
        return None
    return grid.world_of(options[int(rng.integers(len(options)))] + lo)


def _random_host_voxel(rng: np.random.Generator, grid: RasGrid, labels: np.ndarray,
                       host: str) -> np.ndarray | None:
    candidates = np.flatnonzero(labels == ORGAN_IDS[host])
    if candidates.size == 0:
        return None
    ijk = np.unravel_index(int(candidates[rng.integers(candidates.size)]), labels.shape)
    return grid.world_of(ijk)


def _lesion_solid(rng: np.random.Generator, spec: LesionSpec, centre: np.ndarray,
                  deform_sd: float) -> Ellipsoid:
    aspect = np.exp(0.15 * rng.standard_normal(3))
    aspect /= np.prod(aspect) ** (1 / 3)  # keep the volume of the requested sphere
    return Ellipsoid(centre, spec.diameter_mm / 2 * aspect, rotation_matrix(rng.uniform(0, np.pi, 3)),
                     np.clip(deform_sd * rng.standard_normal(9), -0.2, 0.2))


def paint_lesions(rng: np.random.Generator, grid: RasGrid, labels: np.ndarray, activity: np.ndarray,
                  specs: list[LesionSpec], uptake: OrganUptake, texture: np.ndarray,
                  deform_sd: float = 0.04) -> list[dict]:
    """Insert lesions into ``labels`` and ``activity`` in place; returns one info dict each.

    A lesion is painted only inside the body and never over an earlier lesion (its centre is
    redrawn up to 5 times). Lesions that find no room are skipped.
    """
    infos: list[dict] = []
    for spec in specs:
        placed = None
        for _ in range(5):
            if spec.center_mm is not None:
                centre = np.asarray(spec.center_mm, dtype=float)
            elif spec.beside:
                centre = _juxta_voxel(rng, grid, labels, spec)
            else:
                centre = _random_host_voxel(rng, grid, labels, spec.host)
            if centre is None:
                break
            solid = _lesion_solid(rng, spec, centre, deform_sd)
            found = ellipsoid_mask(grid, solid)
            if found is not None:
                box, mask = found
                mask = mask & (labels[box] != 0)
                if mask.any() and not np.any(labels[box][mask] >= LESION_ID_START):
                    placed = (solid, box, mask)
                    break
            if spec.center_mm is not None:
                break
        if placed is None:
            continue
        infos.append(_paint_one(grid, labels, activity, spec, placed, uptake, texture,
                                lesion_id(len(infos))))
    return infos


def _paint_one(grid: RasGrid, labels: np.ndarray, activity: np.ndarray, spec: LesionSpec,
               placed: tuple, uptake: OrganUptake, texture: np.ndarray, label_id: int) -> dict:
    solid, box, mask = placed
    host_suv = uptake.suv[spec.host]
    hetero = 0.25 if spec.kind == "primary" else 0.12
    values = host_suv * spec.contrast * np.maximum(1.0 + hetero * texture[box], 0.1)
    if spec.necrotic_fraction > 0:
        _, core = ellipsoid_mask(grid, solid, scale=spec.necrotic_fraction, box=box)
        # Necrosis: little viable tissue, uptake a little below the host's.
        values = np.where(core, np.float32(0.6 * host_suv), values)
    labels[box][mask] = label_id
    activity[box][mask] = values[mask]
    return {"id": label_id, "name": f"lesion_{label_id - LESION_ID_START + 1}", "kind": spec.kind,
            "host": spec.host, "diameter_mm": round(spec.diameter_mm, 2),
            "contrast": round(spec.contrast, 3), "suv": round(host_suv * spec.contrast, 3),
            "center_mm": [round(float(c), 1) for c in solid.center],
            "necrotic_fraction": round(spec.necrotic_fraction, 3), "chain": spec.chain,
            "beside": spec.beside}
