"""Per-target summaries of per-case results: median (IQR), mean and a bootstrap 95 % CI.

Results are flat rows (dicts of column -> value, as written to ``results.csv``), so a summary
can be recomputed from a CSV as well as from a fresh run. Undefined values (NaN) are left out
of every statistic and counted in ``n_missing``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["GROUP_BY", "Summary", "bootstrap_ci", "summarize"]

# One summary line per method, split, target and click number.
GROUP_BY: tuple[str, ...] = ("method", "split", "target_name", "click")


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    rng: np.random.Generator,
    statistic: Callable[..., Any] = np.median,
    confidence: float = 0.95,
    n_resamples: int = 2000,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of ``statistic`` over cases.

    The percentile method (not BCa) because it stays defined for few cases and ties, which
    per-target PET evaluations have. Returns ``(nan, nan)`` with fewer than two values.
    """
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    if data.size < 2:
        return float("nan"), float("nan")
    if np.all(data == data[0]):  # no spread: every resample gives the same statistic
        value = float(statistic(data))
        return value, value
    result = stats.bootstrap(
        (data,), statistic, n_resamples=n_resamples, confidence_level=confidence,
        method="percentile", vectorized=True, axis=-1, rng=rng,
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


@dataclass(frozen=True)
class Summary:
    """Statistics of one metric over the cases of one group (see ``GROUP_BY``)."""

    group: tuple[Any, ...]
    metric: str
    n: int
    n_missing: int
    median: float
    q1: float
    q3: float
    mean: float
    ci_low: float
    ci_high: float

    def as_dict(self, group_by: Sequence[str] = GROUP_BY) -> dict[str, Any]:
        row = dict(zip(group_by, self.group))
        row.update({k: v for k, v in asdict(self).items() if k != "group"})
        return row


def _describe(group: tuple[Any, ...], metric: str, values: list[float],
              rng: np.random.Generator) -> Summary:
    data = np.asarray(values, dtype=np.float64)
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        nan = float("nan")
        return Summary(group, metric, 0, int(data.size), nan, nan, nan, nan, nan, nan)
    q1, median, q3 = np.percentile(finite, [25, 50, 75])
    low, high = bootstrap_ci(finite, rng)
    return Summary(group, metric, int(finite.size), int(data.size - finite.size), float(median),
                   float(q1), float(q3), float(finite.mean()), low, high)


def summarize(
    rows: Iterable[Mapping[str, Any]],
    metrics: Sequence[str] = ("dice", "nsd", "nsd_voxel"),
    rng: np.random.Generator | None = None,
    group_by: Sequence[str] = GROUP_BY,
) -> list[Summary]:
    """Median (IQR), mean and a bootstrap 95 % CI of the median per group and metric.

    Args:
        rows: result rows with the ``group_by`` columns and the ``metrics`` columns.
        metrics: metric columns to summarise.
        rng: bootstrap randomness (default: seed 0, so reports are reproducible).
        group_by: grouping columns; groups appear in first-seen order.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in group_by), []).append(row)
    return [
        _describe(key, metric, [float(r[metric]) for r in members], rng)
        for key, members in groups.items()
        for metric in metrics
    ]
