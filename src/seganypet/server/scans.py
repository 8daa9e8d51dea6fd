"""Reading the scan of a new session: a path under ``--root`` or an uploaded file.

Uploads are a NIfTI file (``.nii``/``.nii.gz``) or a ``.zip`` of one DICOM series; they are
stored in the session folder (a DICOM-SEG export needs the series files later) and read like
any other scan. Zip members are written only under their own folder (no ``..``, no absolute
names, no links) and their total unpacked size is bounded, so a zip bomb is refused too.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from seganypet.server.errors import ApiError
from seganypet.volume import Volume

__all__ = ["read_scan", "save_upload"]

_CHUNK = 1 << 20
# An unpacked DICOM zip may be this many times the upload limit (DICOM deflates ~2-4x).
_UNZIP_FACTOR = 8


def read_scan(path: Path) -> Volume:
    """The SUV volume of a file or DICOM folder (a bad scan is a 400 by InputError)."""
    from seganypet.errors import SeganypetError
    from seganypet.io.read import read_pet

    try:
        return read_pet(path)
    except SeganypetError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to parse a user's file is bad input
        raise ApiError(400, f"cannot read the scan: {type(exc).__name__}: {exc}") from None


def _upload_kind(filename: str) -> str:
    name = filename.lower()
    for suffix in (".nii.gz", ".nii", ".zip"):
        if name.endswith(suffix):
            return suffix
    raise ApiError(415, f"cannot open an upload named {filename!r}: send a .nii, .nii.gz or a "
                   ".zip of one DICOM series")


def _copy_limited(source: BinaryIO, target: Path, limit: int) -> None:
    """Copy ``source`` to ``target``, 413 as soon as more than ``limit`` bytes arrive."""
    size = 0
    with target.open("wb") as out:
        while chunk := source.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"the upload is larger than the server's limit of "
                               f"{limit / 2**20:.0f} MB (--max-upload-mb)")
            out.write(chunk)


def _unzip(archive: Path, target: Path, limit: int) -> None:
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.infolist() if not m.is_dir()]
            if sum(m.file_size for m in members) > limit:
                raise ApiError(413, "the zip unpacks to more than the server accepts")
            for member in members:
                parts = PurePosixPath(member.filename.replace("\\", "/")).parts
                if not parts or parts[0] == "/" or ".." in parts or ":" in parts[0]:
                    raise ApiError(400, f"zip member {member.filename!r} has an unsafe path")
                out = target.joinpath(*parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(member) as source, out.open("wb") as sink:
                    shutil.copyfileobj(source, sink, _CHUNK)
    except zipfile.BadZipFile as exc:
        raise ApiError(400, f"the upload is not a valid zip file ({exc})") from None


def save_upload(source: BinaryIO, filename: str, folder: Path, limit: int) -> Path:
    """Store an upload in ``folder``; returns the NIfTI file or the unpacked DICOM folder."""
    kind = _upload_kind(filename or "")
    folder.mkdir(parents=True, exist_ok=True)
    if kind != ".zip":
        target = folder / f"upload{kind}"
        _copy_limited(source, target, limit)
        return target
    archive = folder / "upload.zip"
    _copy_limited(source, archive, limit)
    dicom = folder / "dicom"
    _unzip(archive, dicom, limit * _UNZIP_FACTOR)
    archive.unlink()
    return dicom
