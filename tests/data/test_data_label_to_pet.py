"""Label-to-PET on the real TotalSegmentator example (CT + 41-class label map)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seganypet.data.label_to_pet import TOTALSEGMENTATOR_V2, label_to_pet, organ_class_for
from seganypet.data.organs import ORGAN_IDS
from seganypet.data.scanner import ScannerParams
from seganypet.errors import InputError
from seganypet.io.nifti import read_nifti


@pytest.fixture(scope="module")
def ts_example(shared_dir: Path):
    folder = shared_dir / "data" / "totalsegmentator_example_ct"
    if not folder.is_dir():
        pytest.skip("TotalSegmentator example not present")
    return read_nifti(folder / "example_seg.nii.gz"), read_nifti(folder / "example_ct_sm.nii.gz")


def test_totalsegmentator_table_and_mapping() -> None:
    # Ids from the TotalSegmentator v2 "total" task (the README of ../shared lists 1, 5, 52).
    assert (len(TOTALSEGMENTATOR_V2), TOTALSEGMENTATOR_V2[1], TOTALSEGMENTATOR_V2[5],
            TOTALSEGMENTATOR_V2[52], TOTALSEGMENTATOR_V2[90]) == (117, "spleen", "liver", "aorta", "brain")
    assert TOTALSEGMENTATOR_V2[32] == "vertebrae_T12" and TOTALSEGMENTATOR_V2[117] == "costal_cartilages"
    assert all(organ_class_for(name) for name in TOTALSEGMENTATOR_V2.values())
    expected = {"lung_lower_lobe_left": "lung_left", "vertebrae_L2": "bone_marrow",
                "rib_right_9": "bone", "inferior_vena_cava": "aorta", "colon": "bowel",
                "autochthon_left": "muscle", "kidney_right": "kidney_right"}
    assert {n: organ_class_for(n) for n in expected} == expected


def test_fdg_image_from_the_example_labels(ts_example) -> None:
    seg, ct = ts_example
    suv, organs, info = label_to_pet(seg, np.random.default_rng(0), tracer="fdg", ct=ct)
    assert suv.same_grid(seg) and organs.same_grid(seg) and suv.unit == "SUVbw"
    source = seg.array
    assert np.all(organs.array[source == 5] == ORGAN_IDS["liver"])
    assert np.all(organs.array[np.isin(source, [30, 31, 32])] == ORGAN_IDS["bone_marrow"])
    # Unlabelled tissue split by CT: fat in -190..-30 HU, air stays empty.
    free = source == 0
    fat = free & (ct.array > -190) & (ct.array <= -30)
    assert np.all(organs.array[fat] == ORGAN_IDS["fat"])
    assert np.all(organs.array[free & (ct.array < -500)] == 0)

    def mean(tc_ids: list[int]) -> float:
        return float(suv.array[np.isin(source, tc_ids)].mean())

    # FDG ranges as in test_data_phantom (Zasadny & Wahl 1993; Paquet 2004), on real anatomy.
    assert 1.3 <= mean([5]) <= 3.3            # liver
    assert 1.0 <= mean([1]) <= 3.0            # spleen
    assert 0.9 <= mean([52, 63]) <= 2.6       # aorta + IVC (blood pool, some partial volume)
    assert mean([5]) > mean([86, 87]) > float(suv.array[fat].mean())  # liver > muscle > fat
    assert info["label_names"][str(ORGAN_IDS["liver"])] == "liver"


def test_psma_kidneys_hot_and_deterministic(ts_example) -> None:
    seg, ct = ts_example
    a, _, _ = label_to_pet(seg, np.random.default_rng(3), tracer="psma", ct=ct)
    b, _, _ = label_to_pet(seg, np.random.default_rng(3), tracer="psma", ct=ct)
    np.testing.assert_array_equal(a.array, b.array)
    kidneys = float(a.array[np.isin(seg.array, [2, 3])].mean())
    liver = float(a.array[seg.array == 5].mean())
    assert kidneys > 2 * liver > 0


def test_psf_setting_is_used_and_body_is_grown_without_ct(ts_example) -> None:
    seg, _ = ts_example
    sharp, organs, _ = label_to_pet(seg, np.random.default_rng(1),
                                    scanner=ScannerParams(psf_fwhm_mm=0.0, noise=False))
    blurred, _, _ = label_to_pet(seg, np.random.default_rng(1),
                                 scanner=ScannerParams(psf_fwhm_mm=12.0, noise=False))
    edge = [float(np.abs(np.diff(v.array, axis=0)).mean()) for v in (sharp, blurred)]
    assert edge[1] < 0.7 * edge[0]
    assert np.any(organs.array[seg.array == 0] == ORGAN_IDS["muscle"])


def test_ct_on_another_grid_is_refused(ts_example) -> None:
    seg, ct = ts_example
    affine = ct.affine.copy()
    affine[:3, 3] += 10.0
    with pytest.raises(InputError, match="share one grid"):
        label_to_pet(seg, np.random.default_rng(0), ct=type(ct)(ct.array, affine, ct.unit))
