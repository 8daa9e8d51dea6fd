"""Cohort organ-uptake correlation networks (organ metabolic networks, paper 1 Fig. 4c).

Input is a subjects × organs matrix of uptake (e.g. organ SUVmean or SUVpeak per subject,
from :func:`seganypet.quantify.uptake.organ_uptake_table`). Every organ pair gets a
correlation over the subjects where both organs were measured (pairwise-complete, at least
3 subjects): Pearson (linear) or Spearman (rank). An edge joins two organs when

* the Benjamini-Hochberg adjusted p-value (FDR over all organ pairs) is <= ``fdr``, or
* ``|r| >= r_threshold`` when a correlation threshold is given instead (e.g. r > 0.6 as in
  Hellman et al. 2025).

Graph metrics come from networkx: degree (number of edges), strength (sum of |r| over
edges) and betweenness centrality with edge length ``1 - |r|`` (strong correlations are
short paths), normalised.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy import stats

from seganypet.errors import InputError

__all__ = [
    "METHODS",
    "CorrelationNetwork",
    "Edge",
    "benjamini_hochberg",
    "correlation_network",
    "graph_metrics",
]

METHODS = ("pearson", "spearman")
_MIN_SUBJECTS = 3


@dataclass(frozen=True)
class Edge:
    """One significant organ pair: correlation ``r``, p-value, BH q-value, subjects ``n``."""

    source: str
    target: str
    r: float
    p: float
    q: float
    n: int


@dataclass(frozen=True)
class CorrelationNetwork:
    """Correlations between organs and the thresholded graph.

    Attributes:
        organs: the O node names.
        method: ``"pearson"`` or ``"spearman"``.
        r, p, q: ``(O, O)`` symmetric correlation, p-value and BH q-value (NaN on the diagonal
            and where fewer than 3 subjects have both organs or an organ is constant).
        n: ``(O, O)`` number of subjects behind each correlation.
        edges: the pairs kept, sorted by decreasing ``|r|``.
        graph: ``networkx.Graph`` of all organs with the edges (attributes r, p, q, n,
            weight = |r|, distance = 1 - |r|).
        rule: how edges were chosen, e.g. ``"q <= 0.05"`` or ``"|r| >= 0.6"``.
    """

    organs: list[str]
    method: str
    r: np.ndarray
    p: np.ndarray
    q: np.ndarray
    n: np.ndarray
    edges: list[Edge]
    graph: nx.Graph
    rule: str


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (q-values) of a 1D array; NaNs stay NaN and are not counted."""
    q = np.full(np.shape(p_values), np.nan)
    finite = np.isfinite(p_values)
    if finite.any():
        q[finite] = stats.false_discovery_control(np.asarray(p_values)[finite], method="bh")
    return q


def _pair_correlation(a: np.ndarray, b: np.ndarray, method: str) -> tuple[float, float, int]:
    both = np.isfinite(a) & np.isfinite(b)
    n = int(both.sum())
    if n < _MIN_SUBJECTS or np.ptp(a[both]) == 0 or np.ptp(b[both]) == 0:
        return np.nan, np.nan, n
    test = stats.pearsonr if method == "pearson" else stats.spearmanr
    with warnings.catch_warnings():  # near-constant input is reported as NaN, not a warning
        warnings.simplefilter("ignore")
        result = test(a[both], b[both])
    return float(result.statistic), float(result.pvalue), n


def _correlations(values: np.ndarray, method: str) -> tuple[np.ndarray, ...]:
    organs = values.shape[1]
    r, p = np.full((organs, organs), np.nan), np.full((organs, organs), np.nan)
    n = np.zeros((organs, organs), dtype=np.int64)
    upper = np.triu_indices(organs, k=1)
    for a, b in zip(*upper):
        r[a, b], p[a, b], n[a, b] = _pair_correlation(values[:, a], values[:, b], method)
    q = np.full((organs, organs), np.nan)
    q[upper] = benjamini_hochberg(p[upper])
    # mirror the upper triangle
    for matrix in (r, p, q, n):
        matrix[upper[1], upper[0]] = matrix[upper]
    return r, p, q, n


def correlation_network(
    values: np.ndarray,
    organs: Sequence[str],
    method: str = "pearson",
    fdr: float | None = 0.05,
    r_threshold: float | None = None,
) -> CorrelationNetwork:
    """Organ correlation network from a ``(S, O)`` uptake matrix (NaN = organ not measured).

    Args:
        values: ``(S, O)`` uptake of O organs in S subjects.
        organs: the O organ names.
        method: ``"pearson"`` or ``"spearman"``.
        fdr: keep pairs with BH q-value <= fdr (ignored when ``r_threshold`` is given).
        r_threshold: keep pairs with ``|r| >= r_threshold`` instead.
    """
    values = np.asarray(values, dtype=np.float64)
    organs = [str(o) for o in organs]
    if values.ndim != 2 or values.shape[1] != len(organs):
        raise InputError(f"uptake matrix of shape {values.shape} does not match {len(organs)} organs")
    if method not in METHODS:
        raise InputError(f"correlation method {method!r} is not one of {METHODS}")
    if r_threshold is None and (fdr is None or not 0 < fdr <= 1):
        raise InputError(f"give an FDR level in (0, 1] or an |r| threshold (got fdr={fdr})")
    if r_threshold is not None and not 0 <= r_threshold <= 1:
        raise InputError(f"|r| threshold must be in [0, 1], got {r_threshold}")
    r, p, q, n = _correlations(values, method)
    keep = np.abs(r) >= r_threshold if r_threshold is not None else q <= fdr
    rule = f"|r| >= {r_threshold:g}" if r_threshold is not None else f"q <= {fdr:g}"
    graph = nx.Graph()
    graph.add_nodes_from(organs)
    edges = []
    for a, b in zip(*np.nonzero(np.triu(keep, k=1))):
        edge = Edge(organs[a], organs[b], float(r[a, b]), float(p[a, b]), float(q[a, b]), int(n[a, b]))
        edges.append(edge)
        graph.add_edge(edge.source, edge.target, r=edge.r, p=edge.p, q=edge.q, n=edge.n,
                       weight=abs(edge.r), distance=1.0 - abs(edge.r))
    edges.sort(key=lambda e: -abs(e.r))
    return CorrelationNetwork(organs, method, r, p, q, n, edges, graph, rule)


def graph_metrics(graph: nx.Graph) -> dict[str, dict[str, float]]:
    """Per node: ``degree``, ``strength`` (sum of edge |r|) and normalised ``betweenness``
    (shortest paths with edge length ``1 - |r|``)."""
    betweenness = nx.betweenness_centrality(graph, weight="distance", normalized=True)
    return {
        node: {
            "degree": float(graph.degree(node)),
            "strength": float(graph.degree(node, weight="weight")),
            "betweenness": float(betweenness[node]),
        }
        for node in graph.nodes
    }
