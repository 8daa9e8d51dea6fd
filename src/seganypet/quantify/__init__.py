"""Quantification of PET volumes: SUV statistics, SUVpeak, PERCIST liver reference,
threshold delineation and cohort organ-uptake networks.

Every function is pure: Volumes in, numbers/Volumes out. Submodules:

* :mod:`~seganypet.quantify.stats` - per-object / per-component SUVmax, mean, std, peak, MTV, TLG
* :mod:`~seganypet.quantify.peak` - SUVpeak (1 cm³ sphere) and its voxel-inclusion rule
* :mod:`~seganypet.quantify.percist` - PERCIST liver reference (3 cm sphere)
* :mod:`~seganypet.quantify.delineation` - 41 % isocontour and absolute-threshold lesions
* :mod:`~seganypet.quantify.report` - a stats report of an image + label map, CSV/JSON
* :mod:`~seganypet.quantify.network` - cohort organ-uptake correlation networks
"""

from __future__ import annotations

from seganypet.quantify.delineation import (
    Delineation,
    isocontour_from_seed,
    threshold_components,
    threshold_from_seed,
)
from seganypet.quantify.peak import PEAK_RADIUS_MM, PeakResult, suv_peak
from seganypet.quantify.percist import LiverReference, liver_reference
from seganypet.quantify.stats import RegionStats, lesion_table, object_stats, region_stats, totals

__all__ = [
    "PEAK_RADIUS_MM",
    "Delineation",
    "LiverReference",
    "PeakResult",
    "RegionStats",
    "isocontour_from_seed",
    "lesion_table",
    "liver_reference",
    "object_stats",
    "region_stats",
    "suv_peak",
    "threshold_components",
    "threshold_from_seed",
    "totals",
]
