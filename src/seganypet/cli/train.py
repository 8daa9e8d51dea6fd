"""``seganypet train CONFIG`` (train / resume / fine-tune, also under torchrun) and
``seganypet export-model RUN`` (write a checkpoint's weights as a shippable model)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import re
from pathlib import Path

from seganypet.cli._options import add_device_argument, check_device, manifest_inputs
from seganypet.errors import InputError
from seganypet.train.config_files import resolve_config_path

__all__ = ["register", "resolve_config_path", "run_export", "run_train"]

# Model names become file names in weights/: a plain identifier, no path separators.
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def register(subparsers: argparse._SubParsersAction) -> None:
    from seganypet.train.config_files import bundled_config_names
    from seganypet.train.flags import add_config_flags

    parser = subparsers.add_parser(
        "train", help="train or fine-tune a model with simulated clicks (CPU, GPU, torchrun)",
        description="Interactive-click training over a manifest and/or on-the-fly phantoms. "
        "CONFIG is a JSON file of training options or the name of a bundled config "
        f"({', '.join(bundled_config_names())}). Every option "
        "can be overridden by its flag. Run under `torchrun --nproc_per_node N` for DDP.")
    parser.add_argument("config", help="training config (JSON path or bundled name)")
    parser.add_argument("--init", help="start from these weights: a checkpoint file "
                        "(official SAM-Med3D/SegAnyPET .pth, our .safetensors), a run dir, "
                        "or 'default'")
    parser.add_argument("--resume", type=Path, help="continue the run in this directory")
    parser.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) after M min")
    add_device_argument(parser, default=None)
    add_config_flags(parser)
    # -o/--output as in every other command: the run folder (the config's out_dir).
    parser.add_argument("-o", "--output", dest="cfg_out_dir", metavar="FOLDER",
                        help="run folder (same as --out-dir)")
    parser.set_defaults(handler=run_train)

    export = subparsers.add_parser(
        "export-model", help="write a training checkpoint as a model file (safetensors + JSON)",
        description="Copy the weights of a run's latest (or a given) checkpoint to "
        "src/seganypet/weights/NAME.safetensors + NAME.json, where load_model(NAME) finds them.")
    export.add_argument("checkpoint", type=Path, help="run dir, its checkpoints/ or a step folder")
    export.add_argument("--name", default="default", help="model name (default: default)")
    export.add_argument("-o", "--output", "--out", dest="out", type=Path,
                        help="explicit .safetensors path instead")
    export.add_argument("--average", type=int, default=1, metavar="K",
                        help="uniform average of the run's last K kept checkpoints (default 1)")
    export.set_defaults(handler=run_export)


def run_train(args: argparse.Namespace) -> int:
    from seganypet.io.outputs import OutputFolder, guard_outputs
    from seganypet.train.config_files import check_config_types, read_config_file
    from seganypet.train.flags import apply_flags
    from seganypet.train.loop import train

    config = apply_flags(read_config_file(args.config), args)
    check_config_types(dataclasses.asdict(config), "the training options")  # flags too: nan
    if args.init:
        config = dataclasses.replace(config, init=args.init)
    if args.resume is not None and not args.resume.is_dir():
        raise InputError(f"--resume: {args.resume} is not a run folder")
    if args.max_minutes is not None and not args.max_minutes > 0:
        raise InputError(f"--max-minutes must be positive, got {args.max_minutes}")
    check_device(args.device)
    inputs = [resolve_config_path(args.config), config.init]
    if config.manifest is not None:
        inputs += manifest_inputs(Path(config.manifest))
    guard_outputs([OutputFolder(Path(config.out_dir), "-o/--out-dir")], inputs)
    logging.getLogger("seganypet").setLevel(logging.INFO)
    result = train(config, resume=args.resume, max_minutes=args.max_minutes, device=args.device)
    if result.out_dir is not None and result.checkpoint is not None:
        print(f"trained to step {result.step}; checkpoint {result.checkpoint}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from seganypet.io.outputs import OutputFile, guard_outputs
    from seganypet.model import load_model, save_model
    from seganypet.model.checkpoint import WEIGHTS_DIR
    from seganypet.train.checkpoint import average_weights, latest_checkpoint, recent_checkpoints

    if args.out is None and not _MODEL_NAME.match(args.name):
        raise InputError(f"--name {args.name!r} must be a plain model name (letters, digits, "
                         "'_', '-', '.'); use -o PATH to write elsewhere")
    out = args.out or WEIGHTS_DIR / f"{args.name}.safetensors"
    guard_outputs([OutputFile(out, "-o", (".safetensors",)),
                   OutputFile(out.with_suffix(".json"), "-o")], [args.checkpoint])
    if args.average < 1:
        raise InputError(f"--average must be at least 1, got {args.average}")
    if args.average > 1:
        folders = recent_checkpoints(args.checkpoint, args.average)
        model = average_weights(folders)
        source = "mean of " + ", ".join(f.name for f in folders)
    else:
        folder = latest_checkpoint(args.checkpoint)
        model, source = load_model(folder / "model.safetensors"), str(folder)
    weights, config = save_model(model, out)
    size_mb = weights.stat().st_size / 1e6
    print(f"exported {source} -> {weights} ({size_mb:.1f} MB) and {config}")
    return 0
