"""Files of an organ network: CSV tables, a JSON summary and two PNG figures.

Figures are drawn on ``matplotlib.figure.Figure`` objects with the Agg canvas, never through
``pyplot``, so nothing global (backends, open figures) is touched.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seganypet.atomic import atomic_path
from seganypet.quantify.network import CorrelationNetwork, graph_metrics
from seganypet.quantify.uptake import UptakeTable

__all__ = ["plot_correlation_matrix", "plot_network", "write_network"]


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with atomic_path(path) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=120, format="png")
    return path


def plot_network(network: CorrelationNetwork, path: str | os.PathLike[str]) -> Path:
    """PNG of the graph on a circle: red = positive, blue = negative, width ∝ |r|."""
    figure = Figure(figsize=(7, 7))
    ax = figure.add_subplot()
    graph = network.graph
    positions = nx.circular_layout(graph)
    edges = list(graph.edges(data=True))
    degrees = dict(graph.degree())
    nx.draw_networkx_nodes(graph, positions, ax=ax, node_color="#dddddd", edgecolors="black",
                           node_size=[900 + 200 * degrees[n] for n in graph.nodes])
    nx.draw_networkx_labels(graph, positions, ax=ax, font_size=8)
    nx.draw_networkx_edges(graph, positions, ax=ax, edgelist=[(a, b) for a, b, _ in edges],
                           width=[0.5 + 4 * abs(d["r"]) for _, _, d in edges],
                           edge_color=["#c0392b" if d["r"] > 0 else "#2e6fb7" for _, _, d in edges])
    ax.set_title(f"{network.method} organ network, {len(edges)} edges ({network.rule})")
    ax.set_axis_off()
    return _save(figure, Path(path))


def plot_correlation_matrix(network: CorrelationNetwork, path: str | os.PathLike[str]) -> Path:
    """PNG heat map of r (−1..1); kept edges are marked with a dot."""
    size = max(5.0, 0.45 * len(network.organs) + 2)
    figure = Figure(figsize=(size + 1, size))
    ax = figure.add_subplot()
    image = ax.imshow(network.r, cmap="coolwarm", vmin=-1, vmax=1)
    figure.colorbar(image, ax=ax, label=f"{network.method} r")
    ticks = np.arange(len(network.organs))
    ax.set_xticks(ticks, network.organs, rotation=90, fontsize=8)
    ax.set_yticks(ticks, network.organs, fontsize=8)
    index = {name: i for i, name in enumerate(network.organs)}
    for edge in network.edges:
        a, b = index[edge.source], index[edge.target]
        ax.plot([b, a], [a, b], "k.", markersize=6)
    ax.set_title(f"organ uptake correlation ({network.rule} marked)")
    figure.tight_layout()
    return _save(figure, Path(path))


def write_network(network: CorrelationNetwork, table: UptakeTable,
                  outdir: str | os.PathLike[str], settings: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write ``edges.csv``, ``nodes.csv``, ``uptake.csv``, ``correlation.csv``,
    ``network.json``, ``network.png`` and ``correlation_matrix.png`` into ``outdir``."""
    outdir = Path(outdir)
    metrics = graph_metrics(network.graph)
    organ_index = {name: i for i, name in enumerate(table.organs)}
    paths = {
        "edges": _write_csv(outdir / "edges.csv", ["source", "target", "r", "p", "q", "n"],
                            ([e.source, e.target, e.r, e.p, e.q, e.n] for e in network.edges)),
        "nodes": _write_csv(
            outdir / "nodes.csv", ["organ", "degree", "strength", "betweenness", "subjects", "mean_uptake"],
            ([o, int(metrics[o]["degree"]), metrics[o]["strength"], metrics[o]["betweenness"],
              int(np.isfinite(table.values[:, organ_index[o]]).sum()),
              float(np.nanmean(table.values[:, organ_index[o]]))] for o in network.organs)),
        "uptake": _write_csv(outdir / "uptake.csv", ["case_id", *table.organs],
                             ([c, *row] for c, row in zip(table.case_ids, table.values.tolist()))),
        "correlation": _write_csv(outdir / "correlation.csv", ["organ", *network.organs],
                                  ([o, *row] for o, row in zip(network.organs, network.r.tolist()))),
        "network_png": plot_network(network, outdir / "network.png"),
        "matrix_png": plot_correlation_matrix(network, outdir / "correlation_matrix.png"),
    }
    summary = {"method": network.method, "metric": table.metric, "rule": network.rule,
               "subjects": len(table.case_ids), "organs": network.organs,
               "edges": len(network.edges), **(settings or {})}
    with atomic_path(outdir / "network.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    paths["summary"] = outdir / "network.json"
    return paths
