"""The ``seganypet`` command line: ``main(argv) -> exit code``.

Each subcommand lives in its own module of this package (``cli/segment.py``,
``cli/suv.py``, ...) and exposes ``register(subparsers) -> None``, which adds its parser and
sets ``handler`` (a function ``(argparse.Namespace) -> int``) as the parser default. The
modules are discovered when the CLI runs, never at package import, so adding a command
means adding one file.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import pkgutil
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from seganypet.errors import SeganypetError

__all__ = ["build_parser", "main"]


def _command_modules() -> list[str]:
    """Names of the subcommand modules of this package, sorted."""
    return sorted(
        f"{__name__}.{info.name}"
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    )


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), like every other failure of the CLI."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
        with _terminate_as_exit():
            return int(args.handler(args) or 0)
    except (SeganypetError, OSError, MemoryError) as exc:
        # OSError: missing/unreadable/unwritable files, full disk; MemoryError: an input
        # larger than this machine (sizes are checked before allocation where we can).
        if args.debug:
            raise
        print(f"seganypet {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory: the input is too large for this machine"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM raises SystemExit(143) while a command runs, so ``finally`` blocks (the atomic
    writer's temporary-file cleanup) run as they do on Ctrl-C. Only the main thread may set
    signal handlers; the previous handler is restored afterwards (``main`` is also a library
    call in tests)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _exit(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
