"""``seganypet batch --manifest M.jsonl -o OUT --task lesions|prompts``: a whole cohort."""

from __future__ import annotations

import argparse
from pathlib import Path

from seganypet.cli._options import add_device_argument, check_device, positive_int

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    from seganypet.cli.lesions import add_lesion_arguments

    parser = subparsers.add_parser(
        "batch",
        help="run lesion mode or click replay on every case of a manifest (resumable, sharded)",
        description="One folder per case under OUT/cases/, a DONE marker written last; a rerun "
                    "skips done cases and redoes half-written ones; failures go to "
                    "failures.csv. Shard with --num-parts/--part-id (any scheduler, e.g. a Slurm "
                    "array), under torchrun (RANK/WORLD_SIZE), or with --engine ray. Cohort "
                    "tables: summary.csv, lesions.csv, failures.csv, network_manifest.jsonl "
                    "(input of `seganypet network --manifest`).",
    )
    parser.add_argument("--manifest", type=Path, required=True,
                        help="JSON lines: case_id, image[, prompts, tracer]")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    parser.add_argument("--task", choices=("lesions", "prompts"), default="lesions",
                        help="lesions = lesion mode per case; prompts = replay each case's "
                             "click JSON (default lesions)")
    add_lesion_arguments(parser)
    add_device_argument(parser)
    parser.add_argument("--num-parts", type=positive_int, help="split the cohort into N parts")
    parser.add_argument("--part-id", type=int, help="run part K (0..N-1)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local = this process; ray = a Ray actor pool (default local)")
    parser.add_argument("--address", help="Ray cluster address (default: start Ray locally)")
    parser.add_argument("--workers", type=positive_int, default=2,
                        help="Ray actors (each loads the model once; default 2)")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="torch threads per worker (fixed so outputs are reproducible; "
                             "default 1)")
    parser.add_argument("--no-preview", action="store_true", help="no preview.png per case")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from seganypet.batch import BatchOptions, run_batch
    from seganypet.cli.lesions import settings_from_args

    options = BatchOptions(task=args.task, model=args.model, settings=settings_from_args(args),
                           device=check_device(args.device), threads=args.threads,
                           preview=not args.no_preview)
    report = run_batch(args.manifest, args.output, options, num_parts=args.num_parts,
                       part_id=args.part_id, engine=args.engine, address=args.address,
                       workers=args.workers, progress=not args.no_progress)
    print(f"part {report['part']} of {report['num_parts']}: {report['cases']} case(s), "
          f"{report['done']} done, {report['skipped']} already done, {report['failed']} failed")
    if report["tables"]:
        print(f"cohort tables: {args.output}/summary.csv, lesions.csv, failures.csv, "
              "network_manifest.jsonl")
    else:
        print("other parts still running: the last part to finish writes the cohort tables")
    return 0
