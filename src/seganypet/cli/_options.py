"""Options shared by the subcommands, spelled and checked the same way everywhere.

``-o/--output`` for what a command writes, ``--device`` (any torch device string, checked
for availability), ``--seed`` (default ``DEFAULT_SEED``), ``--voxel-mm`` for a phantom's
voxel size, and argparse types that refuse NaN/inf and out-of-range numbers by name.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from seganypet.errors import InputError

__all__ = ["DEFAULT_SEED", "add_device_argument", "add_output_folder_argument",
           "add_seed_argument", "check_device", "finite_float", "load_cli_model", "manifest_inputs",
           "output_folder",
           "positive_int", "seed_int"]

DEFAULT_SEED = 0


def finite_float(low: float | None = None, high: float | None = None, *,
                 low_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite float within ``[low, high]`` (``(low, high]`` if ``low_open``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        below = low is not None and (value <= low if low_open else value < low)
        if not math.isfinite(value) or below or (high is not None and value > high):
            bounds = f"{'(' if low_open else '['}{low if low is not None else '-inf'}, " \
                     f"{high if high is not None else 'inf'}]"
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number in {bounds}")
        return value

    parse.__name__ = "number"  # argparse names the type in "invalid number value"
    return parse


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def check_device(text: str | None) -> str | None:
    """A torch device string (``cpu``, ``cuda``, ``cuda:1``, ``mps``) that exists on this machine.

    ``None`` passes through (the command picks its default). InputError names ``--device``.
    """
    if text is None:
        return None
    import torch

    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise InputError(f"--device {text!r} is not a torch device; use cpu, cuda, cuda:N or "
                         "mps") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise InputError(f"--device {text}: this torch build or machine has no CUDA GPU; "
                             "use --device cpu")
        if device.index is not None and device.index >= count:
            raise InputError(f"--device {text}: only {count} CUDA device(s) (cuda:0..{count - 1})")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"--device {text}: MPS is not available here; use --device cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise InputError(f"--device {text}: only cpu, cuda[:N] and mps are supported")
    return text


def add_device_argument(parser: argparse.ArgumentParser, default: str | None = "cpu") -> None:
    """``--device``: checked when the command runs (``check_device``), so torch loads lazily."""
    shown = default or "cuda if available, else cpu"
    parser.add_argument("--device", default=default, metavar="DEVICE",
                        help=f"torch device: cpu, cuda, cuda:N, mps (default {shown})")


def add_output_folder_argument(parser: argparse.ArgumentParser, help_text: str,
                               default: Path | None = None) -> None:
    """``-o/--output FOLDER``; the old positional spelling is still accepted (hidden)."""
    parser.add_argument("legacy_output", type=Path, nargs="?", help=argparse.SUPPRESS)
    shown = f" (default {default})" if default is not None else ""
    parser.add_argument("-o", "--output", type=Path, default=None, help=help_text + shown)
    parser.set_defaults(output_default=default)


def output_folder(args: argparse.Namespace) -> Path:
    """The folder of ``-o`` (or of the legacy positional argument); InputError when absent."""
    given = [p for p in (args.output, args.legacy_output) if p is not None]
    if len(given) == 2 and given[0] != given[1]:
        raise InputError(f"two output folders given ({given[1]} and -o {given[0]}); give one -o")
    if not given and args.output_default is None:
        raise InputError("give the output folder with -o FOLDER")
    return given[0] if given else args.output_default


def add_seed_argument(parser: argparse.ArgumentParser, what: str,
                      default: int = DEFAULT_SEED) -> None:
    """``--seed``: one name and one default for every command (the demo keeps the seed of its
    documented phantom)."""
    parser.add_argument("--seed", type=seed_int, default=default, help=f"{what} (default {default})")


def seed_int(text: str) -> int:
    """An argparse type: a seed numpy accepts (an integer 0 .. 2**63 - 1)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"{text!r} must be an integer from 0 to 2**63 - 1")
    return value


def manifest_inputs(path: Path) -> list[Path]:
    """A manifest and every file it references (images, labels, exact labels of LQ cases):
    what a manifest-driven command reads, so none of it may be an output."""
    from seganypet.data.manifest import read_manifest

    paths = [path]
    for record in read_manifest(path):
        paths += [record.image, record.label]
        if isinstance(record.meta.get("hq_label"), str):
            paths.append(record.image.parent / record.meta["hq_label"])
    return paths


def load_cli_model(name_or_path: str, device: str):
    """``load_model`` for a ``--model`` value: every way a model file can be malformed becomes
    one InputError naming the option (the library raises what torch/safetensors raise)."""
    from seganypet.model import load_model

    try:
        return load_model(name_or_path, device=device)
    except InputError as exc:
        raise InputError(f"--model {name_or_path}: {exc}") from None
    except (ValueError, TypeError, KeyError, RuntimeError, OSError, ArithmeticError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        kind = "folder" if Path(name_or_path).is_dir() else "model"
        raise InputError(f"--model {name_or_path}: cannot load this {kind} ({first})") from None


def add_session_rule_arguments(parser: argparse.ArgumentParser) -> None:
    """``--plateau-snap`` and ``--local-edit`` (both on by default): the session's rules that
    can be switched off (:class:`seganypet.session.Session`)."""
    parser.add_argument("--plateau-snap", action=argparse.BooleanOptionalAction, default=True,
                        help="organ clicks: a first mask that stopped inside a homogeneous organ "
                        "beside a hotter neighbour grows to the organ's own isocontour (default "
                        "on; --no-plateau-snap: the model's mask)")
    parser.add_argument("--local-edit", action=argparse.BooleanOptionalAction, default=True,
                        help="a corrective click changes the mask only near the click (default "
                        "on; --no-local-edit: the model's whole new mask)")


def session_rules(args: argparse.Namespace) -> dict[str, bool]:
    """The ``Session`` keyword arguments set by :func:`add_session_rule_arguments`."""
    return {"plateau_snap": bool(args.plateau_snap), "local_edit": bool(args.local_edit)}
