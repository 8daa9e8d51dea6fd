"""Checks run on output paths BEFORE any work, so a command can never destroy its inputs.

Every command lists what it will write and what it reads; ``guard_outputs`` refuses, in
one line naming the option, an output that is (or would replace) an input, one inside a
DICOM input folder (it would join the series or overwrite a slice), one whose suffix we
cannot write, and one that is an existing folder (or a folder that is an existing file).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from seganypet.errors import InputError

__all__ = ["IMAGE_SUFFIXES", "OutputFile", "OutputFolder", "guard_outputs", "protected_inputs"]

# What io/write.py can write as a 3D volume (single-file formats only: a two-file .mhd/.hdr
# would name its data file after the temporary file of the atomic writer).
IMAGE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".mha")
# Files read beside an input (label names, model config) are inputs too.
_SIDECAR_OF = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".dcm", ".safetensors")


@dataclass(frozen=True)
class OutputFile:
    """A file a command will write; ``suffixes`` are the endings it may have (None = any)."""

    path: Path
    option: str
    suffixes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class OutputFolder:
    """A folder a command will write into; ``names`` are the files it creates there."""

    path: Path
    option: str
    names: tuple[str, ...] = ()


def _key(path: Path) -> Path:
    """One spelling per file: absolute, symlinks resolved, case kept (Linux is case-sensitive)."""
    return Path(os.path.realpath(path))


def _sidecar(path: Path) -> Path | None:
    name = path.name.lower()
    for suffix in _SIDECAR_OF:
        if name.endswith(suffix):
            return path.with_name(path.name[: -len(suffix)] + ".json")
    return None


def protected_inputs(paths: Iterable[str | os.PathLike[str] | None]) -> list[Path]:
    """Input paths plus the sidecars read beside them (``x.json`` of ``x.nii.gz``), resolved.

    ``None`` entries and names that are not existing paths (a preset such as ``default``)
    are skipped.
    """
    out: list[Path] = []
    for raw in paths:
        if raw is None or not os.path.exists(raw):
            continue
        path = _key(Path(raw))
        out.append(path)
        sidecar = _sidecar(path)
        if sidecar is not None and sidecar.exists():
            out.append(sidecar)
    return out


def _check_suffix(output: OutputFile) -> None:
    if output.suffixes is None:
        return
    name = output.path.name.lower()
    if not any(name.endswith(s) and len(name) > len(s) for s in output.suffixes):
        raise InputError(f"{output.option} {output.path}: cannot write this file type; "
                         f"give a name ending in {' or '.join(output.suffixes)}")


def _check_kind(option: str, path: Path, folder: bool) -> None:
    if folder and path.exists() and not path.is_dir():
        raise InputError(f"{option} {path} is an existing file; give a folder")
    if not folder and path.is_dir():
        raise InputError(f"{option} {path} is an existing folder; give a file name")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{option} {path}: {parent} is a file, not a folder")


def _same_file(a: Path, b: Path) -> bool:
    """Hard links and case-insensitive file systems: two spellings, one file."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _check_not_input(option: str, path: Path, inputs: Sequence[Path]) -> None:
    key = _key(path)
    for source in inputs:
        if key == source or _same_file(key, source):
            raise InputError(f"{option} {path} is an input of this command; refusing to overwrite "
                             "it: give another output name")
        if source.is_dir() and source in key.parents:
            raise InputError(f"{option} {path} is inside the input folder {source}; write the "
                             "output elsewhere")


def guard_outputs(outputs: Iterable[OutputFile | OutputFolder],
                  inputs: Iterable[str | os.PathLike[str] | None]) -> None:
    """Refuse (InputError naming the option) any output that would harm an input or fail late.

    Call it before reading or computing anything. ``inputs`` are the paths the command reads
    (files or folders); their sidecars are protected too.
    """
    protected = protected_inputs(inputs)
    for output in outputs:
        if isinstance(output, OutputFolder):
            _check_kind(output.option, output.path, folder=True)
            _check_not_input(output.option, output.path, [p for p in protected if p.is_dir()])
            for name in output.names:
                _check_kind(output.option, output.path / name, folder=False)
                _check_not_input(output.option, output.path / name, protected)
        else:
            _check_suffix(output)
            _check_kind(output.option, output.path, folder=False)
            _check_not_input(output.option, output.path, protected)
