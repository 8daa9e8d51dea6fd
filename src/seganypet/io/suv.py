"""SUVbw (and SUL) scale factors from a PET header, following the QIBA vendor-neutral rules.

SUVbw = A[Bq/ml] * W[g] / D(t_scan)[Bq], with D(t_scan) = D_inj * 2^(-dt / T_half) when the
images are decay-corrected to the scan start (DecayCorrection START), and D(t_scan) = D_inj
when they are decay-corrected to the injection (ADMIN: no second decay, cf. Horos #653).

Branches on Units (0054,1001): BQML computes the factor; CNTS (Philips) uses the private
SUV scale (7053,1000) or, failing that, the private Bq/ml scale (7053,1009) times the BQML
factor; GML is already SUVbw (factor 1). CorrectedImage (0028,0051) must contain ATTN and
DECY. Scan time: SeriesDate/Time unless it is after the earliest AcquisitionDate/Time of
the series (a post-processed series), then GE's private scan time (0009,100D) or the
earliest acquisition. Injection time without a date takes the scan's date, one day earlier
when that would put the injection after the scan (midnight crossing) and the uptake time
stays plausible; an uptake time outside 0-12 h (3 half-lives for long-lived nuclides) is
refused, naming the tags and ``--injection-time``.

The factor multiplies the rescaled pixel values (stored * RescaleSlope + RescaleIntercept),
which must be applied per slice by the reader.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from seganypet.errors import InputError
from seganypet.io.pet_header import OVERRIDE_RANGES, PetHeader

__all__ = ["SuvConversion", "sul_ratio", "suv_factor"]

# Plausible ranges; outside them a tag is almost surely wrong (or in the wrong unit).
_WEIGHT_KG = OVERRIDE_RANGES["weight_kg"]
_DOSE_BQ = OVERRIDE_RANGES["dose_bq"]
_HEIGHT_M = OVERRIDE_RANGES["height_m"]
_HALF_LIFE_S = OVERRIDE_RANGES["half_life_s"]
# Uptake time (injection -> scan start): FDG/PSMA/DOTATATE scans are 0.5-3 h after the
# injection; 12 h is far beyond any protocol of a short-lived tracer. Long-lived ones
# (Cu-64, Zr-89, I-124) are imaged days later, so the limit grows to 3 half-lives.
_MAX_UPTAKE_S = 12 * 3600.0
_MAX_UPTAKE_HALF_LIVES = 3.0


@dataclass(frozen=True)
class SuvConversion:
    """How rescaled pixel values were turned into SUVbw; ``factor`` multiplies them."""

    factor: float
    method: str  # "BQML", "CNTS (7053,1000)", "CNTS (7053,1009)", "GML"
    decay_correction: str
    weight_kg: float | None = None
    injected_dose_bq: float | None = None
    half_life_s: float | None = None
    injection_datetime: datetime | None = None
    scan_datetime: datetime | None = None
    scan_time_source: str = ""
    decay_time_s: float | None = None
    decayed_dose_bq: float | None = None
    overrides: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly copy (datetimes as ISO strings) for ``Volume.meta["suv"]`` and reports."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = value.isoformat()
            elif isinstance(value, tuple):
                out[key] = list(value)
        return out


def suv_factor(header: PetHeader) -> SuvConversion:
    """The SUVbw scale factor of one PET instance (see module docstring for the rules).

    Raises:
        InputError: non-quantitative images (no ATTN/DECY, unsupported Units, DecayCorrection
            NONE) or missing/implausible tags; the message names the tag and the override.
    """
    _require_corrections(header)
    if header.units == "GML":
        return SuvConversion(1.0, "GML", header.decay_correction, weight_kg=header.weight_kg,
                             overrides=header.overrides)
    if header.units == "BQML":
        return _bqml_conversion(header)
    if header.units == "CNTS":
        return _philips_conversion(header)
    raise InputError(
        f"Units (0054,1001) is {header.units or 'missing'!r}; SUV can be computed only from "
        "BQML, Philips CNTS or GML images (PROPCNTS and other relative units are not quantitative)"
    )


def sul_ratio(weight_kg: float, height_m: float, sex: str) -> float:
    """Lean body mass / body weight by Janmahasatian (2005): multiply an SUVbw factor by it.

    LBM = 9270 W / (6680 + 216 BMI) for men, 9270 W / (8780 + 244 BMI) for women, BMI = W / H^2.
    """
    _check_range("PatientWeight (0010,1030)", weight_kg, _WEIGHT_KG, "--weight KG (e.g. --weight 71)")
    _check_range("PatientSize (0010,1020)", height_m, _HEIGHT_M, "--height CM (e.g. --height 175)")
    bmi = weight_kg / height_m**2
    sex = (sex or "").strip().upper()
    if sex == "M":
        return 9270.0 / (6680.0 + 216.0 * bmi)
    if sex == "F":
        return 9270.0 / (8780.0 + 244.0 * bmi)
    raise InputError(f"PatientSex (0010,0040) is {sex or 'missing'!r}; SUL needs M or F: use --sex M|F")


# ---------------------------------------------------------------------------- branches
def _require_corrections(header: PetHeader) -> None:
    missing = [c for c in ("ATTN", "DECY") if c not in header.corrected_image]
    if missing:
        shown = "\\".join(header.corrected_image) or "empty"
        raise InputError(
            f"CorrectedImage (0028,0051) is {shown!r}, without {' and '.join(missing)}: the images "
            "are not attenuation- and decay-corrected, so they cannot be converted to SUV"
        )
    if header.decay_correction not in ("START", "ADMIN"):
        raise InputError(
            f"DecayCorrection (0054,1102) is {header.decay_correction or 'missing'!r}; SUV needs "
            "images decay-corrected to the scan start (START) or to the injection (ADMIN)"
        )


def _bqml_conversion(header: PetHeader) -> SuvConversion:
    weight = _check_range("PatientWeight (0010,1030)", header.weight_kg, _WEIGHT_KG,
                          "--weight KG (e.g. --weight 71)")
    dose = _check_range("RadionuclideTotalDose (0018,1074)", header.injected_dose_bq, _DOSE_BQ,
                        "--dose MBQ (e.g. --dose 370)")
    common = {"method": "BQML", "decay_correction": header.decay_correction, "weight_kg": weight,
              "injected_dose_bq": dose, "overrides": header.overrides}
    if header.decay_correction == "ADMIN":
        # Already decay-corrected to the injection time: the injected dose is the reference.
        return SuvConversion(factor=weight * 1000.0 / dose, decayed_dose_bq=dose, **common)
    half_life = _check_range("RadionuclideHalfLife (0018,1075)", header.half_life_s, _HALF_LIFE_S,
                             "--half-life SECONDS (e.g. --half-life 6586 for F-18)")
    scan, source = _scan_datetime(header)
    injection = _injection_datetime(header, scan, half_life)
    decay_time = (scan - injection).total_seconds()
    if not 0 <= decay_time <= _max_uptake_s(half_life):
        raise InputError(
            f"injection at {injection.isoformat()} and scan at {scan.isoformat()} ({source}) are "
            f"{decay_time / 3600:.2f} h apart, an implausible uptake time (plausible: 0-"
            f"{_max_uptake_s(half_life) / 3600:.0f} h); check RadiopharmaceuticalStartTime "
            "(0018,1072) / RadiopharmaceuticalStartDateTime (0018,1078) or give --injection-time "
            "HH:MM:SS (YYYY-MM-DDTHH:MM:SS when the date differs)"
        )
    decayed = dose * 2.0 ** (-decay_time / half_life)
    return SuvConversion(factor=weight * 1000.0 / decayed, half_life_s=half_life,
                         injection_datetime=injection, scan_datetime=scan, scan_time_source=source,
                         decay_time_s=decay_time, decayed_dose_bq=decayed, **common)


def _philips_conversion(header: PetHeader) -> SuvConversion:
    for tag, value in (("Philips SUV scale (7053,1000)", header.philips_suv_scale),
                       ("Philips activity scale (7053,1009)", header.philips_activity_scale)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise InputError(f"{tag} is {value:g}; it must be a positive finite number (export "
                             "the series in BQML or SUV from the scanner)")
    if header.philips_suv_scale:
        return SuvConversion(header.philips_suv_scale, "CNTS (7053,1000)", header.decay_correction,
                             weight_kg=header.weight_kg, overrides=header.overrides)
    if header.philips_activity_scale:
        # (7053,1009) * rescaled value = Bq/ml; then proceed exactly as for BQML.
        bqml = _bqml_conversion(header)
        return SuvConversion(**{**bqml.__dict__, "factor": bqml.factor * header.philips_activity_scale,
                                "method": "CNTS (7053,1009)"})
    raise InputError(
        "Units (0054,1001) is CNTS but the Philips private scale factors (7053,1000) and "
        "(7053,1009) are missing, so counts cannot be converted to SUV; export the series in "
        "BQML or SUV from the scanner"
    )


def _scan_datetime(header: PetHeader) -> tuple[datetime, str]:
    """The QIBA reference time of the decay correction and where it came from."""
    series, acquisition = header.series_datetime, header.acquisition_datetime
    if series is not None and (acquisition is None or series <= acquisition):
        return series, "SeriesDate/SeriesTime"
    if header.ge_scan_datetime is not None:
        return header.ge_scan_datetime, "GE private scan time (0009,100D)"
    if acquisition is not None:
        return acquisition, "earliest AcquisitionDate/AcquisitionTime"
    raise InputError("SeriesDate/SeriesTime (0008,0021/0031) and AcquisitionDate/AcquisitionTime "
                     "(0008,0022/0032) are missing, so the decay time is unknown")


def _max_uptake_s(half_life_s: float) -> float:
    return max(_MAX_UPTAKE_S, _MAX_UPTAKE_HALF_LIVES * half_life_s)


def _injection_datetime(header: PetHeader, scan: datetime, half_life_s: float) -> datetime:
    """Injection date and time; a time without a date takes the scan's date.

    An injection time after the scan time is a midnight crossing only when the day before
    gives a plausible uptake time (23:50 -> 00:40); otherwise (scan 10:00, injection 11:00,
    a typo or a clock error) taking the day before would give a 23 h uptake and an SUV
    hundreds of times too high, so it is refused.
    """
    if header.injection_datetime is not None:
        return header.injection_datetime
    if header.injection_time is None:
        raise InputError("RadiopharmaceuticalStartTime (0018,1072) is missing; supply the injection "
                         "time with --injection-time HH:MM:SS (e.g. --injection-time 10:35:00)")
    injection = datetime.combine(scan.date(), header.injection_time)
    if injection <= scan:
        return injection
    previous_day = injection - timedelta(days=1)
    if (scan - previous_day).total_seconds() <= _max_uptake_s(half_life_s):
        return previous_day  # injected before midnight, scanned after it
    raise InputError(
        f"RadiopharmaceuticalStartTime (0018,1072) {header.injection_time.isoformat()} is after "
        f"the scan time {scan.time().isoformat()} (SeriesTime/AcquisitionTime) and has no date; "
        "taking the day before would mean an implausible "
        f"{(scan - previous_day).total_seconds() / 3600:.1f} h uptake. Give the real injection "
        "time with --injection-time HH:MM:SS (or YYYY-MM-DDTHH:MM:SS)"
    )


def _check_range(tag: str, value: float | None, bounds: tuple[float, float], override: str) -> float:
    if value is None or value == 0:
        raise InputError(f"{tag} is missing or zero in the DICOM header; supply it with {override}")
    low, high = bounds
    if not low <= value <= high:  # also refuses NaN (every comparison is False)
        raise InputError(f"{tag} is {value:g}, outside the plausible range {low:g}-{high:g}; "
                         f"correct it with {override}")
    return float(value)
