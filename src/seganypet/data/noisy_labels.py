"""Low-quality (LQ) label simulation for noisy-label training experiments.

Model-generated or hurried labels fail in typical ways; each is applied per structure with a
configurable probability: boundary shifts (a translated mask), erosion or dilation (under- or
over-segmentation), missing slices (a run of empty axial slices), merged neighbours (a
structure labelled as a touching one) and missed lesions (a lesion left as its host tissue).
Voxels a structure loses take the most common label around it, so the map stays complete.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from seganypet.data.organs import LESION_ID_START, ORGAN_IDS
from seganypet.volume import Volume

__all__ = ["LabelNoise", "corrupt_labels", "simulate_low_quality"]

_BALL = ndimage.generate_binary_structure(3, 1)


@dataclass(frozen=True)
class LabelNoise:
    """Per-structure probabilities and magnitudes of each corruption.

    Args:
        shift_probability, max_shift_mm: translate a structure by up to this much (each axis).
        erode_dilate_probability, max_erode_dilate_voxels: erode or dilate (50/50) by 1..n voxels.
        missing_slices_probability, max_missing_slices: blank a run of 1..n axial (k) slices.
        merge_probability: relabel a structure as a touching non-background neighbour.
        miss_lesion_probability: lesions (ids >= 101) that are dropped entirely.
        skip_ids: ids never corrupted (background tissue classes by default).
    """

    shift_probability: float = 0.3
    max_shift_mm: float = 6.0
    erode_dilate_probability: float = 0.5
    max_erode_dilate_voxels: int = 2
    missing_slices_probability: float = 0.2
    max_missing_slices: int = 3
    merge_probability: float = 0.05
    miss_lesion_probability: float = 0.15
    skip_ids: tuple[int, ...] = (ORGAN_IDS["muscle"], ORGAN_IDS["fat"])


def _padded_box(mask: np.ndarray, pad: int) -> tuple[slice, ...]:
    box = ndimage.find_objects(mask.astype(np.uint8))[0]
    return tuple(slice(max(s.start - pad, 0), min(s.stop + pad, n)) for s, n in zip(box, mask.shape))


def _surrounding_label(region: np.ndarray, mask: np.ndarray) -> int:
    """Most common label in the one-voxel ring around ``mask`` (0 if none)."""
    ring = ndimage.binary_dilation(mask, _BALL) & ~mask
    values = region[ring]
    return int(np.bincount(values).argmax()) if values.size else 0


def _shift(mask: np.ndarray, offset: np.ndarray) -> np.ndarray:
    out = np.zeros_like(mask)
    src = tuple(slice(max(-o, 0), n - max(o, 0)) for o, n in zip(offset, mask.shape))
    dst = tuple(slice(max(o, 0), n - max(-o, 0)) for o, n in zip(offset, mask.shape))
    out[dst] = mask[src]
    return out


def _corrupt_one(region: np.ndarray, sid: int, rng: np.random.Generator, noise: LabelNoise,
                 spacing: np.ndarray, events: list[dict]) -> None:
    """Apply the drawn corruptions to structure ``sid`` inside ``region`` (in place)."""
    mask = region == sid
    fill = _surrounding_label(region, mask)
    if sid >= LESION_ID_START and rng.random() < noise.miss_lesion_probability:
        region[mask] = fill
        events.append({"id": sid, "op": "missed_lesion"})
        return
    new = mask.copy()
    if rng.random() < noise.shift_probability:
        offset = np.rint(rng.uniform(-1, 1, 3) * noise.max_shift_mm / spacing).astype(int)
        new = _shift(new, offset)
        events.append({"id": sid, "op": "shift", "voxels": offset.tolist()})
    if rng.random() < noise.erode_dilate_probability:
        steps = int(rng.integers(1, noise.max_erode_dilate_voxels + 1))
        grow = bool(rng.random() < 0.5)
        op = ndimage.binary_dilation if grow else ndimage.binary_erosion
        new = op(new, _BALL, iterations=steps)
        events.append({"id": sid, "op": "dilate" if grow else "erode", "voxels": steps})
    if rng.random() < noise.missing_slices_probability:
        ks = np.flatnonzero(new.any(axis=(0, 1)))
        if ks.size:
            count = int(rng.integers(1, noise.max_missing_slices + 1))
            start = int(rng.choice(ks))
            new[:, :, start:start + count] = False
            events.append({"id": sid, "op": "missing_slices", "k": [start, start + count]})
    target = sid
    if rng.random() < noise.merge_probability:
        ring = ndimage.binary_dilation(mask, _BALL) & ~mask
        neighbours = sorted({int(v) for v in np.unique(region[ring])} - {0, sid, *noise.skip_ids})
        if neighbours:
            target = neighbours[int(rng.integers(len(neighbours)))]
            events.append({"id": sid, "op": "merged_into", "target": target})
    region[mask & ~new] = fill
    region[new] = target


def corrupt_labels(labels: np.ndarray, rng: np.random.Generator, noise: LabelNoise = LabelNoise(),
                   spacing_mm: tuple[float, float, float] = (1.0, 1.0, 1.0)
                   ) -> tuple[np.ndarray, list[dict]]:
    """LQ copy of an integer label map ``(I, J, K)`` and the list of corruptions applied."""
    out = np.array(labels, copy=True)
    spacing = np.asarray(spacing_mm, dtype=float)
    pad = int(np.ceil(noise.max_shift_mm / spacing.min())) + noise.max_erode_dilate_voxels + 1
    events: list[dict] = []
    for sid in (int(v) for v in np.flatnonzero(np.bincount(out.ravel()))):
        if sid == 0 or sid in noise.skip_ids:
            continue
        mask = out == sid
        if not mask.any():  # already merged into another structure
            continue
        box = _padded_box(mask, pad)
        region = out[box]  # a view: edits land in ``out``
        _corrupt_one(region, sid, rng, noise, spacing, events)
    return out, events


def simulate_low_quality(label: Volume, rng: np.random.Generator,
                         noise: LabelNoise = LabelNoise()) -> tuple[Volume, list[dict]]:
    """``corrupt_labels`` on a label Volume (its spacing turns mm into voxels)."""
    array, events = corrupt_labels(label.array, rng, noise, label.spacing)
    return label.with_array(array), events
