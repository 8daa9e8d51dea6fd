"""``seganypet train-baseline``: the automatic SegResNet baseline on the training phantoms."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from seganypet.cli._options import (
    add_device_argument,
    add_seed_argument,
    check_device,
    finite_float,
    positive_int,
)

__all__ = ["register", "run"]

# What train_supervised writes into its folder (checked before any work).
_OUTPUT_NAMES = ("model.safetensors", "model.json", "log.csv")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-baseline",
        help="train the task-specific supervised baseline (MONAI SegResNet, no clicks)",
        description="Trains an automatic multi-class SegResNet (organs + one lesion class) on "
        "the same on-the-fly phantoms as the promptable model, for a CPU time budget, and "
        "writes OUT/model.safetensors + model.json + log.csv. Evaluate it with "
        "`seganypet evaluate --automatic OUT`.")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    parser.add_argument("--minutes", type=finite_float(0, low_open=True), default=60.0,
                        help="time budget (default 60)")
    parser.add_argument("--max-steps", type=positive_int, help="stop after this many steps instead")
    parser.add_argument("--patch-size", type=positive_int, default=96,
                        help="cube edge, voxels (default 96)")
    parser.add_argument("--spacing-mm", type=finite_float(0.5, 20), default=3.0,
                        help="the network's voxel size in mm (default 3)")
    parser.add_argument("--init-filters", type=positive_int, default=8, help="SegResNet width (default 8)")
    parser.add_argument("--batch-size", type=positive_int, default=2)
    parser.add_argument("--lr", type=finite_float(0, 1, low_open=True), default=1e-3)
    parser.add_argument("--voxel-mm", "--phantom-voxel-mm", dest="voxel_mm",
                        type=finite_float(0.5, 20), metavar="MM",
                        help="isotropic voxel size of the training phantoms (as `seganypet "
                        "phantom --voxel-mm`; default: drawn per case)")
    add_seed_argument(parser, "seed of the phantoms and the weights")
    parser.add_argument("--threads", type=positive_int, help="torch threads (default: torch's choice)")
    add_device_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from seganypet.baseline.network import SupervisedConfig
    from seganypet.baseline.training import train_supervised
    from seganypet.io.outputs import OutputFolder, guard_outputs

    device = check_device(args.device)
    guard_outputs([OutputFolder(args.output, "-o", _OUTPUT_NAMES)], [])
    config = SupervisedConfig(
        patch_size=args.patch_size, spacing_mm=args.spacing_mm, init_filters=args.init_filters,
        batch_size=args.batch_size, lr=args.lr, max_minutes=args.minutes,
        max_steps=args.max_steps, phantom_voxel_mm=args.voxel_mm, seed=args.seed,
        threads=args.threads)
    logging.getLogger("seganypet").setLevel(logging.INFO)
    model = train_supervised(config, args.output, device=device)
    print(f"trained {model.info['steps']} steps in {model.info['minutes']:.1f} min; "
          f"model {args.output / 'model.safetensors'}")
    return 0
