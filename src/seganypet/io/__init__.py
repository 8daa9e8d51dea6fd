"""Reading and writing scans and masks. The only place file formats are known."""

from seganypet.io.nifti import read_nifti, write_nifti

__all__ = ["read_nifti", "write_nifti"]
