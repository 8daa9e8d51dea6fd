"""Reading and writing scans and masks. The only place file formats are known.

Names other than the NIfTI pair resolve on first access (PEP 562), so that importing
``seganypet.io`` does not pull in pydicom, SimpleITK and highdicom.
"""

from __future__ import annotations

import importlib
from typing import Any

from seganypet.io.nifti import read_nifti, write_nifti

_LAZY = {
    "read_pet": "seganypet.io.read",
    "read_mask": "seganypet.io.read",
    "read_label_map": "seganypet.io.read",
    "write_image": "seganypet.io.write",
    "write_mask": "seganypet.io.labels",
    "write_label_map": "seganypet.io.labels",
    "write_dicom_seg": "seganypet.io.dicom_seg",
    "read_dicom_seg": "seganypet.io.dicom_seg",
}

__all__ = [
    "read_dicom_seg", "read_label_map", "read_mask", "read_nifti", "read_pet", "write_dicom_seg",
    "write_image", "write_label_map", "write_mask", "write_nifti",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'seganypet.io' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
