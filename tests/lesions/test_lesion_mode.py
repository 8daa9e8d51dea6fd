"""Lesion mode end to end: known phantom lesions are found, hot organs are not called lesions,
the files are complete, and the answer can be corrected with clicks."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from seganypet.cli import main
from seganypet.data.organs import LESION_ID_START, ORGAN_IDS
from seganypet.io import read_label_map
from seganypet.io.nifti import read_nifti

HOT_ORGANS = ("brain", "heart", "kidney_left", "kidney_right", "bladder")


def _hottest(image, mask: np.ndarray) -> tuple[int, int, int]:
    values = np.where(mask, np.asarray(image.array), -np.inf)
    return tuple(int(v) for v in np.unravel_index(int(np.argmax(values)), mask.shape))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum()) / max(int((a | b).sum()), 1)


@pytest.fixture(scope="module")
def lesion_run(lesion_phantom, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("lesions_out")
    assert main(["lesions", str(lesion_phantom["image"]), "-o", str(out), "--no-progress"]) == 0
    truth = read_nifti(lesion_phantom["label"]).array.astype(int)
    predicted = read_label_map(out / "lesions.nii.gz").array.astype(int)
    return {"out": out, "truth": truth, "pred": predicted,
            "image": read_nifti(lesion_phantom["image"], unit="SUVbw")}


def _touches_hot_organ(truth: np.ndarray, lesion: int) -> bool:
    from scipy import ndimage

    near = ndimage.binary_dilation(truth == lesion, iterations=1)
    return bool(np.isin(truth[near], [ORGAN_IDS[n] for n in HOT_ORGANS]).any())


def test_lesions_of_1ml_and_more_are_found(lesion_run):
    """Every lesion >= 1 ml is found, the lymph node touching the bladder (one hot spot with it
    at the threshold) and the liver metastasis near the heart's place included."""
    truth, pred, image = lesion_run["truth"], lesion_run["pred"], lesion_run["image"]
    ids = [i for i in np.unique(truth) if i >= LESION_ID_START]
    big = [i for i in ids if (truth == i).sum() * image.voxel_volume_ml >= 1.0]
    assert len(big) == 4 and any(_touches_hot_organ(truth, i) for i in big)
    for lesion in big:
        target = truth == lesion
        best = max((_iou(target, pred == p) for p in np.unique(pred[target]) if p), default=0.0)
        assert best >= 0.1, f"lesion {lesion} ({target.sum() * image.voxel_volume_ml:.1f} ml) missed"


def test_hot_organs_are_not_called_lesions(lesion_run):
    truth, pred = lesion_run["truth"], lesion_run["pred"]
    for value in np.unique(pred[pred > 0]):
        inside = truth[pred == value]
        organ_share = {name: float(np.mean(inside == ORGAN_IDS[name])) for name in HOT_ORGANS}
        worst = max(organ_share, key=organ_share.get)
        assert organ_share[worst] < 0.5, f"lesion {value} is mostly {worst}"
    # and there is at most one false lesion (touching no true lesion)
    false = [v for v in np.unique(pred[pred > 0]) if not np.any(truth[pred == v] >= LESION_ID_START)]
    assert len(false) <= 1, false


def test_outputs_are_complete(lesion_run):
    out: Path = lesion_run["out"]
    for name in ("lesions.nii.gz", "lesions.csv", "summary.json", "organs.nii.gz", "preview.png"):
        assert (out / name).stat().st_size > 0, name
    rows = list(csv.DictReader((out / "lesions.csv").open()))
    assert list(rows[0]) == ["label", "volume_ml", "suv_max", "suv_mean", "suv_peak", "tlg",
                             "centroid_mm", "score"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["count"] == len(rows) == int(lesion_run["pred"].max())
    assert summary["tmtv_ml"] == pytest.approx(sum(float(r["volume_ml"]) for r in rows), rel=1e-3)
    liver = summary["liver_reference"]
    assert summary["threshold_suv"] == pytest.approx(1.5 * liver["mean"] + 2 * liver["sd"], rel=1e-3)
    # the automatic liver prompt lands in the phantom's liver
    assert lesion_run["truth"][tuple(liver["prompt_index"])] == ORGAN_IDS["liver"]
    organs = set(json.loads((out / "organs.json").read_text())["labels"].values())
    assert {"liver", "brain", "bladder"} <= organs


def test_clicks_remove_and_add_lesions(lesion_run):
    from seganypet import load_model
    from seganypet.lesions import LesionEditor

    editor = LesionEditor(load_model("default"), lesion_run["image"], lesion_run["pred"])
    truth = lesion_run["truth"]
    # the last lesion clear of hot organs (a click beside the bladder asks the model there)
    values = sorted((int(v) for v in np.unique(lesion_run["pred"]) if v), reverse=True)
    value = next(v for v in values if not any(
        _touches_hot_organ(truth, i) for i in np.unique(truth[lesion_run["pred"] == v])
        if i >= LESION_ID_START))
    voxel = _hottest(lesion_run["image"], lesion_run["pred"] == value)
    editor.add_point(voxel, positive=False)  # in the lesion's hot half: the lesion goes
    assert not np.any(editor.labels.array == value)
    edits = 1
    # a positive click at the deepest voxel of a true lesion brings a lesion back there
    lesion = [i for i in np.unique(truth[lesion_run["pred"] == value]) if i >= LESION_ID_START]
    if lesion:
        edits += 1
        target = truth == lesion[0]
        centre = tuple(np.argwhere(target)[len(np.argwhere(target)) // 2])
        labels = editor.add_point(centre).array
        assert labels[centre] > 0 and _iou(target, labels == labels[centre]) >= 0.1
    # a negative click at the lesion's faint edge trims, it does not delete the lesion
    first = next((v for v in values if v != value), 0)
    if first >= 1:
        inside = lesion_run["pred"] == first
        values = np.where(inside, np.asarray(lesion_run["image"].array), np.inf)
        edge = tuple(int(v) for v in np.unravel_index(int(np.argmin(values)), inside.shape))
        faint = values[edge] < 0.5 * np.asarray(lesion_run["image"].array)[inside].max()
        trimmed = editor.add_point(edge, positive=False).array
        assert trimmed[edge] == 0 and np.any(trimmed == first) == bool(faint)
        edits += 1
    for _ in range(edits):
        editor.undo()
    assert np.array_equal(editor.labels.array, lesion_run["pred"])


def test_segment_similar_proposes_a_removed_lesion(lesion_run):
    from seganypet import load_model
    from seganypet.lesions import LesionEditor

    pred = lesion_run["pred"]
    assert pred.max() >= 2
    editor = LesionEditor(load_model("default"), lesion_run["image"], pred)
    removed = pred == 2
    editor.add_point(_hottest(lesion_run["image"], removed), positive=False)
    added = editor.segment_similar(1, factor=3.0)
    labels = editor.labels.array
    assert added and np.isin(labels[removed], added).mean() > 0.5
    assert np.all(labels[pred == 1] == 1)  # the example is untouched
