"""The ``seganypet`` command line: ``main(argv) -> exit code``.

Each subcommand lives in its own module of this package (``cli/segment.py``,
``cli/suv.py``, ...) and exposes ``register(subparsers) -> None``, which adds its parser and
sets ``handler`` (a function ``(argparse.Namespace) -> int``) as the parser default. The
modules are discovered when the CLI runs, never at package import, so adding a command
means adding one file.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from seganypet.errors import SeganypetError

__all__ = ["build_parser", "main"]


def _command_modules() -> list[str]:
    """Names of the subcommand modules of this package, sorted."""
    return sorted(
        f"{__name__}.{info.name}"
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seganypet",
        description="Click-to-segment whole-body PET: segment, quantify, train and evaluate.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in _command_modules():
        module = importlib.import_module(module_name)
        if hasattr(module, "register"):
            module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI. Returns 0 on success, 2 on bad input (one-line message on stderr)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except (SeganypetError, FileNotFoundError, NotADirectoryError, PermissionError) as exc:
        if args.debug:
            raise
        print(f"seganypet {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
