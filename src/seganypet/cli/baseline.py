"""``seganypet train-baseline``: the automatic SegResNet baseline on the training phantoms."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-baseline",
        help="train the task-specific supervised baseline (MONAI SegResNet, no clicks)",
        description="Trains an automatic multi-class SegResNet (organs + one lesion class) on "
        "the same on-the-fly phantoms as the promptable model, for a CPU time budget, and "
        "writes OUT/model.safetensors + model.json + log.csv. Evaluate it with "
        "`seganypet evaluate --automatic OUT`.")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    parser.add_argument("--minutes", type=float, default=60.0, help="time budget (default 60)")
    parser.add_argument("--max-steps", type=int, help="stop after this many steps instead")
    parser.add_argument("--patch-size", type=int, default=96, help="cube edge, voxels (default 96)")
    parser.add_argument("--spacing-mm", type=float, default=3.0, help="voxel size (default 3)")
    parser.add_argument("--init-filters", type=int, default=8, help="SegResNet width (default 8)")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--phantom-voxel-mm", type=float, help="phantom voxel size (tests)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from seganypet.train.supervised import SupervisedConfig, train_supervised

    config = SupervisedConfig(
        patch_size=args.patch_size, spacing_mm=args.spacing_mm, init_filters=args.init_filters,
        batch_size=args.batch_size, lr=args.lr, max_minutes=args.minutes,
        max_steps=args.max_steps, phantom_voxel_mm=args.phantom_voxel_mm, seed=args.seed,
        threads=args.threads)
    logging.getLogger("seganypet").setLevel(logging.INFO)
    model = train_supervised(config, args.output)
    print(f"trained {model.info['steps']} steps in {model.info['minutes']:.1f} min; "
          f"model {args.output / 'model.safetensors'}")
    return 0
