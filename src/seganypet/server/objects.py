"""Per-object summaries of a label map: voxels, bounding box and SUV statistics.

Statistics are computed on the object's bounding box padded by the SUVpeak sphere, so a click
costs time proportional to the object, not to the whole-body scan; the values are those of
:func:`seganypet.quantify.object_stats` on the full image (the padding keeps every sphere).
"""

from __future__ import annotations

import math

import numpy as np

from seganypet.client.patches import bbox
from seganypet.quantify import PEAK_RADIUS_MM, object_stats
from seganypet.volume import Volume

__all__ = ["object_summary"]


def _crop(image: Volume, box: list[list[int]]) -> tuple[tuple[slice, ...], Volume]:
    """The image on ``box`` padded by the SUVpeak radius (clipped to the image)."""
    pad = [math.ceil(PEAK_RADIUS_MM / s) + 1 for s in image.spacing]
    lo = [max(0, box[0][d] - pad[d]) for d in range(3)]
    hi = [min(image.shape[d], box[1][d] + 1 + pad[d]) for d in range(3)]
    slices = tuple(slice(a, b) for a, b in zip(lo, hi))
    shift = np.eye(4)
    shift[:3, 3] = lo
    return slices, Volume(image.array[slices], image.affine @ shift, image.unit)


def object_summary(image: Volume, labels: np.ndarray, label: int, name: str) -> dict:
    """``{"label", "name", "voxels", "bbox", "stats"}`` of object ``label`` of ``labels``.

    ``bbox`` is inclusive ``[[i0, j0, k0], [i1, j1, k1]]`` or None; ``stats`` holds
    ``volume_ml`` (MTV), ``suv_max``, ``suv_mean``, ``suv_peak`` and ``tlg``, or None when empty.
    """
    inside = labels == label
    box = bbox(inside)
    summary = {"label": int(label), "name": name, "voxels": 0, "bbox": box, "stats": None}
    if box is None:
        return summary
    slices, crop = _crop(image, box)
    row = object_stats(crop, inside[slices].astype(np.uint8), {1: name})[0]
    summary["voxels"] = row.voxel_count
    summary["stats"] = {"volume_ml": row.volume_ml, "suv_max": row.suv_max,
                        "suv_mean": row.suv_mean, "suv_peak": row.suv_peak, "tlg": row.tlg}
    return summary
