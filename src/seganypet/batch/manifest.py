"""The batch manifest: JSON lines, one case per line.

Required keys: ``case_id`` (unique; also the case's output folder name) and ``image`` (SUV
NIfTI file or DICOM PET folder). Optional: ``prompts`` (a click JSON for ``--task prompts``,
``seganypet segment --prompts`` layouts) and ``tracer``. Other keys (a full
``seganypet.data.manifest`` line, for example) are ignored, so a data manifest works as is.
Relative paths are relative to the manifest file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from seganypet.errors import InputError

__all__ = ["BatchCase", "read_batch_manifest"]

# A case id names a folder: letters, digits, dot, dash, underscore (no path separators).
_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class BatchCase:
    """One case of a cohort run (``index`` = its line order in the manifest, from 0)."""

    index: int
    case_id: str
    image: Path
    prompts: Path | None = None
    tracer: str = "fdg"


def _case(obj: object, base: Path, index: int, where: str) -> BatchCase:
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object")
    missing = [k for k in ("case_id", "image") if k not in obj]
    if missing:
        raise InputError(f"{where}: missing key(s) {missing}")
    case_id = str(obj["case_id"])
    if not _CASE_ID.match(case_id):
        raise InputError(f"{where}: case_id {case_id!r} must be letters, digits, '.', '-', '_'")
    prompts = obj.get("prompts")
    return BatchCase(index, case_id, (base / str(obj["image"])).resolve(),
                     None if prompts is None else (base / str(prompts)).resolve(),
                     str(obj.get("tracer", "fdg")))


def read_batch_manifest(path: str | os.PathLike[str]) -> list[BatchCase]:
    """The cases of a batch manifest, in file order.

    Raises:
        InputError: missing file, bad JSON, missing keys, duplicated or unsafe case ids.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"manifest not found: {path}")
    base = path.resolve().parent
    cases: list[BatchCase] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}, line {lineno}: not JSON ({exc.msg})") from None
        cases.append(_case(obj, base, len(cases), f"{path}, line {lineno}"))
    ids = [c.case_id for c in cases]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise InputError(f"{path}: duplicated case_id(s) {duplicated}")
    if not cases:
        raise InputError(f"{path}: the manifest holds no case")
    return cases
