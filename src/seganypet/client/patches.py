"""How changed parts of a label map travel over the API (numpy only; the server encodes,
the client decodes).

A *patch* is ``{"box": [[i0, j0, k0], [i1, j1, k1]], "shape": [di, dj, dk], "labels": B64}``:
the label map's values in the box ``i0 <= i <= i1`` (inclusive corners, like object bboxes),
as uint8 (uint16 little-endian when more than 255 objects) in C order (``k`` fastest), zlib
compressed and base64 encoded. Applying it is ``labels[i0:i1+1, j0:j1+1, k0:k1+1] = values``.

The same box form carries other maps (the suggestion's uncertainty map: uint8 under
``"values"``, see :func:`box_patch`); :func:`decode_patch` reads either key.
"""

from __future__ import annotations

import base64
import zlib

import numpy as np

__all__ = ["bbox", "box_patch", "changed_patch", "decode_patch"]


def bbox(mask: np.ndarray) -> list[list[int]] | None:
    """Inclusive voxel bounding box ``[[i0, j0, k0], [i1, j1, k1]]`` of a mask (None if empty)."""
    lo, hi = [], []
    for axis in range(mask.ndim):
        others = tuple(a for a in range(mask.ndim) if a != axis)
        hits = np.flatnonzero(mask.any(axis=others))
        if hits.size == 0:
            return None
        lo.append(int(hits[0]))
        hi.append(int(hits[-1]))
    return [lo, hi]


def changed_patch(before: np.ndarray, after: np.ndarray) -> dict | None:
    """The patch turning ``before`` into ``after`` (same shape), or None when equal."""
    box = bbox(before != after)
    if box is None:
        return None
    return box_patch(after, box)


def box_patch(array: np.ndarray, box: list[list[int]], key: str = "labels") -> dict:
    """The values of integer ``array`` in the inclusive ``box``, in the patch form (module
    docstring) under ``key``: uint8, or uint16 when ``array`` has wider items."""
    (i0, j0, k0), (i1, j1, k1) = box
    values = array[i0:i1 + 1, j0:j1 + 1, k0:k1 + 1]
    dtype = "<u2" if array.dtype.itemsize > 1 else "u1"
    raw = np.ascontiguousarray(values, dtype=dtype).tobytes()
    encoded = base64.b64encode(zlib.compress(raw, 1)).decode("ascii")
    return {"box": box, "shape": list(values.shape),
            "dtype": "uint16" if dtype == "<u2" else "uint8", key: encoded}


def decode_patch(patch: dict) -> tuple[tuple[slice, slice, slice], np.ndarray]:
    """``(slices, values)`` of a patch (label or ``"values"`` map): ``array[slices] = values``
    applies it."""
    (i0, j0, k0), (i1, j1, k1) = patch["box"]
    dtype = "<u2" if patch.get("dtype") == "uint16" else "u1"
    encoded = patch["labels"] if "labels" in patch else patch["values"]
    raw = zlib.decompress(base64.b64decode(encoded))
    values = np.frombuffer(raw, dtype=dtype).reshape(patch["shape"])
    return (slice(i0, i1 + 1), slice(j0, j1 + 1), slice(k0, k1 + 1)), values
