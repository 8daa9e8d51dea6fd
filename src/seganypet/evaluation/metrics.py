"""Segmentation metrics on the full original grid, in millimetres and millilitres.

Conventions (SegAnyPET ``metric_utils.py``, spec §1d):

* DSC = 2|G∩P| / (|G|+|P|); both empty -> NaN; exactly one empty -> 0.
* NSD (normalised surface Dice) at a tolerance in mm, the DeepMind ``surface-distance``
  definition the paper used (area-weighted surface elements), via MONAI's
  surface distances with ``use_subvoxels=True``; ``subvoxel=False`` counts boundary voxels
  instead. The paper's 1 mm is below PET voxel size, so a voxel-size-aware tolerance (the
  largest voxel edge) is reported beside it. Empty rules as DSC.
* autoPET false-positive volume: predicted 18-connected components touching no ground truth;
  false-negative volume: ground-truth components touching no prediction; both in ml.
* HD95 (optional, slower): 95th percentile symmetric surface distance in mm (MONAI).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import cc3d
import numpy as np
import torch
from monai.metrics import compute_hausdorff_distance
from monai.metrics.utils import get_edge_surface_distance

from seganypet.errors import InputError
from seganypet.volume import Volume

__all__ = [
    "SegmentationScores",
    "dice",
    "false_negative_volume_ml",
    "false_positive_volume_ml",
    "hausdorff95",
    "normalized_surface_dice",
    "score_masks",
    "surface_dice",
    "voxel_tolerance_mm",
]

Spacing = tuple[float, float, float]
# autoPET counts lesion components with 18-connectivity.
_CONNECTIVITY = 18


def _pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, target = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
    if pred.shape != target.shape or pred.ndim != 3:
        raise InputError(
            f"prediction {pred.shape} and target {target.shape} must be 3D arrays of one shape"
        )
    return pred, target


def dice(pred: np.ndarray, target: np.ndarray) -> float:
    """Dice similarity coefficient of two ``(I, J, K)`` masks (NaN if both are empty)."""
    pred, target = _pair(pred, target)
    total = int(pred.sum()) + int(target.sum())
    if total == 0:
        return float("nan")
    return 2.0 * int(np.logical_and(pred, target).sum()) / total


def _as_batch(mask: np.ndarray) -> torch.Tensor:
    """``(I, J, K)`` bool -> ``(1, 1, I, J, K)`` float tensor, MONAI's one-hot layout."""
    return torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None, None]


def _crop_to_union(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both masks cropped to the bounding box of their union plus one voxel (clipped to the
    array), so whole-body volumes are not converted to tensors for a small lesion. Surface
    distances are translation-invariant and MONAI pads the array border itself."""
    union = pred | target
    box = []
    for axis in range(3):
        hits = np.flatnonzero(union.any(axis=tuple(a for a in range(3) if a != axis)))
        box.append(slice(max(int(hits[0]) - 1, 0), int(hits[-1]) + 2))
    return pred[tuple(box)], target[tuple(box)]


def surface_dice(
    pred: np.ndarray,
    target: np.ndarray,
    spacing: Spacing,
    tolerances_mm: Sequence[float],
    subvoxel: bool = True,
) -> list[float]:
    """NSD of two ``(I, J, K)`` masks at each tolerance in mm; the surface distances (MONAI,
    in mm via ``spacing``) are computed once for all tolerances.

    With ``subvoxel`` the surface elements and their areas are DeepMind's (MONAI
    ``use_subvoxels=True``, as ``compute_surface_dice``); otherwise every boundary voxel counts
    once. Returns NaN if both masks are empty, 0 if exactly one is.
    """
    pred, target = _pair(pred, target)
    if not pred.any() and not target.any():
        return [float("nan")] * len(tolerances_mm)
    if not pred.any() or not target.any():
        return [0.0] * len(tolerances_mm)
    pred, target = _crop_to_union(pred, target)
    with warnings.catch_warnings():  # MONAI 1.5+ warns about its own deprecated internal call
        warnings.simplefilter("ignore", FutureWarning)
        (edges_pred, edges_gt), (to_target, to_pred), areas = get_edge_surface_distance(
            _as_batch(pred)[0, 0], _as_batch(target)[0, 0], spacing=[float(s) for s in spacing],
            use_subvoxels=subvoxel, symmetric=True, warn_empty=False,
        )
    if subvoxel:  # weight each surface element by its area
        weight_pred, weight_gt = areas[0][edges_pred], areas[1][edges_gt]
    else:
        weight_pred, weight_gt = torch.ones_like(to_target), torch.ones_like(to_pred)
    total = float(weight_pred.sum() + weight_gt.sum())
    return [
        float(weight_pred[to_target <= tol].sum() + weight_gt[to_pred <= tol].sum()) / total
        for tol in map(float, tolerances_mm)
    ]


def normalized_surface_dice(
    pred: np.ndarray,
    target: np.ndarray,
    spacing: Spacing,
    tolerance_mm: float = 1.0,
    subvoxel: bool = True,
) -> float:
    """NSD of two ``(I, J, K)`` masks at one tolerance in mm (see :func:`surface_dice`)."""
    return surface_dice(pred, target, spacing, [tolerance_mm], subvoxel)[0]


def hausdorff95(pred: np.ndarray, target: np.ndarray, spacing: Spacing) -> float:
    """95th-percentile symmetric Hausdorff distance in mm; NaN if either mask is empty."""
    pred, target = _pair(pred, target)
    if not pred.any() or not target.any():
        return float("nan")
    pred, target = _crop_to_union(pred, target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hd = compute_hausdorff_distance(
            _as_batch(pred), _as_batch(target), include_background=True, percentile=95,
            spacing=[float(s) for s in spacing],
        )
    return float(hd[0, 0])


def _unmatched_voxels(components_of: np.ndarray, other: np.ndarray) -> int:
    """Voxels of the 18-connected components of ``components_of`` that touch no ``other`` voxel."""
    labels = cc3d.connected_components(components_of, connectivity=_CONNECTIVITY)
    sizes = np.bincount(labels.ravel())
    touched = np.unique(labels[other])
    sizes[touched] = 0  # matched components (and background label 0 if any) do not count
    sizes[0] = 0
    return int(sizes.sum())


def false_positive_volume_ml(pred: np.ndarray, target: np.ndarray, voxel_ml: float) -> float:
    """autoPET FP volume: predicted components with no ground-truth voxel, in ml."""
    pred, target = _pair(pred, target)
    return _unmatched_voxels(pred, target) * float(voxel_ml)


def false_negative_volume_ml(pred: np.ndarray, target: np.ndarray, voxel_ml: float) -> float:
    """autoPET FN volume: ground-truth components with no predicted voxel, in ml."""
    pred, target = _pair(pred, target)
    return _unmatched_voxels(target, pred) * float(voxel_ml)


def voxel_tolerance_mm(spacing: Spacing) -> float:
    """The voxel-size-aware NSD tolerance: the largest voxel edge, so a one-voxel boundary
    shift along any axis is forgiven (the paper's 1 mm is below PET voxel size)."""
    return float(max(spacing))


@dataclass(frozen=True)
class SegmentationScores:
    """All metrics of one prediction against one target (NaN where undefined)."""

    dice: float
    nsd: float
    nsd_tolerance_mm: float
    nsd_voxel: float
    nsd_voxel_tolerance_mm: float
    fp_volume_ml: float
    fn_volume_ml: float
    pred_volume_ml: float
    target_volume_ml: float
    hd95_mm: float = float("nan")

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def score_masks(
    pred: Volume, target: Volume, tolerance_mm: float = 1.0, with_hd95: bool = False
) -> SegmentationScores:
    """Every metric of ``pred`` against ``target``, two masks on the same grid (non-zero = in).

    Raises:
        InputError: if the grids differ (resample the prediction onto the target grid first).
    """
    if not pred.same_grid(target):
        raise InputError(
            f"prediction grid {pred.shape} and target grid {target.shape} differ (shape or "
            "affine); metrics are computed on the original image grid only"
        )
    p, t = pred.array != 0, target.array != 0
    spacing, voxel_ml = target.spacing, target.voxel_volume_ml
    voxel_tol = voxel_tolerance_mm(spacing)
    nsd, nsd_voxel = surface_dice(p, t, spacing, [tolerance_mm, voxel_tol])
    return SegmentationScores(
        dice=dice(p, t),
        nsd=nsd,
        nsd_tolerance_mm=float(tolerance_mm),
        nsd_voxel=nsd_voxel,
        nsd_voxel_tolerance_mm=voxel_tol,
        fp_volume_ml=false_positive_volume_ml(p, t, voxel_ml),
        fn_volume_ml=false_negative_volume_ml(p, t, voxel_ml),
        pred_volume_ml=int(p.sum()) * voxel_ml,
        target_volume_ml=int(t.sum()) * voxel_ml,
        hd95_mm=hausdorff95(p, t, spacing) if with_hd95 else float("nan"),
    )
