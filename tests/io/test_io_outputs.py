"""The output guard, the header checks and the atomic writer, as library calls."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from seganypet.errors import InputError
from seganypet.io.atomic import atomic_path
from seganypet.io.limits import MAX_VOXELS, check_header
from seganypet.io.outputs import IMAGE_SUFFIXES, OutputFile, OutputFolder, guard_outputs


def test_fresh_outputs_pass(tmp_path: Path) -> None:
    scan = tmp_path / "scan.nii.gz"
    scan.write_bytes(b"x")
    guard_outputs([OutputFile(tmp_path / "new" / "mask.nii.gz", "-o", IMAGE_SUFFIXES),
                   OutputFolder(tmp_path / "results", "-o", ("a.csv",))], [scan, None, "default"])


def test_an_input_reached_through_a_symlink_is_refused(tmp_path: Path) -> None:
    scan = tmp_path / "scan.nii.gz"
    scan.write_bytes(b"x")
    (tmp_path / "alias").symlink_to(tmp_path)
    with pytest.raises(InputError, match="is an input"):
        guard_outputs([OutputFile(tmp_path / "alias" / "scan.nii.gz", "-o")], [scan])


def test_the_sidecar_of_an_input_is_protected(tmp_path: Path) -> None:
    labels = tmp_path / "labels.nrrd"
    labels.write_bytes(b"x")
    (tmp_path / "labels.json").write_text("{}")
    with pytest.raises(InputError, match="is an input"):
        guard_outputs([OutputFile(tmp_path / "labels.json", "--json")], [labels])


def test_a_folder_output_checks_the_names_it_will_write(tmp_path: Path) -> None:
    manifest = tmp_path / "summary.md"
    manifest.write_text("{}")
    with pytest.raises(InputError, match="summary.md is an input"):
        guard_outputs([OutputFolder(tmp_path, "-o", ("results.csv", "summary.md"))], [manifest])


@pytest.mark.parametrize("name", ["mask.png", "mask", "mask.txt", ".nii.gz", "mask.mhd"])
def test_suffixes_we_cannot_write_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="cannot write this file type"):
        guard_outputs([OutputFile(tmp_path / name, "-o", IMAGE_SUFFIXES)], [])


def test_a_file_where_the_output_folder_would_go_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        guard_outputs([OutputFile(tmp_path / "file" / "mask.nii.gz", "-o")], [])


def test_header_checks_refuse_before_allocation() -> None:
    check_header("ok", (400, 400, 600), np.dtype(np.float32))
    with pytest.raises(InputError, match="limit"):
        check_header("bomb", (1024, 1024, 1024), np.dtype(np.uint8))
    assert 1024**3 > MAX_VOXELS
    with pytest.raises(InputError, match="empty axis"):
        check_header("empty", (10, 0, 10), np.dtype(np.float32))
    with pytest.raises(InputError, match="complex"):
        check_header("c", (2, 2, 2), np.dtype(np.complex128))
    with pytest.raises(InputError, match="3 values per voxel"):
        check_header("rgb", (2, 2, 2), np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1")]))


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_files_get_the_umask_mode(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        with atomic_path(tmp_path / "out.txt") as tmp:
            tmp.write_text("data")
    finally:
        os.umask(old)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == mode


def test_atomic_writer_leaves_nothing_on_error_and_refuses_a_folder(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "out.nii.gz") as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("writer failed")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "dir.nii.gz").mkdir()
    with pytest.raises(InputError, match="existing folder"), atomic_path(tmp_path / "dir.nii.gz"):
        pass
