"""Model-free segmenters that run through the same protocol as the model.

* ``threshold41``: the EANM 41 %-of-SUVmax isocontour grown from a click;
* ``suv2.5``: the connected component of SUV >= 2.5 containing a click.

Both reuse :mod:`seganypet.quantify.delineation`. Refinement, so that a baseline gets the same
clicks as the model: a positive click adds the region delineated from it (union); a negative
click removes the mask component (18-connected) that contains it. A click where the rule
refuses to delineate (e.g. a voxel below SUV 2.5) leaves the mask unchanged, as the tool would
for a clinician.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

import cc3d
import numpy as np

from seganypet.errors import InputError
from seganypet.quantify.delineation import isocontour_from_seed, threshold_from_seed
from seganypet.volume import Volume

__all__ = ["BASELINES", "DelineationSegmenter", "make_baseline"]

log = logging.getLogger(__name__)

# Delineation rule: (SUV image, seed voxel index) -> region Volume (uint8 0/1, image grid).
Delineate = Callable[[Volume, tuple[int, int, int]], Volume]
_CONNECTIVITY = 18


class DelineationSegmenter:
    """A :class:`~seganypet.evaluation.protocol.Segmenter` built on a seeded delineation rule.

    Args:
        delineate: ``(image, seed) -> mask Volume``; raising ``InputError`` means "no region".
    """

    def __init__(self, delineate: Delineate) -> None:
        self._delineate = delineate
        self._image: Volume | None = None
        self._mask: np.ndarray | None = None  # (I, J, K) bool

    def set_image(self, volume: Volume) -> None:
        self._image = volume
        self._mask = np.zeros(volume.shape, dtype=bool)

    def _require_image(self) -> tuple[Volume, np.ndarray]:
        if self._image is None or self._mask is None:
            raise InputError("no image: call set_image(volume) before adding clicks")
        return self._image, self._mask

    def add_point(self, index: tuple[int, int, int], positive: bool = True) -> Volume:
        """Add a click at voxel ``(i, j, k)``; returns the updated mask."""
        image, mask = self._require_image()
        seed = tuple(round(float(v)) for v in index)
        if not image.contains_index(seed):
            raise InputError(f"click {seed} is outside the image {image.shape}")
        if positive:
            try:
                region = self._delineate(image, seed).array != 0  # type: ignore[arg-type]
            except InputError as exc:  # the rule refuses this seed: nothing is added
                log.debug("no region from click %s: %s", seed, exc)
            else:
                self._mask = mask | region
        elif mask[seed]:
            components = cc3d.connected_components(mask, connectivity=_CONNECTIVITY)
            self._mask = mask & (components != components[seed])
        return self.mask

    @property
    def mask(self) -> Volume:
        """The current mask, uint8 0/1 on the image grid."""
        image, mask = self._require_image()
        return image.with_array(mask.astype(np.uint8), unit="mask")

    def reset(self) -> None:
        image, _ = self._require_image()
        self._mask = np.zeros(image.shape, dtype=bool)


def _isocontour(image: Volume, seed: tuple[int, int, int], fraction: float) -> Volume:
    return isocontour_from_seed(image, seed, fraction=fraction).mask


def _fixed_threshold(image: Volume, seed: tuple[int, int, int], threshold: float) -> Volume:
    return threshold_from_seed(image, seed, threshold=threshold).mask


# name -> delineation rule, the values of ``seganypet evaluate --baseline``.
BASELINES: dict[str, Delineate] = {
    "threshold41": partial(_isocontour, fraction=0.41),
    "suv2.5": partial(_fixed_threshold, threshold=2.5),
}


def make_baseline(name: str) -> Callable[[], DelineationSegmenter]:
    """A segmenter factory for the named baseline (``threshold41`` or ``suv2.5``)."""
    if name not in BASELINES:
        raise InputError(f"unknown baseline {name!r}; choose one of {sorted(BASELINES)}")
    return partial(DelineationSegmenter, BASELINES[name])
