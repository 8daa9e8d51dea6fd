"""Lesions that partial volume and a warm host keep low: a 1.5 ml node peaking below the
PERCIST threshold, and a bone metastasis only 2.5 times the marrow, are found; the hot bowel
of the abdomen (focal uptake at the liver's level) is not called a lesion."""

from __future__ import annotations

import numpy as np
import pytest

from seganypet.data.lesions import LesionSpec
from seganypet.data.organs import LESION_ID_START, ORGAN_IDS

LOW_LESIONS = (
    LesionSpec("lymph_node", diameter_mm=14.0, contrast=5.0, host="muscle"),
    LesionSpec("bone_met", diameter_mm=14.0, contrast=2.5, host="bone_marrow"),
)


@pytest.fixture(scope="module")
def low_run(make_phantom):
    from seganypet import load_model
    from seganypet.lesions import find_lesions

    case = make_phantom(12, lesions=LOW_LESIONS)
    return case, find_lesions(case.suv, load_model("default"))


def test_small_node_below_the_percist_threshold_is_found(low_run):
    case, result = low_run
    truth, pred = case.label.array, result.labels.array
    suv = np.asarray(case.suv.array)
    node = truth == LESION_ID_START
    assert 1.0 <= node.sum() * case.suv.voxel_volume_ml <= 2.0
    # partial volume: the node never reaches the threshold, the threshold alone misses it
    assert suv[node].max() < result.threshold
    assert np.any(pred[node] > 0), "the sub-threshold node was missed"


def test_low_contrast_bone_metastasis_is_found(low_run):
    case, result = low_run
    bone = case.label.array == LESION_ID_START + 1
    assert np.any(result.labels.array[bone] > 0), "the bone metastasis was missed"


def test_no_false_lesion_in_the_bowel_or_organs(low_run):
    case, result = low_run
    truth, pred = case.label.array, result.labels.array
    for value in np.unique(pred[pred > 0]):
        inside = truth[pred == value]
        assert np.mean(inside >= LESION_ID_START) > 0.3, (
            f"lesion {value} is mostly {max(ORGAN_IDS, key=lambda n: np.mean(inside == ORGAN_IDS[n]))}")
