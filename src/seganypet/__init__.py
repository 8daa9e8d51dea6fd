"""seganypet: click-to-segment whole-body PET.

Public API (imported lazily so that ``import seganypet`` stays light)::

    from seganypet import Volume, read_pet, load_model, Session
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> module that exports it; resolved on first attribute access (PEP 562). I/O names go
# through seganypet.io, whose own lazy table knows their defining modules.
_PUBLIC = {
    "Volume": "seganypet.volume",
    "InputError": "seganypet.errors",
    "read_nifti": "seganypet.io",
    "write_nifti": "seganypet.io",
    "read_pet": "seganypet.io",
    "read_mask": "seganypet.io",
    "read_label_map": "seganypet.io",
    "write_image": "seganypet.io",
    "write_mask": "seganypet.io",
    "write_label_map": "seganypet.io",
    "write_dicom_seg": "seganypet.io",
    "read_dicom_seg": "seganypet.io",
    "load_model": "seganypet.model",
    "Session": "seganypet.session",
    "build_model": "seganypet.model",
    "object_stats": "seganypet.quantify",
    "lesion_table": "seganypet.quantify",
    "region_stats": "seganypet.quantify",
    "suv_peak": "seganypet.quantify",
    "liver_reference": "seganypet.quantify",
    "isocontour_from_seed": "seganypet.quantify",
}

__all__ = sorted(_PUBLIC)  # noqa: PLE0605 - the lazy table is the single list of names


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'seganypet' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
