"""Organ-uptake networks: numpy by hand, and a synthetic cohort with planted correlations."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from scipy import stats

from seganypet.cli import main
from seganypet.data.manifest import CaseRecord, write_manifest
from seganypet.errors import InputError
from seganypet.io.nifti import write_nifti
from seganypet.quantify.network import benjamini_hochberg, correlation_network, graph_metrics
from seganypet.volume import Volume

ORGANS = {1: "liver", 2: "spleen", 3: "kidney", 4: "brain", 5: "muscle"}


def bh_by_hand(p: np.ndarray) -> np.ndarray:
    """q_(i) = min over j >= i of p_(j) * m / j, on the sorted p-values."""
    order = np.argsort(p)
    m = len(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


def planted_uptake(rng: np.random.Generator, subjects: int) -> np.ndarray:
    """``(S, 5)`` organ uptake: liver~spleen positively and brain~muscle negatively correlated
    through two latent factors; kidney independent of everything."""
    z, w = rng.normal(size=subjects), rng.normal(size=subjects)
    return np.stack([
        2.0 + 0.40 * z + 0.08 * rng.normal(size=subjects),   # liver
        1.8 + 0.30 * z + 0.06 * rng.normal(size=subjects),   # spleen
        3.0 + 0.40 * rng.normal(size=subjects),              # kidney
        8.0 + 1.00 * w + 0.20 * rng.normal(size=subjects),   # brain
        0.9 - 0.10 * w + 0.02 * rng.normal(size=subjects),   # muscle
    ], axis=1)


def test_correlation_network_matches_numpy_by_hand(rng):
    values = planted_uptake(rng, 25)
    names = list(ORGANS.values())
    network = correlation_network(values, names, "pearson", fdr=0.05)

    r = np.corrcoef(values, rowvar=False)
    upper = np.triu_indices(5, k=1)
    assert np.allclose(network.r[upper], r[upper], atol=1e-12)
    t = r[upper] * np.sqrt(23 / (1 - r[upper] ** 2))
    p = 2 * stats.t.sf(np.abs(t), df=23)
    assert np.allclose(network.p[upper], p, rtol=1e-6)
    q = bh_by_hand(p)
    assert np.allclose(network.q[upper], q, rtol=1e-6)
    assert {(e.source, e.target) for e in network.edges} == {
        (names[a], names[b]) for a, b, qq in zip(*upper, q) if qq <= 0.05}
    assert np.allclose(network.r, network.r.T, equal_nan=True) and np.isnan(network.r[0, 0])

    ranks = np.argsort(np.argsort(values, axis=0), axis=0).astype(float)
    spearman = correlation_network(values, names, "spearman", r_threshold=0.5)
    assert np.allclose(spearman.r[upper], np.corrcoef(ranks, rowvar=False)[upper], atol=1e-12)
    assert {(e.source, e.target) for e in spearman.edges} == {
        (names[a], names[b]) for a, b in zip(*upper) if abs(spearman.r[a, b]) >= 0.5}


def test_graph_metrics_by_hand():
    values = np.array([[1, 2, 3, 1], [2, 4.1, 6.3, 0], [3, 5.9, 9, 2], [4, 8, 11.8, -1.0],
                       [5, 10.2, 15, 0.5]])
    network = correlation_network(values, ["a", "b", "c", "d"], r_threshold=0.9)
    metrics = graph_metrics(network.graph)
    r = np.corrcoef(values, rowvar=False)
    assert {(e.source, e.target) for e in network.edges} == {("a", "b"), ("a", "c"), ("b", "c")}
    assert metrics["a"]["degree"] == 2 and metrics["d"]["degree"] == 0
    assert metrics["a"]["strength"] == pytest.approx(abs(r[0, 1]) + abs(r[0, 2]))
    # a triangle: every shortest path is a direct edge, so nobody lies between others
    assert all(m["betweenness"] == 0 for m in metrics.values())


def test_missing_organs_and_bad_arguments():
    values = np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 2.9], [4.0, 4.2], [5.0, 5.1]])
    network = correlation_network(values, ["a", "b"], fdr=0.05)
    keep = np.isfinite(values[:, 1])
    assert network.n[0, 1] == 4
    assert network.r[0, 1] == pytest.approx(np.corrcoef(values[keep, 0], values[keep, 1])[0, 1])
    assert np.isnan(benjamini_hochberg(np.array([np.nan, 0.01]))[0])
    with pytest.raises(InputError, match="method"):
        correlation_network(values, ["a", "b"], method="kendall")
    with pytest.raises(InputError, match="organs"):
        correlation_network(values, ["a"])
    with pytest.raises(InputError, match="FDR"):
        correlation_network(values, ["a", "b"], fdr=None)


@pytest.fixture
def cohort(tmp_path, rng):
    """30 tiny subjects (5 organ blocks on a 40x8x8 grid of 2 mm) and their manifest.

    Blocks are 4 voxels apart, more than the SUVpeak sphere radius (3 voxels), so no organ's
    peak sphere reaches into another organ."""
    uptake = planted_uptake(rng, 30)
    labels = np.zeros((40, 8, 8), dtype=np.uint8)
    for n, label in enumerate(ORGANS):
        labels[8 * n + 2:8 * n + 6, 1:7, 1:7] = label
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    records, means = [], np.full(uptake.shape, np.nan)
    for s, row in enumerate(uptake):
        case_labels = labels.copy()
        if s == 0:
            case_labels[case_labels == 3] = 0  # the first subject has no kidney label
        suv = np.zeros(labels.shape) + 0.5 + 0.05 * rng.normal(size=labels.shape)
        for n, label in enumerate(ORGANS):
            suv[labels == label] = row[n] + 0.05 * rng.normal(size=(labels == label).sum())
            if (case_labels == label).any():
                means[s, n] = suv[case_labels == label].mean()  # the expected SUVmean by hand
        write_nifti(Volume(suv.astype(np.float32), affine), tmp_path / f"s{s}_pet.nii.gz")
        write_nifti(Volume(case_labels, affine), tmp_path / f"s{s}_labels.nii.gz")
        records.append(CaseRecord(f"s{s}", tmp_path / f"s{s}_pet.nii.gz",
                                  tmp_path / f"s{s}_labels.nii.gz", ORGANS, cohort="synthetic"))
    write_manifest(records, tmp_path / "cohort.jsonl")
    return tmp_path, means


def read_edges(path):
    with open(path, newline="") as f:
        return {(row["source"], row["target"]): row for row in csv.DictReader(f)}


def test_cli_network_recovers_planted_edges_only(cohort, capsys):
    folder, means = cohort
    out = folder / "network"
    assert main(["network", "--manifest", str(folder / "cohort.jsonl"), "-o", str(out)]) == 0
    edges = read_edges(out / "edges.csv")
    assert set(edges) == {("liver", "spleen"), ("brain", "muscle")}
    assert float(edges[("liver", "spleen")]["r"]) > 0.8
    assert float(edges[("brain", "muscle")]["r"]) < -0.8
    # r equals numpy's on SUVmeans computed by hand from the arrays
    names = list(ORGANS.values())
    r = np.corrcoef(means[:, names.index("liver")], means[:, names.index("spleen")])[0, 1]
    assert float(edges[("liver", "spleen")]["r"]) == pytest.approx(r, rel=1e-5)
    with open(out / "nodes.csv", newline="") as f:
        nodes = {row["organ"]: row for row in csv.DictReader(f)}
    assert nodes["kidney"]["degree"] == "0" and nodes["kidney"]["subjects"] == "29"
    assert nodes["liver"]["degree"] == "1"
    for png in ("network.png", "correlation_matrix.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "network.json").read_text())
    assert summary["subjects"] == 30 and summary["edges"] == 2 and summary["rule"] == "q <= 0.05"
    assert "liver - spleen" in capsys.readouterr().out


def test_cli_network_spearman_peak_and_threshold(cohort):
    folder, _ = cohort
    out = folder / "net2"
    assert main(["network", "--manifest", str(folder / "cohort.jsonl"), "-o", str(out),
                 "--method", "spearman", "--metric", "peak", "--r-threshold", "0.7"]) == 0
    assert set(read_edges(out / "edges.csv")) == {("liver", "spleen"), ("brain", "muscle")}
    assert json.loads((out / "network.json").read_text())["metric"] == "peak"
    assert main(["network", "--manifest", str(folder / "missing.jsonl"), "-o", str(out)]) == 2


def test_uptake_table_selects_organs(tmp_path, rng):
    """In-memory cases through ``read_case``: lesions excluded by default, an organ seen in
    only 2 subjects dropped, ``include`` patterns honoured, values equal numpy means."""
    from seganypet.quantify.uptake import organ_uptake_table

    names = {1: "kidney_left", 2: "kidney_right", 3: "rare", 101: "lesion_1"}
    labels = np.zeros((12, 6, 6), dtype=np.uint8)
    for n, label in enumerate(names):
        labels[3 * n:3 * n + 3, 1:5, 1:5] = label
    cases = {}
    for s in range(4):
        case_labels = labels if s < 2 else np.where(labels == 3, 0, labels)
        cases[f"c{s}"] = (Volume(rng.uniform(1, 5, size=labels.shape), np.eye(4)),
                          Volume(case_labels, np.eye(4)))
    records = [CaseRecord(c, tmp_path / f"{c}.nii.gz", tmp_path / f"{c}_l.nii.gz", names)
               for c in cases]
    table = organ_uptake_table(records, read_case=lambda r: cases[r.case_id])
    assert table.organs == ["kidney_left", "kidney_right"] and table.case_ids == list(cases)
    image, case_labels = cases["c3"]
    assert table.values[3, 1] == pytest.approx(image.array[case_labels.array == 2].mean())
    everything = organ_uptake_table(records, read_case=lambda r: cases[r.case_id], exclude=(),
                                    min_subjects=2)
    assert everything.organs == ["kidney_left", "kidney_right", "lesion_1", "rare"]
    assert np.isnan(everything.values[2:, 3]).all()
    with pytest.raises(InputError, match="fewer than 2 organs"):
        organ_uptake_table(records, read_case=lambda r: cases[r.case_id], include=["kidney_l*"])
