"""Timing of the quantification functions on a whole-body-sized synthetic scan.

Run: ``python benchmarks/bench_quantify.py`` (prints seconds per call; no assertions).
The grid (200 x 200 x 400 at 4 x 4 x 3 mm, 16 M voxels) and the 60 organ/lesion blocks mimic
a whole-body PET with a TotalSegmentator-style label map.
"""

from __future__ import annotations

import time

import numpy as np

from seganypet.quantify import isocontour_from_seed, lesion_table, liver_reference, object_stats
from seganypet.volume import Volume


def synthetic_whole_body(rng: np.random.Generator) -> tuple[Volume, np.ndarray]:
    shape = (200, 200, 400)
    values = rng.gamma(4.0, 0.25, size=shape).astype(np.float32)
    labels = np.zeros(shape, dtype=np.uint8)
    for label in range(1, 61):
        size = rng.integers(4, 30, size=3)
        start = [rng.integers(0, n - s) for n, s in zip(shape, size)]
        box = tuple(slice(a, a + s) for a, s in zip(start, size))
        labels[box] = label
        values[box] += rng.uniform(0.5, 8.0)
    return Volume(values, np.diag([4.0, 4.0, 3.0, 1.0]), "SUVbw"), labels


def timed(name: str, func) -> object:
    start = time.perf_counter()
    result = func()
    print(f"{name:<34} {time.perf_counter() - start:7.3f} s")
    return result


def main() -> None:
    image, labels = synthetic_whole_body(np.random.default_rng(0))
    print(f"image {image.shape}, {int(labels.max())} labels")
    rows = timed("object_stats (60 labels)", lambda: object_stats(image, labels))
    timed("lesion_table (18-connectivity)", lambda: lesion_table(image, labels))
    biggest = max(rows, key=lambda r: r.voxel_count)
    timed("liver_reference (largest label)", lambda: liver_reference(image, labels == biggest.label))
    timed("isocontour_from_seed (41 %)", lambda: isocontour_from_seed(image, biggest.max_index))


if __name__ == "__main__":
    main()
