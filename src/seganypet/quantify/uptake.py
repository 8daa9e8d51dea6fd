"""Organ uptake per subject of a cohort (a data manifest) -> a subjects × organs matrix."""

from __future__ import annotations

import fnmatch
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from seganypet.errors import InputError
from seganypet.quantify.stats import object_stats
from seganypet.volume import Volume

__all__ = ["DEFAULT_EXCLUDE", "METRICS", "CohortCase", "UptakeTable", "case_uptake", "organ_uptake_table"]

logger = logging.getLogger(__name__)

# metric name -> RegionStats attribute
METRICS = {"mean": "suv_mean", "peak": "suv_peak", "max": "suv_max"}
DEFAULT_EXCLUDE = ("lesion*",)


class CohortCase(Protocol):
    """What the cohort table reads of a case: a manifest record
    (:class:`seganypet.data.manifest.CaseRecord` satisfies it; quantify does not import data)."""

    case_id: str
    image: Path
    label: Path | None
    label_names: dict[int, str]

    @property
    def target_ids(self) -> tuple[int, ...]: ...


@dataclass(frozen=True)
class UptakeTable:
    """Organ uptake of a cohort.

    Attributes:
        case_ids: the S subjects (manifest order).
        organs: the O organ names (sorted), matched across subjects by name.
        values: ``(S, O)`` uptake; NaN where a subject lacks an organ.
        metric: ``"mean"``, ``"peak"`` or ``"max"`` (SUVmean, SUVpeak, SUVmax).
    """

    case_ids: list[str]
    organs: list[str]
    values: np.ndarray
    metric: str


def case_uptake(image: Volume, labels: Volume, names: dict[int, str], targets: Sequence[int],
                metric: str = "mean") -> dict[str, float]:
    """Organ name -> uptake of one subject (organs absent from the label map are left out)."""
    if metric not in METRICS:
        raise InputError(f"uptake metric {metric!r} is not one of {sorted(METRICS)}")
    rows = object_stats(image, labels, names, only=targets)
    return {row.name: float(getattr(row, METRICS[metric])) for row in rows}


def _default_reader(record: CohortCase) -> tuple[Volume, Volume]:
    from seganypet.io.read import read_label_map, read_pet

    image = read_pet(record.image)
    return image, read_label_map(record.label, reference=image)


def _wanted_ids(record: CohortCase, include: Sequence[str] | None, exclude: Sequence[str]) -> list[int]:
    """The record's target ids whose names match ``include`` (any) and no ``exclude`` pattern."""
    ids = []
    for label in record.target_ids:
        name = record.label_names.get(label, f"label_{label}")
        if include is not None and not any(fnmatch.fnmatchcase(name, p) for p in include):
            continue
        if any(fnmatch.fnmatchcase(name, p) for p in exclude):
            continue
        ids.append(label)
    return ids


def organ_uptake_table(
    records: Sequence[CohortCase],
    metric: str = "mean",
    read_case: Callable[[CohortCase], tuple[Volume, Volume]] | None = None,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    min_subjects: int = 3,
) -> UptakeTable:
    """Uptake of every named organ (``record.target_ids``) of every labelled case.

    Args:
        records: manifest records; cases without a label map are skipped (logged).
        metric: ``"mean"`` (SUVmean), ``"peak"`` (SUVpeak) or ``"max"``.
        read_case: ``record -> (SUV image, label map on its grid)``; default ``read_pet`` +
            ``read_label_map`` (any format they accept, label map re-indexed onto the image).
        include: keep only label names matching one of these glob patterns (None: all).
        exclude: drop label names matching any of these glob patterns; by default
            ``lesion*``, because lesion k of one subject is not lesion k of another.
        min_subjects: drop organs measured in fewer subjects (a correlation needs 3).

    Raises:
        InputError: when fewer than 3 cases have labels (no correlation is possible).
    """
    read_case = read_case or _default_reader
    per_case: dict[str, dict[str, float]] = {}
    for record in records:
        if record.label is None:
            logger.info("case %s has no label map; skipped", record.case_id)
            continue
        image, labels = read_case(record)
        per_case[record.case_id] = case_uptake(image, labels, record.label_names,
                                               _wanted_ids(record, include, exclude), metric)
        logger.info("case %s: %d organs", record.case_id, len(per_case[record.case_id]))
    if len(per_case) < 3:
        raise InputError(f"need at least 3 labelled cases for a cohort network, got {len(per_case)}")
    counts = Counter(name for uptake in per_case.values() for name in uptake)
    organs = sorted(name for name, n in counts.items() if n >= min_subjects)
    if len(organs) < 2:
        raise InputError(f"fewer than 2 organs are measured in >= {min_subjects} subjects "
                         "(check the label names and --include/--exclude)")
    values = np.array([[uptake.get(o, np.nan) for o in organs] for uptake in per_case.values()])
    return UptakeTable(list(per_case), organs, values, metric)
