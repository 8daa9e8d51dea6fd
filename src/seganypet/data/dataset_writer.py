"""Write a synthetic dataset: one folder of cases (SUV, labels, info JSON) and its manifest.

The cases come from a ``make(rng) -> PhantomCase`` (generated bodies, or PET synthesised
from a label map); case ``n`` of seed ``s`` uses its own stream ``default_rng([s, n])``, so
it is the same whatever the number of cases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seganypet.data.manifest import CaseRecord
from seganypet.data.noisy_labels import simulate_low_quality
from seganypet.data.phantom import PhantomCase, write_case

__all__ = ["DatasetPlan", "case_files", "case_id", "write_dataset"]


@dataclass(frozen=True)
class DatasetPlan:
    """How many cases, which seed, and how they are split and degraded.

    ``val_fraction`` of the cases (the last ones) go to ``val``; the first ``lq_fraction``
    also get a simulated low-quality label, which their manifest record then uses.
    """

    cases: int
    seed: int
    cohort: str
    val_fraction: float = 0.2
    lq_fraction: float = 0.0


def case_id(seed: int, n: int) -> str:
    return f"phantom_{seed}_{n:04d}"


def case_files(plan: DatasetPlan) -> list[str]:
    """Every file name ``write_dataset`` may create in its folder (for output checks)."""
    names = ["manifest.jsonl"]
    for n in range(plan.cases):
        cid = case_id(plan.seed, n)
        names += [f"{cid}_SUV.nii.gz", f"{cid}_label.nii.gz", f"{cid}.json",
                  f"{cid}_label_LQ.nii.gz"]
    return names


def _record(case: PhantomCase, out_dir: Path, cid: str, rng: np.random.Generator,
            low_quality: bool, split: str, cohort: str) -> CaseRecord:
    """Write one case (and its LQ label if asked); return its manifest record."""
    from seganypet.io.nifti import write_nifti

    paths = write_case(case, out_dir, cid)
    label, quality, meta = paths["label"], "HQ", {"info": paths["info"].name}
    if "scanner_shift" in case.info:
        meta["scanner_shift"] = case.info["scanner_shift"]
    if low_quality:
        lq, events = simulate_low_quality(case.label, rng)
        label = write_nifti(lq, out_dir / f"{cid}_label_LQ.nii.gz", dtype=np.uint8)
        quality, meta = "LQ", {**meta, "hq_label": paths["label"].name, "lq_events": len(events)}
    return CaseRecord(cid, paths["image"], label,
                      {int(k): v for k, v in case.info["label_names"].items()},
                      cohort=cohort, tracer=case.info["tracer"], split=split,
                      quality=quality, meta=meta)


def write_dataset(make_case: Callable[[np.random.Generator], PhantomCase], out_dir: Path,
                  plan: DatasetPlan) -> Iterator[tuple[CaseRecord, PhantomCase]]:
    """Generate and write the cases one by one, yielding each record with its case.

    The caller writes the manifest of the records (``data.manifest.write_manifest``) once
    all are done, so an interrupted run leaves no manifest pointing at missing files.
    """
    n_val = round(plan.val_fraction * plan.cases)
    n_lq = round(plan.lq_fraction * plan.cases)
    for n in range(plan.cases):
        rng = np.random.default_rng([plan.seed, n])
        case = make_case(rng)
        split = "val" if n >= plan.cases - n_val else "train"
        yield _record(case, out_dir, case_id(plan.seed, n), rng, n < n_lq, split, plan.cohort), case
