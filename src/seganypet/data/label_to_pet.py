"""Label-to-PET synthesis: turn an organ label map (e.g. TotalSegmentator) into a PET-like image.

Every source structure is mapped to the closest phantom organ class (``organs.ORGAN_IDS``),
then the phantom's uptake, texture, PSF and noise models are applied on the label map's own
grid, so a CT segmentation becomes a plausible FDG or PSMA scan. Unlabelled body tissue is
split into fat and muscle from the CT when one is given (fat: -190..-30 HU), else it is
treated as muscle inside a body outline grown from the labels.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

import numpy as np
from scipy import ndimage

from seganypet.data.fields import smooth_field
from seganypet.data.organs import ORGAN_IDS, ORGAN_NAMES
from seganypet.data.scanner import ScannerParams, apply_scanner
from seganypet.data.shapes import RasGrid
from seganypet.data.uptake import activity_from_labels, sample_uptake
from seganypet.errors import InputError
from seganypet.volume import Volume

__all__ = ["TOTALSEGMENTATOR_V2", "label_to_pet", "map_to_organs", "organ_class_for"]


def _totalsegmentator_v2() -> dict[int, str]:
    """Class ids of TotalSegmentator v2's ``total`` task (117 classes)."""
    names = ["spleen", "kidney_right", "kidney_left", "gallbladder", "liver", "stomach", "pancreas",
             "adrenal_gland_right", "adrenal_gland_left", "lung_upper_lobe_left",
             "lung_lower_lobe_left", "lung_upper_lobe_right", "lung_middle_lobe_right",
             "lung_lower_lobe_right", "esophagus", "trachea", "thyroid_gland", "small_bowel",
             "duodenum", "colon", "urinary_bladder", "prostate", "kidney_cyst_left",
             "kidney_cyst_right", "sacrum", "vertebrae_S1"]
    names += [f"vertebrae_L{n}" for n in range(5, 0, -1)] + [f"vertebrae_T{n}" for n in range(12, 0, -1)]
    names += [f"vertebrae_C{n}" for n in range(7, 0, -1)]
    names += ["heart", "aorta", "pulmonary_vein", "brachiocephalic_trunk", "subclavian_artery_right",
              "subclavian_artery_left", "common_carotid_artery_right", "common_carotid_artery_left",
              "brachiocephalic_vein_left", "brachiocephalic_vein_right", "atrial_appendage_left",
              "superior_vena_cava", "inferior_vena_cava", "portal_vein_and_splenic_vein",
              "iliac_artery_left", "iliac_artery_right", "iliac_vena_left", "iliac_vena_right",
              "humerus_left", "humerus_right", "scapula_left", "scapula_right", "clavicula_left",
              "clavicula_right", "femur_left", "femur_right", "hip_left", "hip_right",
              "spinal_cord", "gluteus_maximus_left", "gluteus_maximus_right",
              "gluteus_medius_left", "gluteus_medius_right", "gluteus_minimus_left",
              "gluteus_minimus_right", "autochthon_left", "autochthon_right", "iliopsoas_left",
              "iliopsoas_right", "brain", "skull"]
    names += [f"rib_left_{n}" for n in range(1, 13)] + [f"rib_right_{n}" for n in range(1, 13)]
    names += ["sternum", "costal_cartilages"]
    return {i + 1: name for i, name in enumerate(names)}


TOTALSEGMENTATOR_V2: dict[int, str] = _totalsegmentator_v2()

# (pattern, phantom organ class), first match wins. Blood vessels are blood pool ("aorta"),
# glands without their own class take the salivary-gland class, red marrow-bearing bones
# (vertebrae, sacrum, hip) are bone marrow, other bones cortical bone.
_RULES: tuple[tuple[str, str], ...] = (
    (r"kidney_cyst", "fat"), (r"kidney_left", "kidney_left"), (r"kidney_right", "kidney_right"),
    (r"lung.*left", "lung_left"), (r"lung.*right", "lung_right"), (r"trachea", "lung_right"),
    (r"^(spleen|liver|stomach|heart|brain|aorta)$", r"\1"), (r"urinary_bladder|^bladder", "bladder"),
    (r"small_bowel|duodenum|colon|bowel", "bowel"), (r"esophagus|pancreas", "stomach"),
    (r"thyroid|parotid|submandibular|salivary", "salivary_glands"),
    (r"vertebra|sacrum|hip", "bone_marrow"),
    (r"humerus|scapula|clavic|femur|skull|rib|sternum|costal", "bone"),
    (r"artery|vein|vena|trunk|atrial_appendage|heart_cavity", "aorta"),
    (r"gluteus|autochthon|iliopsoas|muscle|spinal_cord|prostate|adrenal|gallbladder", "muscle"),
    (r"fat", "fat"),
)


def organ_class_for(name: str) -> str | None:
    """Phantom organ class of a structure name (TotalSegmentator style), or None if unknown."""
    key = name.strip().lower()
    for pattern, organ in _RULES:
        match = re.search(pattern, key)
        if match:
            return match.expand(organ)
    return None


def map_to_organs(labels: np.ndarray, names: Mapping[int, str]) -> np.ndarray:
    """``(I, J, K)`` source ids -> uint8 phantom organ ids (unknown structures -> muscle)."""
    lut = np.zeros(max(int(labels.max()), max(names, default=0)) + 1, dtype=np.uint8)
    for source_id, name in names.items():
        organ = organ_class_for(name) or "muscle"
        lut[int(source_id)] = ORGAN_IDS[organ]
    return lut[labels]


def _body_tissue(organs: np.ndarray, ct: Volume | None) -> np.ndarray:
    """Fill unlabelled body voxels with fat/muscle (from CT HU, or a grown outline)."""
    out = organs.copy()
    free = organs == 0
    if ct is not None:
        hu = np.asarray(ct.array)
        out[free & (hu > -190) & (hu <= -30)] = ORGAN_IDS["fat"]
        out[free & (hu > -30)] = ORGAN_IDS["muscle"]
        return out
    # No CT: the true body outline is unknown; grow the labelled region a little and fill its
    # holes, which covers the soft tissue between organs.
    body = ndimage.binary_fill_holes(ndimage.binary_dilation(organs > 0, iterations=3))
    out[free & body] = ORGAN_IDS["muscle"]
    return out


def label_to_pet(label: Volume, rng: np.random.Generator, tracer: str = "fdg",
                 names: Mapping[int, str] | None = None, ct: Volume | None = None,
                 scanner: ScannerParams | None = None,
                 randomized: bool = False) -> tuple[Volume, Volume, dict]:
    """Synthesise a PET-like SUV image on the grid of an organ label map.

    Args:
        label: ``(I, J, K)`` integer label map (e.g. TotalSegmentator output).
        rng: the only source of randomness.
        tracer: ``"fdg"`` or ``"psma"``.
        names: source id -> structure name; default TotalSegmentator v2 ``total`` classes.
        ct: optional CT on the same grid, to split unlabelled tissue into fat and muscle.
        scanner: PSF/noise settings (voxel size is taken from ``label``); default 6 mm PSF,
            reference count level.
        randomized: draw uptake from the domain-randomisation distributions.

    Returns:
        ``(suv, organs, info)``: SUV volume and phantom-organ label volume (both on ``label``'s
        grid) and a JSON-serialisable description.
    """
    if ct is not None and not ct.same_grid(label):
        raise InputError("the CT and the label map must share one grid (shape and affine); "
                         "resample one onto the other first")
    labels = np.asarray(label.array)
    if not np.issubdtype(labels.dtype, np.integer):
        labels = np.rint(labels).astype(np.int32)
    if labels.min() < 0:
        raise InputError("label map has negative values; expected non-negative integer ids")
    source_names = dict(TOTALSEGMENTATOR_V2 if names is None else names)
    organs = _body_tissue(map_to_organs(labels, source_names), ct)
    grid = RasGrid(organs.shape, label.spacing, (0.0, 0.0, 0.0))
    scanner = dataclasses.replace(scanner or ScannerParams(), voxel_mm=label.spacing)
    uptake = sample_uptake(tracer, rng, randomized)
    texture = smooth_field(grid.shape, grid.spacing, float(rng.uniform(10.0, 25.0)), rng)
    activity = activity_from_labels(organs, None, uptake, texture)
    suv = apply_scanner(activity, organs, grid, scanner, rng)
    present = [int(i) for i in np.unique(organs) if i in ORGAN_NAMES]
    info = {"tracer": tracer, "label_names": {str(i): ORGAN_NAMES[i] for i in present},
            "uptake_suv": {k: round(v, 4) for k, v in uptake.suv.items()},
            "scanner": dataclasses.asdict(scanner)}
    return (Volume(suv, label.affine, "SUVbw", {"tracer": tracer}),
            Volume(organs, label.affine, "label"), info)
