"""Shared CLI arguments for reading a PET scan (file or DICOM folder, with SUV overrides)."""

from __future__ import annotations

import argparse
import logging
from datetime import datetime, time
from pathlib import Path

import numpy as np

from seganypet.errors import InputError
from seganypet.volume import Volume

__all__ = ["add_scan_arguments", "parse_injection_time", "read_scan", "warn_if_blank"]

logger = logging.getLogger(__name__)


def add_scan_arguments(parser: argparse.ArgumentParser) -> None:
    """``--weight/--dose/--injection-time/--half-life/--sul/--height/--sex`` for DICOM input."""
    group = parser.add_argument_group("SUV conversion (DICOM input; replaces missing header tags)")
    group.add_argument("--weight", type=float, metavar="KG", help="patient weight in kg")
    group.add_argument("--dose", type=float, metavar="MBQ", help="injected activity in MBq")
    group.add_argument("--injection-time", metavar="HH:MM:SS",
                       help="injection time (or YYYY-MM-DDTHH:MM:SS when the date differs)")
    group.add_argument("--half-life", type=float, metavar="SECONDS", help="radionuclide half-life")
    group.add_argument("--sul", action="store_true", help="lean-body-mass SUV (Janmahasatian)")
    group.add_argument("--height", type=float, metavar="CM", help="patient height in cm (for --sul)")
    group.add_argument("--sex", choices=("M", "F"), help="patient sex (for --sul)")


def parse_injection_time(text: str | None) -> time | datetime | None:
    """``HH:MM[:SS]`` -> time; ``YYYY-MM-DDTHH:MM[:SS]`` -> datetime."""
    if text is None:
        return None
    for parse in (time.fromisoformat, datetime.fromisoformat):
        try:
            return parse(text.strip())
        except ValueError:
            continue
    raise InputError(f"--injection-time {text!r} is not HH:MM:SS (or YYYY-MM-DDTHH:MM:SS)")


def read_scan(path: Path, args: argparse.Namespace) -> Volume:
    """Read a PET file or DICOM folder in SUV, honouring the override arguments.

    The overrides are range- and finiteness-checked even when ``path`` is an image file (where
    they are ignored with a warning): ``--half-life inf`` is a mistake either way.
    """
    from seganypet.io.pet_header import HeaderOverrides
    from seganypet.io.read import read_pet

    overrides = HeaderOverrides(
        weight_kg=args.weight,
        dose_bq=None if args.dose is None else args.dose * 1e6,
        injection_time=parse_injection_time(args.injection_time),
        half_life_s=args.half_life,
        height_m=None if args.height is None else args.height / 100.0,
        sex=args.sex,
    )
    return read_pet(path, weight_kg=overrides.weight_kg, dose_bq=overrides.dose_bq,
                    injection_time=overrides.injection_time, half_life_s=overrides.half_life_s,
                    height_m=overrides.height_m, sex=overrides.sex, sul=args.sul)


def warn_if_blank(image: Volume, path: Path) -> None:
    """Warn (on stderr) about a scan with no uptake: any mask on it is meaningless."""
    if not np.any(image.array > 0):
        logger.warning("%s has no positive voxel (an all-zero or empty scan): the mask and its "
                       "numbers are meaningless; check the file", path)
