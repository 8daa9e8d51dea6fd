"""``seganypet network --manifest M -o outdir``: cohort organ-uptake correlation network."""

from __future__ import annotations

import argparse
from pathlib import Path

from seganypet.cli._options import finite_float, manifest_inputs, positive_int

__all__ = ["register", "run"]

# The files quantify.network_output.write_network writes (checked before any work).
NETWORK_FILES = ("edges.csv", "nodes.csv", "uptake.csv", "correlation.csv", "network.json",
                 "network.png", "correlation_matrix.png")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "network",
        help="organ-uptake correlation network of a cohort (edges CSV, graph metrics, PNGs)",
        description="Organ SUVmean (or SUVpeak) per subject of a manifest -> Pearson/Spearman "
        "correlation between organs -> edges kept by Benjamini-Hochberg FDR or an |r| threshold "
        "-> degree, strength, betweenness (networkx), CSV tables and PNG figures.",
    )
    parser.add_argument("--manifest", type=Path, required=True, help="JSON-lines data manifest")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    parser.add_argument("--metric", choices=("mean", "peak", "max"), default="mean",
                        help="organ uptake per subject: SUVmean (default), SUVpeak or SUVmax")
    parser.add_argument("--method", choices=("pearson", "spearman"), default="pearson")
    rule = parser.add_mutually_exclusive_group()
    rule.add_argument("--fdr", type=finite_float(0, 1, low_open=True), default=0.05,
                      help="keep organ pairs with Benjamini-Hochberg q <= FDR (default 0.05)")
    rule.add_argument("--r-threshold", type=finite_float(0, 1), help="keep organ pairs with |r| >= this instead")
    parser.add_argument("--split", help="use only cases of this split (train/val/test/external)")
    parser.add_argument("--include", nargs="+", metavar="PATTERN",
                        help="use only labels whose names match these glob patterns, e.g. 'kidney*'")
    parser.add_argument("--exclude", nargs="*", default=["lesion*"], metavar="PATTERN",
                        help="skip labels whose names match (default: 'lesion*'; give --exclude "
                        "with no pattern to keep everything)")
    parser.add_argument("--min-subjects", type=positive_int, default=3,
                        help="drop organs measured in fewer subjects (default 3)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from seganypet.data.manifest import filter_records, read_manifest
    from seganypet.io.outputs import OutputFolder, guard_outputs
    from seganypet.quantify.network import correlation_network
    from seganypet.quantify.network_output import write_network
    from seganypet.quantify.uptake import organ_uptake_table

    guard_outputs([OutputFolder(args.output, "-o", NETWORK_FILES)], manifest_inputs(args.manifest))
    records = read_manifest(args.manifest)
    if args.split:
        records = filter_records(records, split=args.split)
    table = organ_uptake_table(records, metric=args.metric, include=args.include,
                               exclude=args.exclude, min_subjects=args.min_subjects)
    fdr = None if args.r_threshold is not None else args.fdr
    network = correlation_network(table.values, table.organs, args.method, fdr=fdr,
                                  r_threshold=args.r_threshold)
    settings = {"manifest": str(args.manifest), "fdr": fdr, "r_threshold": args.r_threshold}
    write_network(network, table, args.output, settings)
    print(f"{len(table.case_ids)} subjects, {len(table.organs)} organs, "
          f"{len(network.edges)} edges ({network.rule}) -> {args.output}")
    for edge in network.edges[:10]:
        print(f"  {edge.source} - {edge.target}: r = {edge.r:+.3f}, q = {edge.q:.2g}, n = {edge.n}")
    return 0
