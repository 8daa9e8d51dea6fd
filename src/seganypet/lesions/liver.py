"""The liver from an automatic prompt, and its PERCIST reference.

No box, no atlas: the prompt comes from the image.

1. **Homogeneous warm tissue**: voxels at least ``_INTERIOR_MM`` inside the body whose local
   mean (a ~25 mm cube) exceeds ``_WARM_RATIO`` × the body's median uptake and whose local
   coefficient of variation is below ``_MAX_LOCAL_COV`` (0.3; looser for noisy scans). Lesions, the renal pelvis, bowel and
   organ borders are heterogeneous at that scale; the liver parenchyma is not.
2. Of its 6-connected parts (per uptake band), the **liver** is the one with the largest
   score = volume × (2 × fraction right of the midline − 1)² × level²: large, right-sided and
   warm (the right lung and a lowered right arm are large and right-sided but cold). The brain and the bladder
   are as homogeneous but sit on the midline, the spleen and the heart lie left, kidneys
   are an order of magnitude smaller.
3. The **prompt** is that part's deepest voxel. The model segments the liver from it; of its
   first-click candidates the one agreeing best (Dice) with the homogeneous part is kept.
   When the model's mask disagrees with the image evidence (Dice < ``_MIN_AGREEMENT``), the
   homogeneous part itself is used as the liver.
4. The PERCIST sphere (``seganypet.quantify.percist``) is centred on the deepest voxel of
   liver ∩ homogeneous part, so a liver metastasis does not enter the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import cc3d
import numpy as np
from scipy import ndimage

from seganypet.errors import InputError
from seganypet.evaluation.metrics import dice
from seganypet.lesions.anatomy import BodyFrame
from seganypet.quantify.percist import LiverReference, deepest_voxel, liver_reference
from seganypet.volume import Volume

__all__ = ["LiverFinding", "find_liver", "homogeneous_liver_region"]

_INTERIOR_MM = 12.0
_WINDOW_MM = 25.0
_WARM_RATIO = 1.6
_MAX_LOCAL_COV = (0.3, 0.4, 0.5)  # tried in turn (noisier scans need the looser)
_MIN_LIVER_ML = 200.0
_MIN_AGREEMENT = 0.3
_MIN_RIGHT_FRACTION = 0.7
# Uptake bands: local mean within a factor 1.2 of the level; levels 1.1x apart.
_BAND = 1.2
_BAND_STEP = 1.1
_BRIDGE_MM = 8.0
_GROW_MM = 12.0
# The extent also grows through liver-level tissue (smoothed SUV >= mean - 2 SD of the
# reference, hotter lesions included) up to this far from the homogeneous region: a metastasis
# breaks the homogeneity over a whole window (~25 mm) around it, so at the liver's edge it is
# not enclosed by the homogeneous region and is lost to hole filling.
_TISSUE_GROW_MM = 25.0


@dataclass(frozen=True)
class LiverFinding:
    """The automatic liver.

    Attributes:
        mask: uint8 ``(I, J, K)`` liver mask on the scan grid.
        prompt_index: ``(i, j, k)`` of the automatic click.
        reference: the PERCIST liver reference (mean, SD, threshold, sphere centre).
        source: ``"model"`` (the model's mask) or ``"image"`` (the homogeneous region).
        agreement: Dice between the model's mask and the homogeneous region.
        extent: bool ``(I, J, K)``: the homogeneous region grown back by ``_GROW_MM`` and
            through liver-level tissue by ``_TISSUE_GROW_MM``, holes filled, ∪ the model's
            mask; it holds the liver's metastases (which the model and the homogeneous region
            leave out), for telling a liver lesion from a kidney.
    """

    mask: Volume
    prompt_index: tuple[int, int, int]
    reference: LiverReference
    source: str
    agreement: float
    extent: np.ndarray


def _local_stats(suv: np.ndarray, spacing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    size = [max(3, round(_WINDOW_MM / s) | 1) for s in spacing]
    mean = ndimage.uniform_filter(suv, size)
    square = ndimage.uniform_filter(suv * suv, size)
    return mean, np.sqrt(np.maximum(square - mean * mean, 0.0))


def _right_sided_score(parts: np.ndarray, count: int, frame: BodyFrame) -> np.ndarray:
    """Per part (index 0 = background): volume in ml × (2 × fraction right of the midline − 1)²,
    zero unless ``_MIN_RIGHT_FRACTION`` of it lies right of the midline (the square keeps
    body-wide bands of muscle, ~half right, from winning by sheer size)."""
    voxel_ml = float(np.prod(frame.spacing)) / 1000.0
    sizes = np.bincount(parts.ravel(), minlength=count + 1).astype(np.float64)
    index = np.argwhere(parts > 0)
    right = frame.lateral_mm(index) > 0
    right_counts = np.bincount(parts[parts > 0], weights=right, minlength=count + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = right_counts / sizes
        score = sizes * voxel_ml * (2.0 * fraction - 1.0) ** 2
    score[~(fraction >= _MIN_RIGHT_FRACTION)] = 0.0
    score[0] = 0.0
    score[sizes * voxel_ml < _MIN_LIVER_ML] = 0.0
    return score


def homogeneous_liver_region(frame: BodyFrame) -> np.ndarray:
    """The homogeneous warm right-sided region most likely the liver (RAS bool ``(X, Y, Z)``).

    Organs touch (liver, right kidney, gut), so the homogeneous voxels are split into uptake
    bands (local mean within ``_BAND`` of a level, levels on a geometric ladder), eroded by
    ``_BRIDGE_MM``, and the best part over all bands wins. Noise raises the local CoV of
    homogeneous tissue (low counts, a short frame, a heavy patient: the liver's is ~0.35 at
    a third of the usual counts), so when no part qualifies at the first CoV limit of
    ``_MAX_LOCAL_COV`` the next, looser one is tried.

    Raises:
        InputError: when no such region of at least ``_MIN_LIVER_ML`` exists.
    """
    mean, sd = _local_stats(frame.suv.astype(np.float64), frame.spacing)
    depth = ndimage.distance_transform_edt(frame.body, sampling=frame.spacing)
    for max_cov in _MAX_LOCAL_COV:
        best = _best_band_part(frame, mean, sd, depth, max_cov)
        if best is not None:
            return best
    raise InputError("no liver-like region found (homogeneous warm tissue on the right); "
                     "give a fixed threshold, e.g. --threshold 4")


def _best_band_part(frame: BodyFrame, mean: np.ndarray, sd: np.ndarray, depth: np.ndarray,
                    max_cov: float) -> np.ndarray | None:
    """The best-scoring part over all uptake bands of the voxels whose local CoV is below
    ``max_cov`` (RAS bool), or None."""
    with np.errstate(invalid="ignore", divide="ignore"):
        homogeneous = ((depth > _INTERIOR_MM) & (mean > _WARM_RATIO * frame.tissue_median)
                       & (sd < max_cov * mean))
    best, best_score = None, 0.0
    # Erosion (~8 mm) cuts the thin bridges through which touching organs of one band merge.
    erosion = max(1, round(_BRIDGE_MM / float(np.mean(frame.spacing))))
    level = _WARM_RATIO * frame.tissue_median * _BAND
    top = float(mean[homogeneous].max()) if homogeneous.any() else 0.0
    while level < top:
        band = ndimage.binary_erosion(homogeneous & (mean > level / _BAND)
                                      & (mean < level * _BAND), iterations=erosion)
        parts, count = cc3d.connected_components(band, connectivity=6, return_N=True)
        if count:
            # Warmer is likelier: the right lung and a lowered right arm are large,
            # homogeneous and right-sided too, but far colder than the liver.
            score = _right_sided_score(parts, count, frame) * level**2
            k = int(np.argmax(score))
            if score[k] > best_score:
                best, best_score = parts == k, float(score[k])
        level *= _BAND_STEP
    return best


def _grown_liver(frame: BodyFrame, region: np.ndarray, floor: float) -> np.ndarray:
    """RAS bool: the homogeneous region grown back by the erosion and window it lost
    (``_GROW_MM``) and through tissue of liver level or hotter (lightly smoothed SUV >=
    ``floor``) by ``_TISSUE_GROW_MM``, with enclosed holes (lesions, vessels) filled."""
    step = float(np.mean(frame.spacing))
    grown = ndimage.binary_dilation(region, iterations=max(1, round(_GROW_MM / step)))
    reach = max(1, round(_TISSUE_GROW_MM / step))
    box = tuple(slice(max(s.start - reach, 0), s.stop + reach)
                for s in ndimage.find_objects(region.astype(np.uint8))[0])
    warm = ndimage.gaussian_filter(frame.suv[box], 1.0) >= floor
    grown[box] |= ndimage.binary_dilation(region[box], iterations=reach, mask=warm)
    return ndimage.binary_fill_holes(grown)


def _model_liver(session, region: np.ndarray, seed: tuple[int, int, int]) -> tuple[np.ndarray, float]:
    """The model's liver from one click at ``seed``: the candidate agreeing best with ``region``."""
    session.add_point(seed)
    best_mask, best_dice = session.mask.array > 0, -1.0
    ious = session.candidate_ious
    for k in range(len(ious)) if ious else []:
        mask = session.select_candidate(k).array > 0
        score = dice(mask, region)
        if score > best_dice:
            best_mask, best_dice = mask, score
    if best_dice < 0:
        best_dice = dice(best_mask, region)
    return best_mask, float(best_dice)


def find_liver(image: Volume, frame: BodyFrame, session) -> LiverFinding:
    """Find the liver of ``image`` automatically and measure its PERCIST reference.

    Args:
        image: SUV volume ``(I, J, K)``.
        frame: its :func:`~seganypet.lesions.anatomy.body_frame`.
        session: a :class:`~seganypet.session.Session` on ``image`` (a new object is used).
    """
    region_ras = homogeneous_liver_region(frame)
    region = frame.to_scan(region_ras)
    seed, _ = deepest_voxel(image, region)
    session.new_object("liver")
    mask, agreement = _model_liver(session, region, seed)
    source = "model" if agreement >= _MIN_AGREEMENT else "image"
    liver = mask if source == "model" else region
    core = liver & region
    centre, _ = deepest_voxel(image, core if core.any() else liver)
    reference = liver_reference(image, liver, centre=centre)
    floor = reference.mean - 2.0 * reference.sd
    extent = frame.to_scan(_grown_liver(frame, region_ras, floor)) | liver
    return LiverFinding(image.with_array(liver.astype(np.uint8), unit="mask"), seed, reference,
                        source, agreement, extent)
