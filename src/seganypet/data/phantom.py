"""Generate one synthetic whole-body PET case (SUV image, label map, description).

Realistic and domain-randomised phantoms share one code path; only the parameter
distributions differ (``MODES``): realistic draws literature-typical anatomy, uptake and
scanner settings; randomised (the SynthSeg idea) draws uptake within and far beyond the
physiological ranges, random PSF/noise/voxel size, bias fields and body shapes, so that a model
trained on them cannot rely on any one intensity profile.

Example::

    rng = np.random.default_rng(0)
    case = generate_case(rng, PhantomConfig(tracer="fdg"))
    case.suv.array.shape, case.label.array.max(), case.info["lesions"][0]["kind"]
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seganypet.atomic import atomic_path
from seganypet.data.anatomy import (
    RANDOMIZED_ANATOMY,
    REALISTIC_ANATOMY,
    render_anatomy,
    sample_anatomy,
)
from seganypet.data.fields import smooth_field
from seganypet.data.lesions import (
    RANDOMIZED_LESIONS,
    REALISTIC_LESIONS,
    LesionSpec,
    paint_lesions,
    sample_juxta_specs,
    sample_lesion_specs,
)
from seganypet.data.organs import LESION_ID_START, ORGAN_NAMES
from seganypet.data.scanner import ScannerParams, acquisition_grid, apply_scanner, sample_scanner
from seganypet.data.uptake import TRACERS, OrganUptake, activity_from_labels, sample_uptake
from seganypet.errors import InputError
from seganypet.io.nifti import write_nifti
from seganypet.volume import Volume

__all__ = ["MODES", "PhantomCase", "PhantomConfig", "generate_case", "write_case"]

MODES = ("realistic", "randomized")
# Voxel size of the "small" option: coarse enough for sub-second tests, fine enough that
# every organ (the aorta is ~24 mm wide) keeps several voxels.
_SMALL_VOXEL_MM = 8.0


@dataclass(frozen=True)
class PhantomConfig:
    """What to generate; None fields are drawn from the mode's distributions.

    Args:
        tracer: ``"fdg"``, ``"psma"`` or ``"mixed"`` (drawn per case).
        mode: ``"realistic"`` or ``"randomized"``.
        voxel_mm: isotropic (float) or per-axis voxel size.
        small: coarse 8 mm voxels for fast tests (overridden by ``voxel_mm``).
        lesions: explicit lesions (centres may be None = random in the host organ).
        n_lesions: number of lesion draws (lymph-node chains add nodes).
        psf_fwhm_mm, count_level, noise: scanner overrides; ``noise=False`` gives noise-free images.
        attenuation_bias: force the PET/MR-style AC bias on or off.
        arms_up: force the arm position.
        whole_body: True covers vertex to the end of the thighs (no axial cropping).
        fov_mm: transaxial field of view.
        juxta_lesions: extra node-sized lesions, each touching an organ of high uptake
            (``seganypet.data.lesions.sample_juxta_specs``); 0 leaves the draw unchanged.
    """

    tracer: str = "fdg"
    mode: str = "realistic"
    voxel_mm: float | tuple[float, float, float] | None = None
    small: bool = False
    lesions: tuple[LesionSpec, ...] | None = None
    n_lesions: int | None = None
    psf_fwhm_mm: float | None = None
    count_level: float | None = None
    noise: bool = True
    attenuation_bias: bool | None = None
    arms_up: bool | None = None
    whole_body: bool = False
    fov_mm: float | None = None
    juxta_lesions: int = 0

    def __post_init__(self) -> None:
        if self.tracer not in (*TRACERS, "mixed"):
            raise InputError(f"tracer {self.tracer!r} is not one of {(*TRACERS, 'mixed')}")
        if self.mode not in MODES:
            raise InputError(f"mode {self.mode!r} is not one of {MODES}")


@dataclass(frozen=True)
class PhantomCase:
    """A generated case: ``suv`` (SUVbw, float32) and ``label`` (uint8) on the same grid, and
    ``info`` (JSON-serialisable: label names, organ ids, lesion instances, parameters)."""

    suv: Volume
    label: Volume
    info: dict[str, Any]


def _scanner_overrides(scanner: ScannerParams, config: PhantomConfig) -> ScannerParams:
    changes: dict[str, Any] = {"noise": config.noise}
    voxel = _SMALL_VOXEL_MM if config.small and config.voxel_mm is None else config.voxel_mm
    if voxel is not None:
        changes["voxel_mm"] = tuple(float(v) for v in np.broadcast_to(voxel, (3,)))
    if config.psf_fwhm_mm is not None:
        changes["psf_fwhm_mm"] = float(config.psf_fwhm_mm)
        changes["noise_correlation_mm"] = float(config.psf_fwhm_mm)
    if config.count_level is not None:
        changes["count_level"] = float(config.count_level)
    if config.attenuation_bias is False:
        changes.update(lung_ac_factor=1.0, bone_ac_factor=1.0)
    elif config.attenuation_bias and scanner.bone_ac_factor == 1.0:
        changes.update(lung_ac_factor=1.1, bone_ac_factor=0.8)
    if config.whole_body:
        changes["axial_range_mm"] = None
    if config.fov_mm is not None:
        changes["fov_mm"] = float(config.fov_mm)
    return dataclasses.replace(scanner, **changes)


def generate_case(rng: np.random.Generator, config: PhantomConfig = PhantomConfig()) -> PhantomCase:
    """Generate one case in memory, deterministically from ``rng``'s state."""
    randomized = config.mode == "randomized"
    tracer = config.tracer if config.tracer != "mixed" else str(rng.choice(TRACERS))
    anatomy = sample_anatomy(rng, RANDOMIZED_ANATOMY if randomized else REALISTIC_ANATOMY,
                             arms_up=config.arms_up)
    scanner = _scanner_overrides(sample_scanner(rng, anatomy, randomized), config)
    grid = acquisition_grid(anatomy, scanner)
    labels, pelvis = render_anatomy(grid, anatomy)
    uptake = sample_uptake(tracer, rng, randomized)
    correlation = rng.uniform(5.0, 40.0) if randomized else rng.uniform(10.0, 25.0)
    texture = smooth_field(grid.shape, grid.spacing, correlation, rng)
    activity = activity_from_labels(labels, pelvis, uptake, texture)
    organ_labels = labels.copy()
    lesion_dist = RANDOMIZED_LESIONS if randomized else REALISTIC_LESIONS
    specs = (list(config.lesions) if config.lesions is not None
             else sample_lesion_specs(rng, anatomy, uptake, lesion_dist, config.n_lesions))
    if config.juxta_lesions > 0:
        specs = specs + sample_juxta_specs(rng, uptake, config.juxta_lesions)
    lesions = paint_lesions(rng, grid, labels, activity, specs, uptake, texture, lesion_dist.deform_sd)
    suv = apply_scanner(activity, organ_labels, grid, scanner, rng)
    counts = np.bincount(labels.ravel(), minlength=256)
    for lesion in lesions:
        lesion["volume_ml"] = round(float(counts[lesion["id"]]) * grid.voxel_volume_ml, 3)
    info = _describe(tracer, config.mode, counts, lesions, uptake, scanner, anatomy.summary)
    return PhantomCase(Volume(suv, grid.affine, "SUVbw", {"tracer": tracer}),
                       Volume(labels, grid.affine, "label"), info)


def _describe(tracer: str, mode: str, counts: np.ndarray, lesions: list[dict],
              uptake: OrganUptake, scanner: ScannerParams, anatomy_summary: dict) -> dict[str, Any]:
    present = [i for i in ORGAN_NAMES if counts[i] > 0]
    names = {str(i): ORGAN_NAMES[i] for i in present}
    names.update({str(les["id"]): les["name"] for les in lesions})
    return {
        "tracer": tracer,
        "mode": mode,
        "label_names": names,
        "organ_ids": {ORGAN_NAMES[i]: i for i in present},
        "lesion_ids": [les["id"] for les in lesions],
        "lesion_id_start": LESION_ID_START,
        "lesions": lesions,
        "uptake_suv": {k: round(v, 4) for k, v in uptake.suv.items()},
        "renal_pelvis_ratio": round(uptake.pelvis_ratio, 3),
        "scanner": {**dataclasses.asdict(scanner), "noise_cov": round(scanner.noise_cov, 4)},
        "anatomy": anatomy_summary,
    }


def write_case(case: PhantomCase, outdir: str | os.PathLike[str], case_id: str) -> dict[str, Path]:
    """Write ``<case_id>_SUV.nii.gz``, ``<case_id>_label.nii.gz`` and ``<case_id>.json``."""
    outdir = Path(outdir)
    paths = {"image": outdir / f"{case_id}_SUV.nii.gz", "label": outdir / f"{case_id}_label.nii.gz",
             "info": outdir / f"{case_id}.json"}
    write_nifti(case.suv, paths["image"], dtype=np.float32)
    write_nifti(case.label, paths["label"], dtype=np.uint8)
    with atomic_path(paths["info"]) as tmp:
        tmp.write_text(json.dumps({"case_id": case_id, **case.info}, indent=1) + "\n")
    return paths
