"""Per-object and per-lesion-component SUV statistics (pure functions over Volumes).

Definitions (units follow the image, normally SUVbw; ECOSYSTEM.md §3.2):

* ``voxel_count`` voxels of the region; ``volume_ml`` = count × voxel volume. For a lesion this
  volume *is* its MTV (metabolic tumour volume); the total MTV (TMTV) is the sum over lesions.
* ``suv_max``, ``suv_mean``, ``suv_std`` over the region's voxels; the std is the population
  standard deviation (``ddof = 0``, as ``numpy.std``).
* ``suv_peak``: see :mod:`seganypet.quantify.peak` (1 cm³ sphere, centres inside the region).
* ``tlg`` (total lesion glycolysis) = ``suv_mean × volume_ml``; total TLG = sum over lesions.

Statistics of all regions are computed at once with ``numpy.bincount`` / ``scipy.ndimage``
labelled reductions; only SUVpeak loops over regions, each on its own bounding box.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import cc3d
import numpy as np
from scipy import ndimage

from seganypet.errors import InputError
from seganypet.quantify.masks import check_connectivity, labels_on_grid, mask_on_grid
from seganypet.quantify.peak import PEAK_RADIUS_MM, padded_box, peak_in_box, sphere_kernel
from seganypet.volume import Volume

__all__ = ["RegionStats", "lesion_table", "object_stats", "region_stats", "totals"]


@dataclass(frozen=True)
class RegionStats:
    """Statistics of one region (an object of a label map, or one connected component of it).

    ``component`` is 0 for a whole object and the connected-component id (1, 2, ...) for a
    lesion component. Indices are ``(i, j, k)`` voxel indices; ``centroid_mm`` is RAS mm.
    """

    label: int
    name: str
    component: int
    voxel_count: int
    volume_ml: float
    suv_max: float
    suv_mean: float
    suv_std: float
    suv_peak: float
    tlg: float
    max_index: tuple[int, int, int]
    peak_index: tuple[int, int, int]
    centroid_mm: tuple[float, float, float]

    def as_dict(self) -> dict[str, object]:
        """A flat JSON/CSV-friendly dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _region_row(
    image: Volume,
    regions: np.ndarray,
    region_id: int,
    box: tuple[slice, ...],
    kernel: np.ndarray,
    describe: tuple[int, str, int],
) -> RegionStats:
    """Statistics of voxels ``regions == region_id`` inside their bounding ``box``.

    Working inside the box keeps the cost proportional to the region, not to the image
    (``scipy.ndimage.maximum`` & co. sort the whole image for every call).
    """
    inside = regions[box] == region_id
    voxels = np.asarray(image.array[box], dtype=np.float64)[inside]
    positions = np.argwhere(inside)  # (N, 3) box indices, in C order like ``voxels``
    start = np.array([s.start for s in box])
    volume = voxels.size * image.voxel_volume_ml
    mean = float(voxels.mean())
    peak_box = padded_box(box, np.asarray(kernel.shape) // 2, regions.shape)
    peak = peak_in_box(np.asarray(image.array[peak_box], dtype=np.float64),
                       regions[peak_box] == region_id, kernel)
    label, name, component = describe
    return RegionStats(
        label=int(label), name=name, component=int(component),
        voxel_count=int(voxels.size), volume_ml=volume,
        suv_max=float(voxels.max()), suv_mean=mean,
        suv_std=float(voxels.std()),  # numpy's two-pass std: no E[x²] - E[x]² cancellation
        suv_peak=peak.value, tlg=mean * volume,
        max_index=tuple(int(v) for v in positions[int(np.argmax(voxels))] + start),  # type: ignore[arg-type]
        peak_index=tuple(int(p + s.start) for p, s in zip(peak.index, peak_box)),  # type: ignore[arg-type]
        centroid_mm=tuple(float(v) for v in image.index_to_world(positions.mean(axis=0) + start)),  # type: ignore[arg-type]
    )


def _region_rows(
    image: Volume,
    regions: np.ndarray,
    ids: np.ndarray,
    describe: Sequence[tuple[int, str, int]],
    radius_mm: float,
) -> list[RegionStats]:
    """Statistics of region ``ids[n]`` of ``regions``, tagged with ``describe[n]`` =
    ``(label, name, component)``."""
    if ids.size == 0:
        return []
    kernel = sphere_kernel(image.affine, radius_mm)
    boxes = ndimage.find_objects(regions, max_label=int(ids.max()))
    return [_region_row(image, regions, int(i), boxes[int(i) - 1], kernel, describe[n])
            for n, i in enumerate(ids)]


def _selected_ids(labels: np.ndarray, only: Sequence[int] | None) -> np.ndarray:
    """Non-zero label ids present in ``labels`` (restricted to ``only`` when given), sorted."""
    # bincount instead of np.unique: labels are small non-negative ints, and sorting a
    # whole-body image is slow
    present = np.flatnonzero(np.bincount(labels.ravel()))
    present = present[present > 0]
    if only is None:
        return present
    wanted = np.asarray(sorted({int(v) for v in only}), dtype=np.int64)
    return wanted[np.isin(wanted, present)]


def object_stats(
    image: Volume,
    labels: Volume | np.ndarray,
    names: Mapping[int, str] | None = None,
    only: Sequence[int] | None = None,
    radius_mm: float = PEAK_RADIUS_MM,
) -> list[RegionStats]:
    """Statistics of every object (non-zero label) of a label map, sorted by label.

    Args:
        image: SUV volume ``(I, J, K)``.
        labels: integer ``(I, J, K)`` label map on the image grid (0 = background).
        names: label id -> name; unnamed labels are called ``label_<id>``.
        only: restrict to these label ids (ids absent from the map are skipped).
        radius_mm: SUVpeak sphere radius.
    """
    label_array = labels_on_grid(image, labels).astype(np.int64, copy=False)
    ids = _selected_ids(label_array, only)
    names = dict(names or {})
    describe = [(int(i), names.get(int(i), f"label_{int(i)}"), 0) for i in ids]
    return _region_rows(image, label_array, ids, describe, radius_mm)


def region_stats(image: Volume, mask: Volume | np.ndarray, name: str = "object",
                 radius_mm: float = PEAK_RADIUS_MM) -> RegionStats:
    """Statistics of one binary mask (label 1). Raises InputError when the mask is empty."""
    mask_array = mask_on_grid(image, mask)
    if not mask_array.any():
        raise InputError(f"mask {name!r} is empty; nothing to quantify")
    return object_stats(image, mask_array.astype(np.int64), {1: name}, radius_mm=radius_mm)[0]


def lesion_table(
    image: Volume,
    labels: Volume | np.ndarray,
    names: Mapping[int, str] | None = None,
    only: Sequence[int] | None = None,
    connectivity: int = 18,
    radius_mm: float = PEAK_RADIUS_MM,
) -> list[RegionStats]:
    """Statistics of every connected component of every object (a lesion table).

    Components are found with ``cc3d`` (``connectivity`` 6, 18 or 26; 18 by default, i.e.
    voxels sharing a face or an edge); components of different labels never merge. Rows are
    sorted by label, then by component id (raster order of first voxel, numbered from 1
    across the whole map).

    Args:
        image: SUV volume ``(I, J, K)``.
        labels: integer label map or binary mask ``(I, J, K)`` on the image grid.
        names, only, radius_mm: as in :func:`object_stats`.
        connectivity: 3D neighbourhood used to split objects into components.
    """
    check_connectivity(connectivity)
    label_array = labels_on_grid(image, labels).astype(np.int64, copy=False)
    keep = _selected_ids(label_array, only)
    wanted = np.zeros(int(label_array.max()) + 1, dtype=bool)
    wanted[keep] = True
    label_array = np.where(wanted[label_array], label_array, 0)
    components, count = cc3d.connected_components(label_array, connectivity=connectivity,
                                                  return_N=True)
    components = components.astype(np.int64)
    ids = np.arange(1, count + 1)
    # Every voxel of a component carries the same label, so a scatter recovers it.
    component_label = np.zeros(int(components.max()) + 1, dtype=np.int64)
    component_label[components.ravel()] = label_array.ravel()
    names = dict(names or {})
    describe = [(int(component_label[c]), names.get(int(component_label[c]),
                 f"label_{int(component_label[c])}"), int(c)) for c in ids]
    order = sorted(range(len(ids)), key=lambda n: (describe[n][0], describe[n][2]))
    ids, describe = ids[order], [describe[n] for n in order]
    return _region_rows(image, components, ids, describe, radius_mm)


def totals(rows: Sequence[RegionStats]) -> dict[str, float]:
    """Cohort-style totals of a lesion table: ``{"count", "tmtv_ml", "total_tlg"}``."""
    return {
        "count": len(rows),
        "tmtv_ml": float(sum(r.volume_ml for r in rows)),
        "total_tlg": float(sum(r.tlg for r in rows)),
    }
