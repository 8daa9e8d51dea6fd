"""Phantom generator: determinism, organ uptake per tracer, lesions, scanner effects."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from seganypet.data.anatomy import sample_anatomy
from seganypet.data.lesions import LesionSpec
from seganypet.data.organs import LESION_ID_START, ORGAN_IDS
from seganypet.data.phantom import PhantomConfig, generate_case
from seganypet.data.scanner import sample_scanner

ALL_ORGANS = tuple(ORGAN_IDS)


def _organ_mean(case, name: str, erode: int = 0) -> float:
    mask = case.label.array == ORGAN_IDS[name]
    if erode:
        mask = ndimage.binary_erosion(mask, iterations=erode)
    assert mask.sum() > 0, name
    return float(case.suv.array[mask].mean())


def test_same_seed_same_case_and_other_seed_differs() -> None:
    config = PhantomConfig(tracer="mixed", small=True)
    a = generate_case(np.random.default_rng(7), config)
    b = generate_case(np.random.default_rng(7), config)
    c = generate_case(np.random.default_rng(8), config)
    np.testing.assert_array_equal(a.suv.array, b.suv.array)
    np.testing.assert_array_equal(a.label.array, b.label.array)
    np.testing.assert_array_equal(a.suv.affine, b.suv.affine)
    assert a.info == b.info
    assert a.suv.shape != c.suv.shape or not np.array_equal(a.suv.array, c.suv.array)


def test_case_structure_and_info_are_consistent() -> None:
    case = generate_case(np.random.default_rng(3), PhantomConfig(small=True, n_lesions=3))
    assert case.suv.same_grid(case.label) and case.suv.unit == "SUVbw"
    assert case.suv.array.dtype == np.float32 and case.label.array.dtype == np.uint8
    assert case.suv.array.min() >= 0 and np.isfinite(case.suv.array).all()
    present = {int(v) for v in np.unique(case.label.array)} - {0}
    assert present == {int(k) for k in case.info["label_names"]}
    assert set(case.info["organ_ids"]) == set(ALL_ORGANS)  # every named organ is in the image
    for lesion in case.info["lesions"]:
        assert lesion["id"] >= LESION_ID_START and lesion["kind"] and lesion["diameter_mm"] > 0
        assert lesion["volume_ml"] == pytest.approx(
            (case.label.array == lesion["id"]).sum() * case.label.voxel_volume_ml, rel=1e-3)


# Ranges of organ SUVmean the phantoms must reproduce (wide enough for between-subject spread,
# PSF and noise at 8 mm voxels). FDG: Zasadny & Wahl, Radiology 1993 (blood ~1.5-2, liver
# ~2-2.5, lung ~0.5, muscle ~0.6-0.8); Paquet et al., JNM 2004 (liver 2.0-2.3, blood pool
# 1.6-1.9); Zincirkeser et al., J Int Med Res 2007 (brain, marrow, spleen); PERCIST (liver
# SUL 1.5-2.5). PSMA (68Ga-PSMA-11): Afshar-Oromieh et al., EJNMMI 2013; Prasad et al., Mol
# Imaging Biol 2016 (kidneys ~30-40, salivary ~10-15, liver ~4-6, spleen ~6-9, brain ~0.1).
FDG_RANGES = {"liver": (1.3, 3.3), "spleen": (1.0, 3.0), "heart_cavity": (0.9, 2.6),
              "lung_left": (0.2, 0.9), "lung_right": (0.2, 0.9), "brain": (3.5, 12.0),
              "bladder": (5.0, 80.0), "kidney_left": (1.2, 8.0), "muscle": (0.35, 1.2),
              "fat": (0.1, 0.6), "bone_marrow": (0.8, 2.8), "heart": (0.7, 15.0)}
PSMA_RANGES = {"kidney_left": (12.0, 70.0), "kidney_right": (12.0, 70.0),
               "salivary_glands": (3.0, 25.0), "liver": (2.0, 10.0), "spleen": (2.0, 15.0),
               "bladder": (5.0, 120.0), "brain": (0.0, 0.5), "lung_left": (0.2, 1.0),
               "heart_cavity": (0.8, 3.5), "bowel": (1.5, 15.0)}


@pytest.mark.parametrize(("tracer", "ranges"), [("fdg", FDG_RANGES), ("psma", PSMA_RANGES)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_organ_suv_is_plausible_for_the_tracer(tracer: str, ranges: dict, seed: int) -> None:
    case = generate_case(np.random.default_rng(seed),
                         PhantomConfig(tracer=tracer, small=True, n_lesions=0, whole_body=True))
    big = {"liver", "lung_left", "lung_right", "brain", "muscle"}
    for name, (lo, hi) in ranges.items():
        mean = _organ_mean(case, name, erode=1 if name in big else 0)
        assert lo <= mean <= hi, f"{tracer} {name}: SUVmean {mean:.2f} outside [{lo}, {hi}]"
    if tracer == "fdg":
        assert _organ_mean(case, "brain", 1) > _organ_mean(case, "liver", 1) > _organ_mean(case, "lung_left", 1)
    else:
        assert _organ_mean(case, "kidney_left") > _organ_mean(case, "liver") > _organ_mean(case, "brain")


def test_lesions_have_requested_sizes_and_contrasts() -> None:
    specs = (LesionSpec("liver_met", 30.0, 3.0), LesionSpec("lung_nodule", 20.0, 10.0),
             LesionSpec("primary", 60.0, 5.0, host="muscle"), LesionSpec("bone_met", 24.0, 2.0))
    config = PhantomConfig(voxel_mm=4.0, lesions=specs, psf_fwhm_mm=0.0, noise=False,
                           whole_body=True, attenuation_bias=False)
    case = generate_case(np.random.default_rng(11), config)
    info = case.info["lesions"]
    assert [les["kind"] for les in info] == [s.kind for s in specs]
    for spec, lesion in zip(specs, info):
        mask = case.label.array == lesion["id"]
        requested_ml = np.pi / 6 * spec.diameter_mm**3 / 1000
        assert lesion["volume_ml"] == pytest.approx(requested_ml, rel=0.25), spec.kind
        host = case.info["uptake_suv"][spec.host]
        measured = float(case.suv.array[mask].mean()) / host
        assert measured == pytest.approx(spec.contrast, rel=0.2), spec.kind
        centre = np.asarray(lesion["center_mm"])
        host_label = case.label.array[tuple(np.rint(case.label.world_to_index(centre)).astype(int))]
        assert host_label == lesion["id"]


def test_necrotic_core_is_colder_than_the_rim() -> None:
    spec = LesionSpec("primary", 70.0, 6.0, host="muscle", necrotic_fraction=0.5)
    case = generate_case(np.random.default_rng(5), PhantomConfig(
        voxel_mm=4.0, lesions=(spec,), psf_fwhm_mm=0.0, noise=False, whole_body=True))
    lesion = case.info["lesions"][0]
    mask = case.label.array == lesion["id"]
    depth = ndimage.distance_transform_edt(mask)
    core, rim = case.suv.array[depth >= depth.max() - 1], case.suv.array[mask & (depth <= 2)]
    host = case.info["uptake_suv"]["muscle"]
    assert core.mean() < 1.0 * host < 3 * host < rim.mean()


def test_psf_blurs_and_preserves_activity() -> None:
    base = {"small": True, "noise": False, "n_lesions": 0, "whole_body": True, "attenuation_bias": False}
    sharp = generate_case(np.random.default_rng(4), PhantomConfig(psf_fwhm_mm=4.0, **base))
    blurred = generate_case(np.random.default_rng(4), PhantomConfig(psf_fwhm_mm=16.0, **base))
    # A hot organ spills out (partial volume: its mean drops); total activity is kept.
    bladder = sharp.label.array == ORGAN_IDS["bladder"]
    assert blurred.suv.array[bladder].mean() < 0.85 * sharp.suv.array[bladder].mean()
    assert blurred.suv.array.sum() == pytest.approx(sharp.suv.array.sum(), rel=0.02)
    grad = [float(np.abs(np.diff(c.suv.array, axis=2)).mean()) for c in (sharp, blurred)]
    assert grad[1] < 0.85 * grad[0]


def test_noise_scales_with_count_level() -> None:
    base = {"small": True, "n_lesions": 0, "whole_body": True, "psf_fwhm_mm": 6.0}
    clean = generate_case(np.random.default_rng(9), PhantomConfig(noise=False, **base))
    liver = ndimage.binary_erosion(clean.label.array == ORGAN_IDS["liver"])
    stds = {}
    for counts in (0.25, 4.0):
        noisy = generate_case(np.random.default_rng(9), PhantomConfig(count_level=counts, **base))
        residual = (noisy.suv.array - clean.suv.array)[liver]
        stds[counts] = float(residual.std())
        # Noise CoV at the liver's SUV follows the configured model (variance ~ mean / counts).
        expected = noisy.info["scanner"]["noise_cov"] * np.sqrt(2.0 * clean.suv.array[liver].mean())
        assert stds[counts] == pytest.approx(expected, rel=0.25)
    assert stds[0.25] / stds[4.0] == pytest.approx(4.0, rel=0.2)  # std ~ 1/sqrt(counts)


def test_attenuation_bias_scales_lungs_and_bone() -> None:
    base = {"small": True, "noise": False, "psf_fwhm_mm": 0.0, "n_lesions": 0, "whole_body": True}
    off = generate_case(np.random.default_rng(2), PhantomConfig(attenuation_bias=False, **base))
    on = generate_case(np.random.default_rng(2), PhantomConfig(attenuation_bias=True, **base))
    scanner = on.info["scanner"]
    assert scanner["bone_ac_factor"] < 1.0
    for name, factor in (("lung_left", scanner["lung_ac_factor"]),
                         ("bone_marrow", scanner["bone_ac_factor"]), ("liver", 1.0)):
        assert _organ_mean(on, name) / _organ_mean(off, name) == pytest.approx(factor, rel=1e-4)


def test_randomized_mode_breaks_the_physiological_ordering() -> None:
    orders = []
    for seed in range(6):
        case = generate_case(np.random.default_rng(seed),
                             PhantomConfig(mode="randomized", small=True, n_lesions=0))
        suv = case.info["uptake_suv"]
        orders.append(suv["brain"] > suv["liver"] > suv["lung_left"])
    assert not all(orders)  # realistic FDG always has brain > liver > lung


def test_arms_and_acquisition_vary() -> None:
    cases = [generate_case(np.random.default_rng(s), PhantomConfig(small=True, n_lesions=0))
             for s in range(6)]
    assert {c.info["anatomy"]["arms_up"] for c in cases} == {True, False}
    assert len({c.suv.shape for c in cases}) > 1
    anatomy = sample_anatomy(np.random.default_rng(0))
    scans = [sample_scanner(np.random.default_rng(s), anatomy) for s in range(20)]
    assert len({s.voxel_mm for s in scans}) > 3 and len({s.axial_range_mm for s in scans}) == 20
    assert all(4.0 <= s.psf_fwhm_mm <= 8.0 and 2.0 <= min(s.voxel_mm) <= max(s.voxel_mm) <= 5.0
               for s in scans)


def test_juxta_lesions_touch_the_organ_they_are_drawn_beside() -> None:
    """Nodes requested beside an organ of high uptake overlap its edge (the scenes where a
    one-click mask leaks); asking for none leaves the generator's draw unchanged."""
    config = PhantomConfig(voxel_mm=4.0, whole_body=True, n_lesions=0, juxta_lesions=6)
    case = generate_case(np.random.default_rng(3), config)
    juxta = [les for les in case.info["lesions"] if les["kind"] == "juxta_node"]
    assert len(juxta) >= 4  # a few may find no room
    for lesion in juxta:
        mask = case.label.array == lesion["id"]
        assert mask.any()
        organ = case.label.array == ORGAN_IDS[lesion["beside"]]
        touching = ndimage.binary_dilation(mask, iterations=2) & organ
        assert touching.any(), lesion["beside"]
        assert lesion["suv"] > 2.0  # lesion uptake, not the organ's
    plain = generate_case(np.random.default_rng(3), PhantomConfig(voxel_mm=8.0, n_lesions=2))
    again = generate_case(np.random.default_rng(3), PhantomConfig(voxel_mm=8.0, n_lesions=2,
                                                                  juxta_lesions=0))
    assert np.array_equal(plain.suv.array, again.suv.array)
