"""Datasets: manifests, importers of real layouts, and synthetic whole-body PET phantoms.

Submodules are imported explicitly (``from seganypet.data.manifest import read_manifest``)
so that importing the package stays light.
"""

__all__: list[str] = []
