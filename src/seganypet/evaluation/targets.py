"""Which labels an evaluation scores, and the real STS_001 case as a manifest record.

The model card and the evaluation splits score the same targets: seven large organs that every
phantom has (``CARD_ORGANS``) and the lesions of at least 10 mm. Smaller lesions are left out
because at a 4-8 mm PSF their Dice measures partial-volume blur more than the segmenter.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from seganypet.data.manifest import CaseRecord, read_manifest

__all__ = [
    "CARD_ORGANS",
    "MIN_LESION_MM",
    "evaluation_record",
    "evaluation_records",
    "select_targets",
    "sts001_record",
]

CARD_ORGANS = ("liver", "kidney_left", "kidney_right", "spleen", "heart", "brain", "bladder")
MIN_LESION_MM = 10.0


def select_targets(label_names: Mapping[int, str], lesions: Iterable[Mapping[str, Any]],
                   organs: Collection[str] = CARD_ORGANS,
                   min_lesion_mm: float = MIN_LESION_MM) -> tuple[int, ...]:
    """Label ids to score: the named ``organs`` present in ``label_names``, then the ids of the
    ``lesions`` (phantom info dicts with ``id`` and ``diameter_mm``) at least ``min_lesion_mm``
    wide."""
    organ_ids = [int(i) for i, name in label_names.items() if name in organs]
    lesion_ids = [int(les["id"]) for les in lesions if les["diameter_mm"] >= min_lesion_mm]
    return tuple(organ_ids + lesion_ids)


def evaluation_record(record: CaseRecord, info: Mapping[str, Any],
                      split: str = "test") -> CaseRecord:
    """``record`` of a generated phantom made ready for scoring: targets selected from its
    ``info`` (the phantom's JSON), ``split`` set, and the exact label used even if the
    manifest pointed at a simulated low-quality one."""
    label = record.label
    if record.quality == "LQ" and "hq_label" in record.meta:
        label = record.image.parent / record.meta["hq_label"]
    return dataclasses.replace(record, label=label, split=split, quality="HQ",
                               targets=select_targets(record.label_names, info["lesions"]))


def evaluation_records(manifest: Path, split: str = "test") -> list[CaseRecord]:
    """Every record of a ``seganypet phantom`` manifest through :func:`evaluation_record`
    (each case's info JSON is read from beside its image)."""
    records = []
    for record in read_manifest(manifest):
        info = json.loads((record.image.parent / record.meta["info"]).read_text())
        records.append(evaluation_record(record, info, split))
    return records


def sts001_record(shared: Path) -> CaseRecord | None:
    """The real STS_001 scan with its thigh GTV as the one target, or None when ``shared``
    (the ``../shared/data`` folder) does not hold it. The record points into ``shared``;
    nothing is copied."""
    derived = Path(shared) / "sts001_wholebody_fdg_pet" / "derived_nifti"
    if not derived.is_dir():
        return None
    return CaseRecord("STS_001", derived / "STS_001_PET_SUVbw.nii.gz",
                      derived / "STS_001_GTV_Mass_mask.nii.gz", {1: "lesion_sts001_gtv"},
                      cohort="sts", tracer="fdg", split="external", quality="HQ")
