"""Tracer uptake per organ (SUVbw), between-subject spread and within-organ heterogeneity.

Values are literature-typical SUVmean at the usual imaging time (FDG ~60 min p.i.; PSMA
ligands ~60 min p.i.). They are approximate and meant to give realistic contrasts, not to be
quoted. Sources:

* FDG — Zasadny KR, Wahl RL. Radiology 1993;189:847-850 (normal-tissue SUVs: blood pool
  ~1.5-2, liver ~2-2.5, lung ~0.5, muscle ~0.6-0.8, fat ~0.3); Paquet N et al. J Nucl Med
  2004;45:784-788 (liver SUVmean ~2.0-2.3 and mediastinal blood pool ~1.6-1.9, within-patient
  stability); Zincirkeser S et al. J Int Med Res 2007;35:231-236 (normal-organ SUVs: spleen a
  little below liver, bone marrow ~1.5-2, salivary glands ~1.5-2.5, brain cortex 7-10);
  Wahl RL et al. J Nucl Med 2009;50:122S (PERCIST: liver reference SUL 1.5-2.5). Myocardium
  and bowel are notoriously variable (diet, insulin), bladder/renal-pelvis urine very hot
  (SUV 10-60+; STS_001's bladder SUVmax is 66).
* PSMA — Afshar-Oromieh A et al. Eur J Nucl Med Mol Imaging 2013;40:486-495 and Prasad V et al.
  Mol Imaging Biol 2016;18:428-436 (68Ga-PSMA-11 normal organs: kidneys SUVmean ~30-40,
  parotid/submandibular ~10-15, liver ~4-6, spleen ~6-9, small bowel/duodenum ~5-10,
  bladder urine high, brain and lungs very low, blood pool ~1.5-2, bone marrow ~1-2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seganypet.data.organs import ORGAN_IDS

__all__ = ["TRACERS", "UPTAKE_TABLES", "OrganUptake", "activity_from_labels", "sample_uptake"]

# name: (median SUVmean, between-subject CoV, within-organ heterogeneity CoV)
_FDG = {
    "brain": (7.0, 0.20, 0.15), "heart": (3.0, 0.70, 0.15), "liver": (2.1, 0.15, 0.08),
    "spleen": (1.8, 0.15, 0.08), "kidney_left": (2.3, 0.20, 0.10), "kidney_right": (2.3, 0.20, 0.10),
    "bladder": (20.0, 0.50, 0.05), "aorta": (1.6, 0.12, 0.05), "heart_cavity": (1.6, 0.12, 0.05),
    "lung_left": (0.55, 0.20, 0.15), "lung_right": (0.55, 0.20, 0.15), "stomach": (1.8, 0.30, 0.20),
    "bone_marrow": (1.6, 0.20, 0.12), "salivary_glands": (1.8, 0.25, 0.10),
    "bowel": (1.3, 0.30, 0.35), "bone": (0.5, 0.20, 0.10), "muscle": (0.7, 0.20, 0.10),
    "fat": (0.3, 0.25, 0.10),
}
_PSMA = {
    "brain": (0.15, 0.30, 0.10), "heart": (1.5, 0.30, 0.10), "liver": (5.0, 0.30, 0.08),
    "spleen": (6.5, 0.35, 0.08), "kidney_left": (35.0, 0.30, 0.12), "kidney_right": (35.0, 0.30, 0.12),
    "bladder": (25.0, 0.60, 0.05), "aorta": (1.8, 0.20, 0.05), "heart_cavity": (1.8, 0.20, 0.05),
    "lung_left": (0.5, 0.25, 0.15), "lung_right": (0.5, 0.25, 0.15), "stomach": (2.0, 0.30, 0.20),
    "bone_marrow": (1.5, 0.25, 0.12), "salivary_glands": (12.0, 0.30, 0.10),
    "bowel": (5.0, 0.40, 0.40), "bone": (0.4, 0.25, 0.10), "muscle": (0.7, 0.20, 0.10),
    "fat": (0.2, 0.25, 0.10),
}
UPTAKE_TABLES: dict[str, dict[str, tuple[float, float, float]]] = {"fdg": _FDG, "psma": _PSMA}
TRACERS = tuple(UPTAKE_TABLES)
# Renal pelvis / cortex ratio: FDG is excreted into urine (hot pelvis, Zasadny & Wahl 1993);
# PSMA binds the tubular cells, so cortex and collecting system are similarly hot.
_PELVIS_RATIO = {"fdg": (2.0, 6.0), "psma": (0.9, 1.4)}
# Blood-pool structures share one draw (the heart chambers are the same blood as the aorta).
_SAME_AS = {"heart_cavity": "aorta", "lung_right": "lung_left", "kidney_right": "kidney_left"}


@dataclass(frozen=True)
class OrganUptake:
    """One case's uptake: organ name -> SUVmean, heterogeneity CoV, renal pelvis ratio."""

    tracer: str
    suv: dict[str, float]
    heterogeneity: dict[str, float]
    pelvis_ratio: float


def _lognormal(rng: np.random.Generator, median: float, cov: float) -> float:
    """Log-normal draw, clipped to [0.3, 3.5] x median: keeps the heavy-tailed organs (heart,
    bladder) within what is reported clinically instead of producing SUV 40 myocardium."""
    sigma = np.sqrt(np.log1p(cov * cov))
    return float(median * np.clip(np.exp(sigma * rng.standard_normal()), 0.3, 3.5))


def sample_uptake(tracer: str, rng: np.random.Generator, randomized: bool = False) -> OrganUptake:
    """Draw per-organ SUVs for one case.

    Realistic: log-normal around the table median with its between-subject CoV (paired organs
    get nearly equal values). Randomised (SynthSeg-style): each organ independently either the
    table value times a wide log-normal factor (sigma 0.8) or log-uniform in [0.05, 40] SUV,
    with heterogeneity up to 0.5, so a model cannot rely on any fixed intensity ordering.
    """
    table = UPTAKE_TABLES[tracer]
    suv: dict[str, float] = {}
    het: dict[str, float] = {}
    for name, (median, cov, hetero) in table.items():
        if randomized:
            if rng.random() < 0.5:
                suv[name] = median * float(np.exp(0.8 * rng.standard_normal()))
            else:
                suv[name] = float(np.exp(rng.uniform(np.log(0.05), np.log(40.0))))
            het[name] = float(rng.uniform(0.0, 0.5))
        else:
            suv[name] = _lognormal(rng, median, cov)
            het[name] = hetero
    if not randomized:
        for name, source in _SAME_AS.items():
            suv[name] = suv[source] * float(np.exp(0.03 * rng.standard_normal()))
    lo, hi = _PELVIS_RATIO[tracer] if not randomized else (0.5, 8.0)
    return OrganUptake(tracer, suv, het, float(rng.uniform(lo, hi)))


def _lookup(values: dict[str, float]) -> np.ndarray:
    lut = np.zeros(256, dtype=np.float32)
    for name, value in values.items():
        lut[ORGAN_IDS[name]] = value
    return lut


def activity_from_labels(labels: np.ndarray, pelvis: np.ndarray | None, uptake: OrganUptake,
                         texture: np.ndarray) -> np.ndarray:
    """Noise-free activity ``(I, J, K)`` float32 SUV from an organ label map.

    Args:
        labels: ``(I, J, K)`` uint8 organ ids (ids without a table entry get 0).
        pelvis: ``(I, J, K)`` bool renal collecting system, or None.
        uptake: per-organ SUVs and heterogeneity.
        texture: ``(I, J, K)`` zero-mean unit-std smooth field; organ ``o`` gets
            ``suv[o] * (1 + heterogeneity[o] * texture)``, clipped at 0.
    """
    # In-place steps: this runs on every whole-body voxel, so avoid extra temporaries.
    activity = _lookup(uptake.heterogeneity)[labels]
    activity *= texture
    activity += np.float32(1.0)
    np.maximum(activity, np.float32(0.05), out=activity)
    activity *= _lookup(uptake.suv)[labels]
    bowel = labels == ORGAN_IDS["bowel"]
    # Bowel loops: bands along the level sets of the smooth field look like convoluted
    # intestine (hot wall/content, cooler gaps); the factor averages ~1 so the SUVmean holds.
    bands = np.cos(np.float32(3.0 * np.pi) * texture[bowel])
    activity[bowel] *= np.float32(0.3) + np.float32(1.4) * bands * bands
    if pelvis is not None:
        activity[pelvis] *= np.float32(uptake.pelvis_ratio)
    return activity
