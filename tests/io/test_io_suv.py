"""QIBA SUV branches on synthetic pydicom headers, against hand-computed factors.

Base header (pet_dicom_factory.BASE_HEADER): 70 kg, 370 MBq at 10:00:00, half-life 3600 s,
series 11:00:00 -> decayed dose 185 MBq -> SUVbw factor 70000 / 185e6 = 3.7837838e-4.
"""

from __future__ import annotations

from datetime import datetime, time

import pytest
from pet_dicom_factory import BASE_FACTOR, pet_header_dataset

from seganypet.errors import InputError
from seganypet.io.pet_header import HeaderOverrides, apply_overrides, pet_header_from_dataset
from seganypet.io.suv import sul_ratio, suv_factor


def factor_of(header: dict | None = None, radio: dict | None = None, **overrides) -> float:
    ds = pet_header_dataset(header, radio)
    parsed = apply_overrides(pet_header_from_dataset(ds), HeaderOverrides(**overrides))
    return suv_factor(parsed).factor


def test_bqml_start_decays_the_dose_to_the_series_time() -> None:
    conversion = suv_factor(pet_header_from_dataset(pet_header_dataset()))
    assert conversion.factor == pytest.approx(3.7837837837837837e-4, rel=1e-12)
    assert BASE_FACTOR == pytest.approx(conversion.factor, rel=1e-12)
    assert conversion.decay_time_s == 3600.0
    assert conversion.decayed_dose_bq == pytest.approx(185e6)
    assert conversion.scan_time_source == "SeriesDate/SeriesTime"
    record = conversion.as_dict()
    assert record["injection_datetime"] == "2020-01-01T10:00:00"
    assert record["weight_kg"] == 70.0


def test_admin_decay_correction_uses_the_injected_dose_without_decay() -> None:
    # Images already decay-corrected to the injection: a second decay would double-correct.
    assert factor_of({"DecayCorrection": "ADMIN"}) == pytest.approx(1.891891891891892e-4, rel=1e-12)


def test_philips_cnts_with_private_suv_scale_factor() -> None:
    ds = pet_header_dataset({"Units": "CNTS", "Manufacturer": "Philips"})
    ds.private_block(0x7053, "Philips PET Private Group", create=True).add_new(0x00, "DS", "0.000321")
    conversion = suv_factor(pet_header_from_dataset(ds))
    assert conversion.factor == pytest.approx(0.000321)
    assert conversion.method == "CNTS (7053,1000)"


def test_philips_cnts_with_activity_scale_proceeds_as_bqml() -> None:
    ds = pet_header_dataset({"Units": "CNTS"})
    ds.private_block(0x7053, "Philips PET Private Group", create=True).add_new(0x09, "DS", "2.5")
    # 2.5 (counts -> Bq/ml) x 3.7837838e-4 (Bq/ml -> SUVbw)
    assert suv_factor(pet_header_from_dataset(ds)).factor == pytest.approx(9.459459459459459e-4)


def test_philips_cnts_without_private_factors_is_refused() -> None:
    with pytest.raises(InputError, match=r"7053,1000"):
        factor_of({"Units": "CNTS"})


def test_gml_is_already_suvbw() -> None:
    assert factor_of({"Units": "GML", "PatientWeight": None}) == 1.0


def test_injection_before_midnight_scan_after_midnight() -> None:
    # Injection 23:30 (time only), series 00:30 the next day: 3600 s, as in the base case.
    header = {"SeriesDate": "20200102", "SeriesTime": "003000", "AcquisitionDate": "20200102",
              "AcquisitionTime": "003000"}
    assert factor_of(header, {"RadiopharmaceuticalStartTime": "233000"}) == pytest.approx(BASE_FACTOR)


def test_injection_datetime_with_its_own_date_is_honoured() -> None:
    # Zr-89 (half-life 282276 s) injected 25 h before the scan:
    # 70000 / (370e6 * 2^(-90000/282276)) = 2.3598031769e-4.
    radio = {"RadiopharmaceuticalStartDateTime": "20191231100000", "RadionuclideHalfLife": "282276"}
    assert factor_of({}, radio) == pytest.approx(2.3598031769218698e-4, rel=1e-9)


def test_series_time_after_acquisition_falls_back_to_earliest_acquisition() -> None:
    # Post-processed series (11:00) after the acquisition (10:50): decay time 3000 s.
    header = {"AcquisitionTime": "105000"}
    assert factor_of(header) == pytest.approx(3.3709681226931756e-4, rel=1e-9)


def test_series_time_after_acquisition_prefers_ge_private_scan_time() -> None:
    ds = pet_header_dataset({"AcquisitionTime": "105000"})
    ds.private_block(0x0009, "GEMS_PETD_01", create=True).add_new(0x0D, "DT", "20200101104000")
    conversion = suv_factor(pet_header_from_dataset(ds))
    assert conversion.factor == pytest.approx(3.0031911793992964e-4, rel=1e-9)  # 2400 s
    assert "0009,100D" in conversion.scan_time_source


def test_series_time_before_acquisition_is_used() -> None:
    assert factor_of({"AcquisitionTime": "110500"}) == pytest.approx(BASE_FACTOR)


def test_missing_weight_names_the_tag_and_the_cli_option() -> None:
    with pytest.raises(InputError, match=r"PatientWeight \(0010,1030\).*--weight"):
        factor_of({"PatientWeight": None})
    assert factor_of({"PatientWeight": None}, weight_kg=70) == pytest.approx(BASE_FACTOR)


def test_implausible_dose_in_mbq_is_refused() -> None:
    with pytest.raises(InputError, match=r"RadionuclideTotalDose \(0018,1074\).*--dose"):
        factor_of({}, {"RadionuclideTotalDose": "370"})
    assert factor_of({}, {"RadionuclideTotalDose": "370"}, dose_bq=370e6) == pytest.approx(BASE_FACTOR)


def test_injection_time_override_and_missing_injection_time() -> None:
    with pytest.raises(InputError, match="--injection-time"):
        factor_of({}, {"RadiopharmaceuticalStartTime": None})
    assert factor_of({}, {"RadiopharmaceuticalStartTime": None},
                     injection_time=time(10, 0)) == pytest.approx(BASE_FACTOR)
    assert factor_of({}, {}, injection_time=datetime(2020, 1, 1, 10, 0)) == pytest.approx(BASE_FACTOR)


def test_injection_after_scan_is_refused() -> None:
    with pytest.raises(InputError, match="implausible"):
        factor_of({}, {"RadiopharmaceuticalStartDateTime": "20200101120000"})


@pytest.mark.parametrize("corrected", [["DECY"], ["ATTN"], []])
def test_images_without_attenuation_and_decay_correction_are_refused(corrected: list[str]) -> None:
    with pytest.raises(InputError, match=r"CorrectedImage \(0028,0051\)"):
        factor_of({"CorrectedImage": corrected or None})


@pytest.mark.parametrize("units", ["PROPCNTS", "NONE", ""])
def test_non_quantitative_units_are_refused(units: str) -> None:
    with pytest.raises(InputError, match=r"Units \(0054,1001\)"):
        factor_of({"Units": units or None})


def test_decay_correction_none_is_refused() -> None:
    with pytest.raises(InputError, match=r"DecayCorrection \(0054,1102\)"):
        factor_of({"DecayCorrection": "NONE"})


def test_sul_janmahasatian_ratio_by_hand() -> None:
    # 70 kg, 1.75 m: BMI 22.857; male 9270 / (6680 + 216 BMI), female 9270 / (8780 + 244 BMI).
    assert sul_ratio(70, 1.75, "M") == pytest.approx(0.7979586817511067, rel=1e-12)
    assert sul_ratio(70, 1.75, "F") == pytest.approx(0.6456716417910447, rel=1e-12)
    with pytest.raises(InputError, match="--sex"):
        sul_ratio(70, 1.75, "O")
    with pytest.raises(InputError, match="--height"):
        sul_ratio(70, 175, "M")  # height given in cm where metres are expected


def test_overrides_are_recorded() -> None:
    header = apply_overrides(pet_header_from_dataset(pet_header_dataset()), HeaderOverrides(weight_kg=80))
    conversion = suv_factor(header)
    assert conversion.overrides == ("weight_kg",)
    assert conversion.factor == pytest.approx(80000 / 185e6)


@pytest.mark.parametrize("scale", [float("nan"), float("inf"), -2.0])
def test_a_non_finite_philips_scale_names_the_tag(scale: float) -> None:
    header = pet_header_from_dataset(pet_header_dataset({"Units": "CNTS"}))
    header = header.__class__(**{**header.__dict__, "philips_suv_scale": scale})
    with pytest.raises(InputError, match=r"\(7053,1000\)"):
        suv_factor(header)


@pytest.mark.parametrize("scan, injection, ok", [
    ("003000", "234000", True),    # midnight crossing: 50 min uptake
    ("093000", "100000", False),   # the day before would be 23.5 h
])
def test_injection_after_scan_rolls_back_only_when_plausible(scan, injection, ok) -> None:
    header = pet_header_from_dataset(pet_header_dataset(
        {"SeriesTime": scan, "AcquisitionTime": scan}, {"RadiopharmaceuticalStartTime": injection}))
    if ok:
        assert suv_factor(header).decay_time_s == pytest.approx(50 * 60)
    else:
        with pytest.raises(InputError, match="--injection-time"):
            suv_factor(header)


@pytest.mark.parametrize("field, value, option", [
    ("weight_kg", 500.0, "--weight"), ("half_life_s", float("inf"), "--half-life"),
    ("half_life_s", float("nan"), "--half-life"), ("dose_bq", 0.0, "--dose"),
    ("height_m", 0.0, "--height"),
])
def test_overrides_are_range_checked_naming_the_option(field, value, option) -> None:
    with pytest.raises(InputError, match=option):
        HeaderOverrides(**{field: value})
