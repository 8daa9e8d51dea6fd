"""The protocol on the real STS_001 whole-body FDG scan (GTV of a thigh sarcoma)."""

from __future__ import annotations

import numpy as np
import pytest

from seganypet.data.manifest import CaseRecord, write_manifest
from seganypet.evaluation.baselines import make_baseline
from seganypet.evaluation.runner import evaluate_manifest
from seganypet.io.nifti import read_nifti


@pytest.mark.parametrize("baseline", ["threshold41", "suv2.5"])
def test_baselines_on_the_sts001_gtv(sts001_dir, tmp_path, baseline):
    derived = sts001_dir / "derived_nifti"
    record = CaseRecord("STS_001", derived / "STS_001_PET_SUVbw.nii.gz",
                        derived / "STS_001_GTV_Mass_mask.nii.gz", {1: "gtv_mass"},
                        cohort="sts", tracer="fdg", split="test", quality="HQ")
    manifest = write_manifest([record], tmp_path / "sts.jsonl")
    rows = evaluate_manifest(manifest, make_baseline(baseline), baseline, n_clicks=3,
                             strategy="center")
    gtv = read_nifti(record.label).array != 0
    assert [r["click"] for r in rows] == [1, 2, 3]
    for row in rows:
        # the data README: 5095 voxels of 4.6875 x 4.6875 x 3.27 mm, about 366 ml
        assert row["target_volume_ml"] == pytest.approx(366.1, abs=0.1)
        assert row["nsd_voxel_tolerance_mm"] == pytest.approx(4.6875)
        index = (row["click_i"], row["click_j"], row["click_k"])
        assert bool(row["click_positive"]) == bool(gtv[index])
    assert len({(r["click_i"], r["click_j"], r["click_k"]) for r in rows}) == 3
    # a threshold tool captures a good part of this FDG-avid sarcoma but not the GTV drawn on
    # MRI (heterogeneous uptake, SUVmax 7.91 inside): the DSC is partial, not 0 and not 1
    assert 0.3 < rows[-1]["dice"] < 0.9
    assert np.isfinite(rows[-1]["nsd"]) and rows[-1]["nsd"] <= rows[-1]["nsd_voxel"]
