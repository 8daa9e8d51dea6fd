"""Datasets: manifests, importers of real layouts, and synthetic whole-body PET phantoms.

Submodules are imported explicitly (``from seganypet.data.manifest import read_manifest``)
so that importing the package stays light.
"""

from __future__ import annotations

from seganypet.data.manifest import (
    CaseRecord,
    by_quality,
    by_split,
    by_tracer,
    filter_records,
    read_manifest,
    write_manifest,
)

__all__ = [
    "CaseRecord",
    "by_quality",
    "by_split",
    "by_tracer",
    "filter_records",
    "read_manifest",
    "write_manifest",
]
