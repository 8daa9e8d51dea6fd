"""Build manifests from the dataset layouts real users have.

* autoPET (TCIA FDG-PET-CT-Lesions converted to NIfTI): one folder per study holding
  ``SUV.nii.gz`` and ``SEG.nii.gz`` (binary lesion mask), possibly nested as
  ``<patient>/<study>/``; studies without ``SEG.nii.gz`` become unlabelled cases.
* nnU-Net raw datasets: ``dataset.json`` + ``imagesTr/<case>_<channel:04d><ending>`` +
  ``labelsTr/<case><ending>`` (and optionally ``imagesTs``/``labelsTs``), in both the v2
  (``channel_names``, ``labels`` name -> id) and v1 (``modality``, ``labels`` id -> name) styles.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from seganypet.data.manifest import CaseRecord
from seganypet.errors import InputError

__all__ = ["assign_splits", "import_autopet", "import_nnunet"]


def assign_splits(records: Sequence[CaseRecord], val_fraction: float = 0.1,
                  test_fraction: float = 0.0, seed: int = 0) -> list[CaseRecord]:
    """Reassign the ``split`` of labelled training cases at random (deterministic in ``seed``);
    records already in ``test``/``external`` or without a label keep their split."""
    if not 0 <= val_fraction + test_fraction <= 1:
        raise InputError("val_fraction + test_fraction must lie between 0 and 1")
    pool = [n for n, r in enumerate(records) if r.split == "train" and r.label is not None]
    order = np.random.default_rng(seed).permutation(len(pool))
    n_val, n_test = round(val_fraction * len(pool)), round(test_fraction * len(pool))
    split_of = {pool[i]: "val" for i in order[:n_val]}
    split_of.update({pool[i]: "test" for i in order[n_val:n_val + n_test]})
    return [replace(r, split=split_of.get(n, r.split)) for n, r in enumerate(records)]


def import_autopet(root: str | os.PathLike[str], tracer: str = "fdg", cohort: str = "autopet",
                   image_name: str = "SUV.nii.gz", label_name: str = "SEG.nii.gz") -> list[CaseRecord]:
    """One record per folder under ``root`` that holds ``image_name`` (case id = folder path
    relative to ``root`` with ``/`` replaced by ``_``); the label is the lesion mask (id 1)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"autoPET folder not found: {root}")
    images = sorted(root.rglob(image_name))
    if not images:
        raise InputError(f"no {image_name} found under {root}; expected <case>/{image_name}")
    records = []
    for image in images:
        case_dir = image.parent
        label = case_dir / label_name
        case_id = "_".join(case_dir.relative_to(root).parts) or root.name
        records.append(CaseRecord(case_id=case_id, image=image.resolve(),
                                  label=label.resolve() if label.exists() else None,
                                  label_names={1: "lesion"}, cohort=cohort, tracer=tracer,
                                  split="train" if label.exists() else "test", quality="HQ"))
    return records


def _read_dataset_json(root: Path) -> dict:
    path = root / "dataset.json"
    if not path.is_file():
        raise InputError(f"{root} has no dataset.json; is it an nnU-Net raw dataset folder?")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from exc


def _label_names(meta: dict) -> dict[int, str]:
    labels = meta.get("labels") or {}
    names: dict[int, str] = {}
    for key, value in labels.items():
        if isinstance(value, (list, tuple)):
            raise InputError("region-based nnU-Net labels (lists of ids) are not supported; "
                             "give each structure its own id")
        name, sid = (value, key) if str(key).lstrip("-").isdigit() else (key, value)  # v1 / v2
        if int(sid) != 0:
            names[int(sid)] = str(name)
    return names


def _pet_channel(meta: dict, pet_channel: int | None) -> int:
    channels = {int(k): str(v) for k, v in (meta.get("channel_names") or meta.get("modality") or
                                            {"0": "PET"}).items()}
    if pet_channel is not None:
        if pet_channel not in channels:
            raise InputError(f"channel {pet_channel} not in dataset.json channels {channels}")
        return pet_channel
    pet = [c for c, name in channels.items() if "pet" in name.lower() or "suv" in name.lower()]
    if len(pet) == 1:
        return pet[0]
    if len(channels) == 1:
        return next(iter(channels))
    raise InputError(f"cannot tell which channel is PET among {channels}; pass pet_channel")


def import_nnunet(root: str | os.PathLike[str], tracer: str = "fdg", cohort: str | None = None,
                  pet_channel: int | None = None) -> list[CaseRecord]:
    """Records for ``imagesTr`` (split ``train``) and ``imagesTs`` (split ``test``; labelled
    from ``labelsTs`` when present) of an nnU-Net raw dataset."""
    root = Path(root)
    meta = _read_dataset_json(root)
    names = _label_names(meta)
    channel = _pet_channel(meta, pet_channel)
    ending = str(meta.get("file_ending", ".nii.gz"))
    suffix = f"_{channel:04d}{ending}"
    records = []
    for images, labels, split in (("imagesTr", "labelsTr", "train"), ("imagesTs", "labelsTs", "test")):
        for image in sorted((root / images).glob(f"*{suffix}")):
            case_id = image.name[: -len(suffix)]
            label = root / labels / f"{case_id}{ending}"
            if split == "train" and not label.exists():
                raise InputError(f"{image} has no label {label}; nnU-Net training cases need one")
            records.append(CaseRecord(case_id=case_id, image=image.resolve(),
                                      label=label.resolve() if label.exists() else None,
                                      label_names=names, cohort=cohort or root.name,
                                      tracer=tracer, split=split, quality="HQ",
                                      meta={"nnunet_channel": channel}))
    if not records:
        raise InputError(f"no images ending in {suffix} under {root}/imagesTr or imagesTs")
    return records
