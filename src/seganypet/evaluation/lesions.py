"""Whole-body lesion evaluation in the autoPET style: an automatic answer, then corrections.

Per scan and method: iteration 0 is the method's automatic label map; then up to
``n_clicks`` corrective clicks, each at the centre of the largest error component (a positive
click in missed lesion, a negative one in a false lesion; ``seganypet.clicks.next_click``),
applied the way a user would (:class:`~seganypet.lesions.LesionEditor` for the model; for the
threshold methods a positive click adds the thresholded component under it and a negative one
removes the component it hits). After every iteration, on the scan's grid:

* DSC of all lesions together, FPV and FNV in ml (autoPET: components touching no truth /
  truth components touching no prediction, 18-connected);
* detection: a true lesion (18-connected component of the truth) is found when some predicted
  lesion overlaps it with IoU >= 0.1; a predicted lesion overlapping every true lesion with
  IoU < 0.1 is a false positive; sensitivity over true lesions >= ``min_lesion_ml``;
* the area under Dice-vs-interactions (trapezoid over iterations 0..n, divided by n).

Methods: ``model`` (lesion mode), ``suv4`` (every component of SUV >= 4, no suppression) and
``percist`` (the PERCIST threshold with the same physiological suppression, no lesion prompts).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import cc3d
import numpy as np

from seganypet.clicks import next_click
from seganypet.data.manifest import CaseRecord
from seganypet.data.organs import is_lesion_name
from seganypet.evaluation.metrics import dice, false_negative_volume_ml, false_positive_volume_ml
from seganypet.evaluation.runner import case_rng, read_case
from seganypet.volume import Volume

__all__ = ["LESION_METHODS", "detection", "evaluate_lesion_case", "lesion_truth"]

LESION_METHODS = ("model", "suv4", "percist")
MATCH_IOU = 0.1
FIXED_SUV = 4.0


def lesion_truth(record: CaseRecord, labels: np.ndarray) -> np.ndarray:
    """Bool ``(I, J, K)``: every label of the case named like a lesion."""
    ids = [i for i, name in record.label_names.items() if is_lesion_name(name)]
    return np.isin(labels, ids)


def detection(pred_labels: np.ndarray, truth: np.ndarray, voxel_ml: float,
              min_lesion_ml: float = 1.0) -> dict[str, float]:
    """Found / total true lesions (>= ``min_lesion_ml``) and false-positive lesions at IoU 0.1."""
    components, count = cc3d.connected_components(truth, connectivity=18, return_N=True)
    pairs = np.stack([components.ravel(), pred_labels.ravel()], axis=1)
    pairs = pairs[(pairs[:, 0] > 0) | (pairs[:, 1] > 0)]
    overlap: dict[tuple[int, int], int] = {}
    both = pairs[(pairs[:, 0] > 0) & (pairs[:, 1] > 0)]
    keys, counts = np.unique(both, axis=0, return_counts=True) if both.size else ([], [])
    for (t, p), c in zip(keys, counts):
        overlap[(int(t), int(p))] = int(c)
    true_size = np.bincount(components.ravel(), minlength=count + 1)
    pred_size = np.bincount(pred_labels.ravel().astype(np.int64))
    iou = {k: c / (true_size[k[0]] + pred_size[k[1]] - c) for k, c in overlap.items()}
    matched_true = {t for (t, _), v in iou.items() if v >= MATCH_IOU}
    matched_pred = {p for (_, p), v in iou.items() if v >= MATCH_IOU}
    big = [t for t in range(1, count + 1) if true_size[t] * voxel_ml >= min_lesion_ml]
    predicted = [p for p in range(1, len(pred_size)) if pred_size[p] > 0]
    return {"true_lesions": len(big), "found": sum(t in matched_true for t in big),
            "false_positive_lesions": sum(p not in matched_pred for p in predicted)}


class _ThresholdEditor:
    """Clicks on a threshold answer: + adds the component under the click, - removes one."""

    def __init__(self, image: Volume, labels: np.ndarray, threshold: float) -> None:
        self._labels = labels.astype(np.int32).copy()
        self._components = cc3d.connected_components(np.asarray(image.array) >= threshold,
                                                     connectivity=18)

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    def add_point(self, index: tuple[int, int, int], positive: bool = True) -> None:
        hit = self._labels[index]
        if not positive:
            if hit:
                self._labels[self._labels == hit] = 0
            return
        component = self._components[index]
        if component and not hit:
            self._labels[(self._components == component) & (self._labels == 0)] = \
                self._labels.max() + 1


def _automatic(method: str, image: Volume, model, settings) -> tuple[np.ndarray, float]:
    """(label map, threshold used) of one method's iteration 0."""
    from dataclasses import replace

    from seganypet.lesions import find_lesions

    if method == "suv4":
        return cc3d.connected_components(np.asarray(image.array) >= FIXED_SUV,
                                         connectivity=18), FIXED_SUV
    chosen = settings if method == "model" else replace(settings, guard="hot")
    result = find_lesions(image, model, chosen)
    return result.labels.array.astype(np.int32), result.threshold


def _editor(method: str, image: Volume, labels: np.ndarray, threshold: float, model):
    if method == "model":
        from seganypet.lesions import LesionEditor

        return LesionEditor(model, image, labels)
    return _ThresholdEditor(image, labels, threshold)


def _current(editor) -> np.ndarray:
    labels = editor.labels
    return labels.array if isinstance(labels, Volume) else labels


def evaluate_lesion_case(record: CaseRecord, method: str, model, settings, n_clicks: int = 5,
                         seed: int = 0, min_lesion_ml: float = 1.0,
                         clock: Callable[[], float] = time.perf_counter) -> list[dict[str, Any]]:
    """Result rows (iteration 0..n_clicks) of one scan and one method (module docstring)."""
    image, labels = read_case(record)
    truth = lesion_truth(record, labels)
    rng = case_rng(seed, record.case_id, 0)
    start = clock()
    automatic, threshold = _automatic(method, image, model, settings)
    editor = _editor(method, image, automatic, threshold, model)
    rows = [_row(record, method, 0, automatic, truth, image, min_lesion_ml, clock() - start)]
    clicks = []
    for iteration in range(1, n_clicks + 1):
        pred = _current(editor) > 0
        if not (pred ^ truth).any():
            break
        click = next_click(pred, truth, rng, "center", image.spacing, clicks)
        clicks.append(click)
        start = clock()
        editor.add_point(tuple(int(v) for v in click.index), click.positive)
        rows.append(_row(record, method, iteration, _current(editor), truth, image,
                         min_lesion_ml, clock() - start))
    return rows


def _row(record: CaseRecord, method: str, iteration: int, labels: np.ndarray,
         truth: np.ndarray, image: Volume, min_lesion_ml: float, seconds: float
         ) -> dict[str, Any]:
    pred = labels > 0
    voxel_ml = image.voxel_volume_ml
    found = detection(labels, truth, voxel_ml, min_lesion_ml)
    return {
        "case_id": record.case_id, "method": method, "iteration": iteration,
        "dice": dice(pred, truth),
        "fpv_ml": false_positive_volume_ml(pred, truth, voxel_ml),
        "fnv_ml": false_negative_volume_ml(pred, truth, voxel_ml),
        "true_lesions": found["true_lesions"], "found": found["found"],
        "sensitivity": found["found"] / found["true_lesions"] if found["true_lesions"] else float("nan"),
        "false_positive_lesions": found["false_positive_lesions"],
        "pred_ml": float(pred.sum()) * voxel_ml, "seconds": round(seconds, 3),
    }


def area_under_dice(rows: list[dict[str, Any]], n_clicks: int) -> float:
    """Trapezoid area under Dice vs iteration (0..n_clicks) / n_clicks; a run that stopped early
    (no error left) keeps its last Dice."""
    values = [r["dice"] for r in sorted(rows, key=lambda r: r["iteration"])]
    values += [values[-1]] * (n_clicks + 1 - len(values))
    if n_clicks == 0:
        return float(values[0])
    return float(np.trapezoid(values) / n_clicks) if hasattr(np, "trapezoid") else \
        float(np.trapz(values) / n_clicks)
