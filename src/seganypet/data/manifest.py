"""Dataset manifests: JSON lines, one case per line (the only thing training/evaluation read).

Each line is a JSON object with the keys ``case_id``, ``image``, ``label``, ``label_names``
(``{"1": "liver", ...}``), ``cohort``, ``tracer`` (``"fdg"``, ``"psma"``, ...), ``split``
(``"train" | "val" | "test" | "external"``) and ``quality`` (``"HQ" | "LQ"``), plus optional
``targets`` (label ids to use) and ``meta`` (free dict). Relative paths are relative to the
folder of the manifest file. Blank lines and lines starting with ``#`` are ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seganypet.atomic import atomic_path
from seganypet.errors import InputError

__all__ = [
    "QUALITIES",
    "SPLITS",
    "CaseRecord",
    "by_quality",
    "by_split",
    "by_tracer",
    "filter_records",
    "read_manifest",
    "write_manifest",
]

SPLITS = ("train", "val", "test", "external")
QUALITIES = ("HQ", "LQ")
_REQUIRED = ("case_id", "image", "label", "label_names", "cohort", "tracer", "split", "quality")
_KNOWN = set(_REQUIRED) | {"targets", "meta"}


@dataclass(frozen=True)
class CaseRecord:
    """One case of a dataset.

    Args:
        case_id: unique name of the case within the manifest.
        image: path of the SUV image (NIfTI); absolute once read from a manifest.
        label: path of the integer label map on the image grid, or None for unlabelled cases.
        label_names: label id -> name, e.g. ``{1: "liver", 101: "lesion_1"}``.
        cohort: data source, e.g. ``"autopet"``, ``"phantom-realistic"``.
        tracer: lower-case tracer name, e.g. ``"fdg"``, ``"psma"``.
        split: one of ``SPLITS``.
        quality: ``"HQ"`` (expert labels) or ``"LQ"`` (model-generated / noisy labels).
        targets: label ids to train/evaluate on; None means every id in ``label_names``.
        meta: free-form extra information (JSON-serialisable).
    """

    case_id: str
    image: Path
    label: Path | None
    label_names: dict[int, str]
    cohort: str = ""
    tracer: str = "fdg"
    split: str = "train"
    quality: str = "HQ"
    targets: tuple[int, ...] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not str(self.case_id):
            raise InputError("case_id must be a non-empty string")
        if self.split not in SPLITS:
            raise InputError(f"case {self.case_id!r}: split {self.split!r} is not one of {SPLITS}")
        if self.quality not in QUALITIES:
            raise InputError(
                f"case {self.case_id!r}: quality {self.quality!r} is not one of {QUALITIES}"
            )
        object.__setattr__(self, "image", Path(self.image))
        object.__setattr__(self, "label", None if self.label is None else Path(self.label))
        object.__setattr__(self, "label_names", _int_keys(self.label_names, self.case_id))
        object.__setattr__(self, "tracer", str(self.tracer).lower())
        if self.targets is not None:
            object.__setattr__(self, "targets", tuple(int(t) for t in self.targets))

    @property
    def target_ids(self) -> tuple[int, ...]:
        """The label ids to use: ``targets`` if given, else every named id, sorted."""
        return self.targets if self.targets is not None else tuple(sorted(self.label_names))


def _int_keys(names: Mapping[Any, Any], case_id: str) -> dict[int, str]:
    try:
        return {int(k): str(v) for k, v in dict(names).items()}
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"case {case_id!r}: label_names must map integer ids to names, e.g. {{\"1\": \"liver\"}}"
        ) from exc


def _record_from_json(obj: Any, base: Path) -> CaseRecord:
    if not isinstance(obj, dict):
        raise InputError("expected a JSON object")
    missing = [k for k in _REQUIRED if k not in obj]
    if missing:
        raise InputError(f"missing key(s) {missing}")
    unknown = sorted(set(obj) - _KNOWN)
    if unknown:
        raise InputError(f"unknown key(s) {unknown}; allowed: {sorted(_KNOWN)}")
    label = obj["label"]
    return CaseRecord(
        case_id=str(obj["case_id"]),
        image=(base / obj["image"]).resolve(),
        label=None if label is None else (base / label).resolve(),
        label_names=obj["label_names"],
        cohort=str(obj["cohort"]),
        tracer=str(obj["tracer"]),
        split=str(obj["split"]),
        quality=str(obj["quality"]),
        targets=obj.get("targets"),
        meta=dict(obj.get("meta") or {}),
    )


def read_manifest(path: str | os.PathLike[str]) -> list[CaseRecord]:
    """Read a JSON-lines manifest; relative paths are resolved against the manifest's folder.

    Raises:
        InputError: on a malformed line (the message names the file and line number) or a
            duplicated ``case_id``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"manifest not found: {path}")
    base = path.resolve().parent
    records: list[CaseRecord] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            record = _record_from_json(json.loads(line), base)
        except (json.JSONDecodeError, InputError, TypeError, ValueError) as exc:
            raise InputError(f"{path}, line {lineno}: {exc}") from exc
        if record.case_id in seen:
            raise InputError(
                f"{path}, line {lineno}: case_id {record.case_id!r} already used on line "
                f"{seen[record.case_id]}; case ids must be unique"
            )
        seen[record.case_id] = lineno
        records.append(record)
    return records


def _relative(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when possible (portable manifests), else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return Path(os.path.relpath(absolute, base)).as_posix()
    except ValueError:  # different drives on Windows
        return absolute.as_posix()


def _record_to_json(record: CaseRecord, base: Path) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "case_id": record.case_id,
        "image": _relative(record.image, base),
        "label": None if record.label is None else _relative(record.label, base),
        "label_names": {str(k): v for k, v in sorted(record.label_names.items())},
        "cohort": record.cohort,
        "tracer": record.tracer,
        "split": record.split,
        "quality": record.quality,
    }
    if record.targets is not None:
        obj["targets"] = list(record.targets)
    if record.meta:
        obj["meta"] = record.meta
    return obj


def write_manifest(records: Iterable[CaseRecord], path: str | os.PathLike[str]) -> Path:
    """Write records as JSON lines, atomically; paths are stored relative to the manifest.

    Relative paths in ``records`` are taken relative to the current working directory.
    """
    path = Path(path)
    base = Path(os.path.abspath(path)).parent
    records = list(records)
    ids = [r.case_id for r in records]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise InputError(f"duplicated case_id(s) {duplicated}; case ids must be unique")
    lines = [json.dumps(_record_to_json(r, base), sort_keys=False) for r in records]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _as_set(value: str | Collection[str]) -> set[str]:
    return {value} if isinstance(value, str) else set(value)


def filter_records(
    records: Iterable[CaseRecord],
    *,
    split: str | Collection[str] | None = None,
    quality: str | Collection[str] | None = None,
    tracer: str | Collection[str] | None = None,
    cohort: str | Collection[str] | None = None,
) -> list[CaseRecord]:
    """Records matching every given criterion (each a value or a collection of values)."""
    criteria = {"split": split, "quality": quality, "tracer": tracer, "cohort": cohort}
    wanted = {k: _as_set(v) for k, v in criteria.items() if v is not None}
    if "tracer" in wanted:
        wanted["tracer"] = {t.lower() for t in wanted["tracer"]}
    return [r for r in records if all(getattr(r, k) in v for k, v in wanted.items())]


def by_split(records: Iterable[CaseRecord], split: str | Collection[str]) -> list[CaseRecord]:
    return filter_records(records, split=split)


def by_quality(records: Iterable[CaseRecord], quality: str | Collection[str]) -> list[CaseRecord]:
    return filter_records(records, quality=quality)


def by_tracer(records: Iterable[CaseRecord], tracer: str | Collection[str]) -> list[CaseRecord]:
    return filter_records(records, tracer=tracer)
