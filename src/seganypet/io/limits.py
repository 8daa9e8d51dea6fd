"""Size and type checks on image headers, made BEFORE the voxel array is allocated.

A 2 MB gzip file can claim 1024^3 voxels; reading it would take gigabytes and minutes
before failing. The header is cheap, so the claim is checked first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from seganypet.volume import InvalidVolumeError

__all__ = ["MAX_PLAUSIBLE_SUV", "MAX_VOXELS", "check_header"]

# 2^29 voxels = 2 GiB as float32: a 512 x 512 x 2048 whole-body CT still fits, a claimed
# 1024^3 does not. Whole-body PET is ~200 x 200 x 600 (24 M voxels).
MAX_VOXELS = 2**29
# SUV values above this are implausible (bladder peaks are ~100); Bq/ml images reach 10^4+.
MAX_PLAUSIBLE_SUV = 1000.0


def check_header(source: str, shape: Sequence[int], dtype: np.dtype | None,
                 components: int = 1) -> None:
    """Refuse images that are too large, complex-valued, or colour/vector, by their header.

    Args:
        source: the file name shown in the message.
        shape: voxel counts per axis as the header states them.
        dtype: the stored element type (None when the reader does not say).
        components: values per voxel (3 for RGB).
    """
    if dtype is not None and dtype.fields is not None:
        components = len(dtype.fields)  # NIfTI RGB is a structured (R, G, B) dtype
    if components != 1:
        raise InvalidVolumeError(f"{source} holds colour or vector data ({components} values per "
                                 "voxel); a scalar 3D scan is required")
    if dtype is not None and dtype.kind == "c":
        raise InvalidVolumeError(f"{source} holds complex numbers ({dtype}); a real-valued scan is "
                                 "required")
    if dtype is not None and dtype.kind not in "biuf":
        raise InvalidVolumeError(f"{source} holds {dtype} values; a numeric scan is required")
    voxels = math.prod(int(n) for n in shape)
    if any(int(n) < 1 for n in shape):
        raise InvalidVolumeError(f"{source} has an empty axis (shape {tuple(shape)})")
    if voxels > MAX_VOXELS:
        raise InvalidVolumeError(f"{source} claims {' x '.join(str(int(n)) for n in shape)} = "
                                 f"{voxels:,} voxels, above the limit of {MAX_VOXELS:,}; refusing to "
                                 "read it (crop or resample the image first)")
