"""Label maps and masks on an image's exact grid, with label names in a JSON sidecar.

``liver.nii.gz`` gets ``liver.json``: ``{"labels": {"1": "liver", "2": "spleen"}}`` (the same
id -> name mapping as the data manifest's ``label_names``). NIfTI is written with nibabel,
NRRD/MHA with SimpleITK; both keep the image's affine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from seganypet.io.atomic import atomic_path
from seganypet.io.write import write_image
from seganypet.volume import InvalidVolumeError, Volume

__all__ = ["label_dtype", "read_label_names", "sidecar_path", "write_label_map", "write_mask"]


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """``x.nii.gz`` / ``x.nrrd`` / ``x.mha`` -> ``x.json`` beside it."""
    path = Path(path)
    name = path.name
    for suffix in (".nii.gz", ".nii", ".nrrd", ".mha", ".nhdr", ".dcm"):
        if name.lower().endswith(suffix):
            return path.with_name(name[: -len(suffix)] + ".json")
    return path.with_name(path.stem + ".json")


def label_dtype(array: np.ndarray) -> type:
    """uint8 when every label fits, else uint16; refuses non-integer or out-of-range values."""
    values = np.asarray(array)
    if values.dtype == bool:
        return np.uint8
    if np.issubdtype(values.dtype, np.floating) and (
            not np.all(np.isfinite(values)) or not np.array_equal(values, np.round(values))):
        raise InvalidVolumeError("a label map must hold whole numbers (got fractional, NaN or Inf values)")
    if values.size and (values.min() < 0 or values.max() > np.iinfo(np.uint16).max):
        raise InvalidVolumeError(f"label values must lie in 0..65535 (got {values.min()}..{values.max()})")
    return np.uint8 if not values.size or values.max() <= 255 else np.uint16


def write_label_map(labels: Volume, path: str | os.PathLike[str],
                    names: Mapping[int, str] | None = None) -> Path:
    """Write an integer label map on its grid (uint8/uint16) plus the names sidecar, atomically.

    Args:
        labels: ``(I, J, K)`` integer (or bool) labels; 0 is background.
        path: ``.nii``/``.nii.gz`` (nibabel) or ``.nrrd``/``.mha`` (SimpleITK).
        names: label id -> name; ids missing from the map are still recorded.
    """
    path = Path(path)
    dtype = label_dtype(labels.array)
    typed = Volume(labels.array.astype(dtype), labels.affine, "label", dict(labels.meta))
    sidecar = {"labels": {str(int(k)): str(v) for k, v in sorted((names or {}).items())}}
    write_image(typed, path)
    with atomic_path(sidecar_path(path)) as tmp:
        tmp.write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return path


def write_mask(mask: Volume, path: str | os.PathLike[str], name: str = "object") -> Path:
    """Write a binary mask (any nonzero voxel is foreground) as uint8 0/1 with its name."""
    binary = mask.with_array((np.asarray(mask.array) != 0).astype(np.uint8), unit="label")
    return write_label_map(binary, path, {1: name})


def read_label_names(path: str | os.PathLike[str]) -> dict[int, str]:
    """Label names from the sidecar of ``path`` (empty when there is none)."""
    sidecar = sidecar_path(path)
    if not sidecar.exists():
        return {}
    try:
        labels = json.loads(sidecar.read_text(encoding="utf-8"))["labels"]
        return {int(k): str(v) for k, v in labels.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidVolumeError(f"{sidecar} is not a label-name sidecar ({exc}); expected "
                                 '{"labels": {"1": "name", ...}}') from exc
