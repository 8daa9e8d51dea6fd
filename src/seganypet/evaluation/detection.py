"""autoPET V's Detection-Matching Metric (DMM): lesion-level F1 of connected components.

Ground-truth and predicted masks are split into 18-connected components; a ground-truth
component is detected when some predicted component overlaps it with IoU >= 0.1 (the
challenge's threshold), a predicted component is a false positive when it matches no
ground-truth component. ``DMM = 2 TP / (2 TP + FP + FN)``; NaN for an empty ground truth
(the challenge leaves those cases out of AUC-DMM).
"""

from __future__ import annotations

import cc3d
import numpy as np

__all__ = ["MATCH_IOU", "detection_f1"]

MATCH_IOU = 0.1


def detection_f1(pred: np.ndarray, target: np.ndarray, iou: float = MATCH_IOU) -> float:
    """DMM of a boolean ``(I, J, K)`` prediction against the target (module docstring)."""
    pred, target = np.asarray(pred, bool), np.asarray(target, bool)
    truth_labels, n_truth = cc3d.connected_components(target, connectivity=18, return_N=True)
    if n_truth == 0:
        return float("nan")
    pred_labels, n_pred = cc3d.connected_components(pred, connectivity=18, return_N=True)
    # overlap[t, p]: voxels shared by truth component t and predicted component p (1-based)
    both = target & pred
    overlap = np.zeros((n_truth + 1, n_pred + 1), np.int64)
    np.add.at(overlap, (truth_labels[both], pred_labels[both]), 1)
    truth_size = np.bincount(truth_labels.ravel(), minlength=n_truth + 1)
    pred_size = np.bincount(pred_labels.ravel(), minlength=n_pred + 1)
    union = truth_size[:, None] + pred_size[None, :] - overlap
    matched = (overlap / np.maximum(union, 1) >= iou)[1:, 1:]
    tp = int(matched.any(axis=1).sum())
    fn = n_truth - tp
    fp = int((~matched.any(axis=0)).sum())
    return 2.0 * tp / (2 * tp + fp + fn)
