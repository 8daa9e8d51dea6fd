"""The PET header fields that SUV conversion needs, read from pydicom datasets.

Reading is kept apart from the arithmetic (``io/suv.py``) so that the QIBA rules can be
tested on hand-written headers, and so that user overrides (``--weight 71``) replace a
field in one place, with a record of what was overridden.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from pydicom.dataset import Dataset

from seganypet.errors import InputError

__all__ = [
    "OVERRIDE_RANGES",
    "HeaderOverrides",
    "PetHeader",
    "apply_overrides",
    "parse_da",
    "parse_dt",
    "parse_tm",
    "pet_header_from_dataset",
    "pet_headers_from_series",
]

_TM_PATTERN = re.compile(r"^(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?$")


@dataclass(frozen=True)
class PetHeader:
    """SUV-relevant header values of one PET image (all in SI-ish units, ``None`` = absent).

    Tag numbers are given because error messages name them.
    """

    units: str = ""  # (0054,1001) BQML, CNTS, GML, PROPCNTS, ...
    corrected_image: tuple[str, ...] = ()  # (0028,0051) must hold ATTN and DECY
    decay_correction: str = ""  # (0054,1102) START, ADMIN or NONE
    weight_kg: float | None = None  # (0010,1030)
    height_m: float | None = None  # (0010,1020)
    sex: str | None = None  # (0010,0040) "M" / "F"
    injected_dose_bq: float | None = None  # (0018,1074)
    half_life_s: float | None = None  # (0018,1075)
    injection_datetime: datetime | None = None  # (0018,1078)
    injection_time: time | None = None  # (0018,1072), date taken from the scan
    series_datetime: datetime | None = None  # (0008,0021) + (0008,0031)
    acquisition_datetime: datetime | None = None  # earliest (0008,0022) + (0008,0032) of the series
    ge_scan_datetime: datetime | None = None  # GE private (0009,100D)
    philips_suv_scale: float | None = None  # Philips private (7053,1000)
    philips_activity_scale: float | None = None  # Philips private (7053,1009)
    manufacturer: str = ""
    radiopharmaceutical: str = ""
    overrides: tuple[str, ...] = ()  # names of fields supplied by the user


@dataclass(frozen=True)
class HeaderOverrides:
    """Values supplied by the user for missing or wrong header tags (``None`` = keep header)."""

    weight_kg: float | None = None
    dose_bq: float | None = None
    injection_time: time | datetime | None = None
    half_life_s: float | None = None
    height_m: float | None = None
    sex: str | None = None

    def __post_init__(self) -> None:
        # Checked here, not after the arithmetic: an override is the user's number, so the
        # message names the option (a header value is checked in io/suv.py, naming the tag).
        for value, option, unit, scale, (low, high) in (
            (self.weight_kg, "--weight", "kg", 1.0, OVERRIDE_RANGES["weight_kg"]),
            (self.dose_bq, "--dose", "MBq", 1e-6, OVERRIDE_RANGES["dose_bq"]),
            (self.half_life_s, "--half-life", "s", 1.0, OVERRIDE_RANGES["half_life_s"]),
            (self.height_m, "--height", "cm", 100.0, OVERRIDE_RANGES["height_m"]),
        ):
            if value is None:
                continue
            if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
                raise InputError(f"{option} {_shown(value, scale)} {unit} is not a finite value in "
                                 f"the plausible range {low * scale:g}-{high * scale:g} {unit}")
        if self.sex is not None and self.sex.strip().upper() not in ("M", "F"):
            raise InputError(f"--sex {self.sex!r} must be M or F")


# Plausible ranges of the quantities SUV needs (SI units); outside them a value is almost
# surely wrong or in the wrong unit. io/suv.py applies the same ranges to header values.
OVERRIDE_RANGES: dict[str, tuple[float, float]] = {
    "weight_kg": (1.0, 350.0),
    "dose_bq": (1e6, 1e11),  # 1 MBq .. 100 GBq: catches doses stored in MBq or mCi
    "half_life_s": (60.0, 1e7),  # Rb-82 (76 s) .. I-124 (4.2 d), with margin
    "height_m": (0.3, 2.6),
}


def _shown(value: object, scale: float) -> str:
    return f"{value * scale:g}" if isinstance(value, (int, float)) else repr(value)


# ---------------------------------------------------------------------------- DICOM values
# Hand-written because pydicom converts DA/TM/DT to datetime only under a global config
# flag, which a library must not flip for its caller.
def parse_da(value: object) -> date | None:
    """DICOM DA ``YYYYMMDD`` -> date (``None`` when empty)."""
    text = str(value or "").strip().replace("-", "").replace(".", "")
    return datetime.strptime(text, "%Y%m%d").date() if text else None


def parse_tm(value: object) -> time | None:
    """DICOM TM ``HH[MM[SS[.ffffff]]]`` (also legacy ``HH:MM:SS``) -> time (``None`` when empty)."""
    text = str(value or "").strip().replace(":", "")
    if not text:
        return None
    match = _TM_PATTERN.match(text)
    if match is None:
        raise ValueError(f"not a DICOM time: {value!r}")
    hours, minutes, seconds, fraction = match.groups()
    micro = int((fraction or "0").ljust(6, "0"))
    return time(int(hours), int(minutes or 0), int(seconds or 0), micro)


def parse_dt(value: object) -> datetime | None:
    """DICOM DT ``YYYYMMDDHHMMSS.ffffff[&ZZXX]`` -> naive local datetime (offset dropped)."""
    text = re.split(r"[+-]", str(value or "").strip())[0]
    if not text:
        return None
    day = parse_da(text[:8])
    clock = parse_tm(text[8:]) if len(text) > 8 else time(0)
    return datetime.combine(day, clock) if day is not None and clock is not None else None


def _combine(day: object, clock: object) -> datetime | None:
    parsed_day, parsed_clock = parse_da(day), parse_tm(clock)
    if parsed_day is None or parsed_clock is None:
        return None
    return datetime.combine(parsed_day, parsed_clock)


def _float_or_none(value: object) -> float | None:
    if value is None or (isinstance(value, (str, bytes)) and not value.strip()):
        return None
    if isinstance(value, bytes):  # private tags of implicit-VR files arrive as raw UN bytes
        value = value.decode("ascii", "ignore").strip("\x00 ")
    return float(value)  # type: ignore[arg-type]


def _private_value(ds: Dataset, group: int, offset: int, creator: str) -> object:
    """A private tag by its creator, falling back to the usual block 0x10 when the creator is lost."""
    try:
        return ds.get_private_item(group, offset, creator).value
    except KeyError:
        element = ds.get((group << 16) | 0x1000 | offset)
        return None if element is None else element.value


# ---------------------------------------------------------------------------- headers
def pet_header_from_dataset(ds: Dataset, earliest_acquisition: datetime | None = None) -> PetHeader:
    """Read the SUV fields of one PET instance.

    ``earliest_acquisition`` is the earliest AcquisitionDate/Time of the whole series (the
    QIBA scan-time rule needs it); by default this instance's own acquisition time is used.
    """
    try:
        return _read_header(ds, earliest_acquisition)
    except ValueError as exc:
        raise InputError(f"unreadable PET header value in {ds.get('SOPInstanceUID', 'image')}: {exc}") from exc


def _read_header(ds: Dataset, earliest_acquisition: datetime | None) -> PetHeader:
    radio = ds.get("RadiopharmaceuticalInformationSequence") or [Dataset()]
    item = radio[0]
    sex = str(ds.get("PatientSex", "") or "").strip().upper() or None
    ge_scan = _private_value(ds, 0x0009, 0x0D, "GEMS_PETD_01")
    if isinstance(ge_scan, bytes):
        ge_scan = ge_scan.decode("ascii", "ignore").strip("\x00 ")
    return PetHeader(
        units=str(ds.get("Units", "") or "").strip().upper(),
        corrected_image=tuple(str(v).strip().upper() for v in _as_list(ds.get("CorrectedImage"))),
        decay_correction=str(ds.get("DecayCorrection", "") or "").strip().upper(),
        weight_kg=_float_or_none(ds.get("PatientWeight")) or None,  # 0 means "not entered"
        height_m=_float_or_none(ds.get("PatientSize")) or None,
        sex=sex,
        injected_dose_bq=_float_or_none(item.get("RadionuclideTotalDose")) or None,
        half_life_s=_float_or_none(item.get("RadionuclideHalfLife")) or None,
        injection_datetime=parse_dt(item.get("RadiopharmaceuticalStartDateTime")),
        injection_time=parse_tm(item.get("RadiopharmaceuticalStartTime")),
        series_datetime=_combine(ds.get("SeriesDate"), ds.get("SeriesTime")),
        acquisition_datetime=earliest_acquisition
        or _combine(ds.get("AcquisitionDate"), ds.get("AcquisitionTime")),
        ge_scan_datetime=parse_dt(ge_scan),
        philips_suv_scale=_float_or_none(_private_value(ds, 0x7053, 0x00, "Philips PET Private Group")),
        philips_activity_scale=_float_or_none(
            _private_value(ds, 0x7053, 0x09, "Philips PET Private Group")
        ),
        manufacturer=str(ds.get("Manufacturer", "") or ""),
        radiopharmaceutical=str(item.get("Radiopharmaceutical", "") or ""),
    )


def _as_list(value: object) -> list[object]:
    """A multi-valued DICOM element (pydicom MultiValue, or a plain str when single) as a list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    return list(value)  # type: ignore[call-overload]


def pet_headers_from_series(datasets: Sequence[Dataset]) -> list[PetHeader]:
    """One header per instance, sharing the series' earliest acquisition time.

    Raises InputError when series-level values differ between instances (a mixed series):
    everything but the Philips per-instance scale factors must be identical.
    """
    acquired = [_combine(ds.get("AcquisitionDate"), ds.get("AcquisitionTime")) for ds in datasets]
    known = [value for value in acquired if value is not None]
    earliest = min(known) if known else None
    headers = [pet_header_from_dataset(ds, earliest) for ds in datasets]
    series_level = {_series_level(header) for header in headers}
    if len(series_level) > 1:
        fields = _differing_fields(headers)
        raise InputError(
            f"the images do not form one PET series: {', '.join(fields)} differ between files; "
            "put each series in its own folder"
        )
    return headers


def _series_level(header: PetHeader) -> PetHeader:
    return dataclasses.replace(header, philips_suv_scale=None, philips_activity_scale=None)


def _differing_fields(headers: Sequence[PetHeader]) -> list[str]:
    names = [f.name for f in dataclasses.fields(PetHeader) if not f.name.startswith("philips")]
    return [n for n in names if len({getattr(h, n) for h in headers}) > 1]


def apply_overrides(header: PetHeader, overrides: HeaderOverrides) -> PetHeader:
    """Replace header fields by user-supplied values, recording which were replaced."""
    changes: dict[str, object] = {}
    if overrides.weight_kg is not None:
        changes["weight_kg"] = float(overrides.weight_kg)
    if overrides.dose_bq is not None:
        changes["injected_dose_bq"] = float(overrides.dose_bq)
    if overrides.half_life_s is not None:
        changes["half_life_s"] = float(overrides.half_life_s)
    if overrides.height_m is not None:
        changes["height_m"] = float(overrides.height_m)
    if overrides.sex is not None:
        changes["sex"] = overrides.sex.strip().upper()
    if isinstance(overrides.injection_time, datetime):
        changes.update(injection_datetime=overrides.injection_time, injection_time=None)
    elif overrides.injection_time is not None:
        changes.update(injection_datetime=None, injection_time=overrides.injection_time)
    if not changes:
        return header
    names = tuple(sorted(set(header.overrides) | set(changes) - {"injection_datetime"}))
    return dataclasses.replace(header, overrides=names, **changes)
