"""``seganypet train CONFIG`` (train / resume / fine-tune, also under torchrun) and
``seganypet export-model RUN`` (write a checkpoint's weights as a shippable model)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from seganypet.errors import InputError

__all__ = ["register", "resolve_config_path", "run_export", "run_train"]

_CONFIG_DIR = Path(__file__).resolve().parents[1] / "train" / "configs"


def register(subparsers: argparse._SubParsersAction) -> None:
    from seganypet.train.flags import add_config_flags

    parser = subparsers.add_parser(
        "train", help="train or fine-tune a model with simulated clicks (CPU, GPU, torchrun)",
        description="Interactive-click training over a manifest and/or on-the-fly phantoms. "
        "CONFIG is a JSON file of training options or the name of a bundled config "
        f"({', '.join(sorted(p.stem for p in _CONFIG_DIR.glob('*.json')))}). Every option "
        "can be overridden by its flag. Run under `torchrun --nproc_per_node N` for DDP.")
    parser.add_argument("config", help="training config (JSON path or bundled name)")
    parser.add_argument("--init", help="start from these weights: a checkpoint file "
                        "(official SAM-Med3D/SegAnyPET .pth, our .safetensors), a run dir, "
                        "or 'default'")
    parser.add_argument("--resume", type=Path, help="continue the run in this directory")
    parser.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) after M min")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda if available")
    add_config_flags(parser)
    parser.set_defaults(handler=run_train)

    export = subparsers.add_parser(
        "export-model", help="write a training checkpoint as a model file (safetensors + JSON)",
        description="Copy the weights of a run's latest (or a given) checkpoint to "
        "src/seganypet/weights/NAME.safetensors + NAME.json, where load_model(NAME) finds them.")
    export.add_argument("checkpoint", type=Path, help="run dir, its checkpoints/ or a step folder")
    export.add_argument("--name", default="default", help="model name (default: default)")
    export.add_argument("--out", type=Path, help="explicit .safetensors path instead")
    export.add_argument("--average", type=int, default=1, metavar="K",
                        help="uniform average of the run's last K kept checkpoints (default 1)")
    export.set_defaults(handler=run_export)


def resolve_config_path(name: str) -> Path:
    """A config file path, or the bundled ``train/configs/<name>.json``."""
    path = Path(name)
    if path.is_file():
        return path
    bundled = _CONFIG_DIR / f"{name.removesuffix('.json')}.json"
    if bundled.is_file():
        return bundled
    choices = sorted(p.stem for p in _CONFIG_DIR.glob("*.json"))
    raise InputError(f"training config {name!r} not found; give a JSON file or one of {choices}")


def run_train(args: argparse.Namespace) -> int:
    from seganypet.train.config import load_config
    from seganypet.train.flags import apply_flags
    from seganypet.train.loop import train

    config = apply_flags(load_config(resolve_config_path(args.config)), args)
    if args.init:
        config = dataclasses.replace(config, init=args.init)
    if args.resume is not None and not args.resume.exists():
        raise InputError(f"--resume: {args.resume} does not exist")
    logging.getLogger("seganypet").setLevel(logging.INFO)
    result = train(config, resume=args.resume, max_minutes=args.max_minutes, device=args.device)
    if result.out_dir is not None and result.checkpoint is not None:
        print(f"trained to step {result.step}; checkpoint {result.checkpoint}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from seganypet.model import load_model, save_model
    from seganypet.model.checkpoint import WEIGHTS_DIR
    from seganypet.train.checkpoint import average_weights, latest_checkpoint, recent_checkpoints

    if args.average > 1:
        folders = recent_checkpoints(args.checkpoint, args.average)
        model = average_weights(folders)
        source = "mean of " + ", ".join(f.name for f in folders)
    else:
        folder = latest_checkpoint(args.checkpoint)
        model, source = load_model(folder / "model.safetensors"), str(folder)
    out = args.out or WEIGHTS_DIR / f"{args.name}.safetensors"
    weights, config = save_model(model, out)
    size_mb = weights.stat().st_size / 1e6
    print(f"exported {source} -> {weights} ({size_mb:.1f} MB) and {config}")
    return 0
