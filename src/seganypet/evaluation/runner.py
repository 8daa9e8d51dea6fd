"""Evaluate a segmenter on every case and target of a manifest with simulated clicks.

One result row per (case, target, click), flat so it goes straight into a CSV. Each (case,
target) pair draws its clicks from its own generator seeded by ``(seed, case_id, target id)``,
so results do not depend on the order of the manifest or on which subset is evaluated.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Callable, Collection
from typing import Any

import numpy as np

from seganypet.clicks import ClickStrategy
from seganypet.data.manifest import CaseRecord, filter_records, read_manifest
from seganypet.errors import InputError
from seganypet.evaluation.protocol import ClickStep, Segmenter, run_interactive
from seganypet.evaluation.protocols import protocol_rows
from seganypet.io.nifti import read_nifti
from seganypet.volume import Volume

__all__ = ["case_rng", "evaluate_case", "evaluate_manifest", "read_case"]

log = logging.getLogger(__name__)


def case_rng(seed: int, case_id: str, target_id: int) -> np.random.Generator:
    """The click generator of one (case, target): stable across runs and manifest orders."""
    return np.random.default_rng([int(seed), zlib.crc32(case_id.encode("utf-8")), int(target_id)])


def _step_row(method: str, strategy: str, record: CaseRecord, target_id: int,
              step: ClickStep) -> dict[str, Any]:
    i, j, k = step.click.index
    return {
        "method": method,
        "split": record.split,
        "target_name": record.label_names.get(target_id, str(target_id)),
        "click": step.number,
        "case_id": record.case_id,
        "cohort": record.cohort,
        "tracer": record.tracer,
        "target_id": target_id,
        "strategy": strategy,
        "click_i": i,
        "click_j": j,
        "click_k": k,
        "click_positive": int(step.click.positive),
        "seconds": step.seconds,
        **step.scores.as_dict(),
    }


def read_case(record: CaseRecord) -> tuple[Volume, np.ndarray]:
    """A manifest case's SUV image and its integer label array on the same grid."""
    if record.label is None:
        raise InputError(f"case {record.case_id!r} has no label map; it cannot be evaluated")
    image = read_nifti(record.image, unit="SUVbw")
    labels = read_nifti(record.label, unit="label")
    if not image.same_grid(labels):
        raise InputError(
            f"case {record.case_id!r}: label map {labels.shape} is not on the image grid "
            f"{image.shape}; resample it onto the image first"
        )
    return image, np.rint(np.asarray(labels.array)).astype(np.int64)


def evaluate_case(
    record: CaseRecord,
    segmenter_factory: Callable[[], Segmenter],
    method: str,
    n_clicks: int,
    strategy: ClickStrategy,
    seed: int = 0,
    protocol: str = "clicks",
    **protocol_options: Any,
) -> list[dict[str, Any]]:
    """Result rows of every target of one case (targets absent from the label map are
    skipped with a warning: an empty target has no click and no defined DSC). ``protocol``
    other than ``"clicks"``: :mod:`seganypet.evaluation.protocols` (method ``"<method>
    <variant>"``, extra columns)."""
    image, labels = read_case(record)
    rows: list[dict[str, Any]] = []
    for target_id in record.target_ids:
        target = labels == target_id
        if not target.any():
            log.warning("case %s: target %d is absent from the label map; skipped",
                        record.case_id, target_id)
            continue
        if protocol != "clicks":
            found = protocol_rows(protocol, segmenter_factory,
                                  image, image.with_array(target.astype(np.uint8), unit="mask"),
                                  n_clicks, strategy, case_rng(seed, record.case_id, target_id),
                                  **protocol_options)
            rows.extend({**_step_row(f"{method} {variant}", strategy, record, target_id, step),
                         **extra} for variant, step, extra in found)
            continue
        steps = run_interactive(
            segmenter_factory, image, image.with_array(target.astype(np.uint8), unit="mask"),
            n_clicks, strategy, case_rng(seed, record.case_id, target_id),
            target_name=record.label_names.get(target_id), **protocol_options,
        )
        rows.extend(_step_row(method, strategy, record, target_id, s) for s in steps)
        log.info("case %s target %d: DSC after %d clicks %.3f", record.case_id, target_id,
                 n_clicks, steps[-1].scores.dice)
    return rows


def evaluate_manifest(
    manifest: str | os.PathLike[str],
    segmenter_factory: Callable[[], Segmenter],
    method: str,
    n_clicks: int = 5,
    strategy: ClickStrategy = "random",
    seed: int = 0,
    splits: Collection[str] | None = None,
    protocol: str = "clicks",
    **protocol_options: Any,
) -> list[dict[str, Any]]:
    """Evaluate every labelled case (optionally only some splits) of a manifest.

    Args:
        manifest: JSON-lines manifest (``seganypet.data.manifest``).
        segmenter_factory: makes a fresh segmenter per (case, target).
        method: name written in the ``method`` column (e.g. ``"suv2.5"``, ``"model:tiny"``).
        n_clicks: simulated clicks per target.
        strategy: ``"random"`` or ``"center"``.
        seed: base seed of the click generators.
        splits: keep only these splits (None = all).
        protocol: ``clicks`` (default), ``scribbles``, ``boxes`` or ``suggested``
            (:mod:`seganypet.evaluation.protocols`).
        protocol_options: passed to :func:`run_interactive` (``tolerance_mm``, ``with_hd95``).

    Raises:
        InputError: if no case is left to evaluate.
    """
    records = read_manifest(manifest)
    if splits:
        records = filter_records(records, split=list(splits))
    records = [r for r in records if r.label is not None]
    if not records:
        raise InputError(f"{manifest}: no labelled case to evaluate (splits: {splits or 'all'})")
    rows: list[dict[str, Any]] = []
    for record in records:
        rows.extend(evaluate_case(record, segmenter_factory, method, n_clicks, strategy, seed,
                                  protocol, **protocol_options))
    if not rows:
        raise InputError(f"{manifest}: none of the targets is present in its label map")
    return rows
