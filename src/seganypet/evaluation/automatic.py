"""The automatic supervised baseline as a protocol segmenter (it ignores refinement clicks).

A task-specific network (:mod:`seganypet.baseline`, MONAI SegResNet) segments the whole
scan once; the protocol's target then reads its answer:

* an organ target -> the network's mask of that organ's class (as TotalSegmentator would
  deliver it: no click is needed, and none changes it);
* a lesion target -> the 18-connected component of the predicted lesion class that contains
  the user's first click (an automatic lesion segmenter finds lesions by itself; the click only
  says *which* lesion is being scored). A first click on a voxel the network did not call
  lesion gives an empty mask: the lesion was missed.

Further clicks change nothing, so the baseline's DSC is flat over clicks by construction.
Inference: the scan is reoriented to the closest RAS axes, resampled to the training spacing,
``log1p`` SUV as in training, MONAI ``sliding_window_inference`` (Gaussian-weighted, 25 %
overlap, bf16 autocast), argmax, and the class map is brought back to the original grid by
nearest-neighbour resampling and the inverse reorientation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cc3d
import numpy as np
import torch
import torch.nn.functional as F
from monai.inferers import sliding_window_inference

from seganypet.baseline.classes import LESION_CLASS_NAME
from seganypet.baseline.network import SupervisedModel, load_supervised
from seganypet.data.organs import is_lesion_name
from seganypet.errors import InputError
from seganypet.model.precision import bf16_is_fast
from seganypet.orientation import from_ras, ras_spacing, to_ras
from seganypet.preprocess import normalize_intensity
from seganypet.volume import Volume

__all__ = ["AutomaticSegmenter", "automatic_factory", "predict_classes"]

_CONNECTIVITY = 18


@torch.no_grad()
def predict_classes(model: SupervisedModel, image: Volume) -> np.ndarray:
    """Class index per voxel of ``image`` ``(I, J, K)`` uint8 (see ``model.class_names``)."""
    config = model.config
    ras = to_ras(image.grid, np.asarray(image.array, np.float32))
    spacing = ras_spacing(image.grid)
    shape = tuple(max(1, round(n * s / config.spacing_mm)) for n, s in zip(ras.shape, spacing))
    volume = torch.from_numpy(np.ascontiguousarray(ras))[None, None]
    work = F.interpolate(volume, size=shape, mode="trilinear", align_corners=False)
    work = torch.from_numpy(normalize_intensity(work[0, 0].numpy(), config.intensity))[None, None]
    with torch.autocast("cpu", dtype=torch.bfloat16,
                        enabled=config.amp and bf16_is_fast("cpu")):
        logits = sliding_window_inference(work, (config.patch_size,) * 3, 1, model.network,
                                          overlap=0.25, mode="gaussian", padding_mode="constant")
    classes = logits.float().argmax(1, keepdim=True).to(torch.uint8)
    back = F.interpolate(classes.float(), size=ras.shape, mode="nearest")[0, 0].numpy()
    return from_ras(image.grid, back.astype(np.uint8))


class AutomaticSegmenter:
    """A :class:`~seganypet.evaluation.protocol.Segmenter` over a whole-scan class map.

    Args:
        classes_of: ``image -> (I, J, K) uint8`` class map (cached by the factory).
        class_names: class names by index, as ``SupervisedModel.class_names``.
    """

    def __init__(self, classes_of: Callable[[Volume], np.ndarray],
                 class_names: tuple[str, ...]) -> None:
        self._classes_of = classes_of
        self._class_names = class_names
        self._image: Volume | None = None
        self._target_class: int | None = None
        self._mask: np.ndarray | None = None

    def set_image(self, volume: Volume) -> None:
        self._image = volume
        self._target_class = None
        self._mask = np.zeros(volume.shape, dtype=bool)

    def set_target(self, name: str) -> None:
        """Which label is being segmented: a lesion name (``lesion_3``, a tumour ``GTV``, see
        :func:`~seganypet.data.organs.is_lesion_name`) maps to the lesion class, the network's
        only class for abnormal uptake; an organ the network learned to its class; an organ it
        never learned to background (an empty answer)."""
        key = LESION_CLASS_NAME if is_lesion_name(name) else name
        names = self._class_names
        self._target_class = names.index(key) if key in names[1:] else 0

    def add_point(self, index: tuple[int, int, int], positive: bool = True) -> Volume:
        """The first positive click picks the answer; later clicks leave it unchanged."""
        if self._image is None or self._mask is None:
            raise InputError("no image: call set_image(volume) before adding clicks")
        seed = tuple(round(float(v)) for v in index)
        if not self._image.contains_index(seed):
            raise InputError(f"click {seed} is outside the image {self._image.shape}")
        if positive and not self._mask.any():
            self._mask = self._answer(self._classes_of(self._image), seed)
        return self.mask

    def _answer(self, classes: np.ndarray, seed: tuple[int, int, int]) -> np.ndarray:
        wanted = self._target_class if self._target_class is not None else int(classes[seed])
        if wanted == 0:
            return np.zeros(classes.shape, dtype=bool)
        region = classes == wanted
        if self._class_names[wanted] != LESION_CLASS_NAME:
            return region
        if not region[seed]:
            return np.zeros(classes.shape, dtype=bool)  # the network missed this lesion
        components = cc3d.connected_components(region, connectivity=_CONNECTIVITY)
        return components == components[seed]

    @property
    def mask(self) -> Volume:
        if self._image is None or self._mask is None:
            raise InputError("no image: call set_image(volume) before reading the mask")
        return self._image.with_array(self._mask.astype(np.uint8), unit="mask")

    def reset(self) -> None:
        if self._image is not None:
            self._mask = np.zeros(self._image.shape, dtype=bool)


def automatic_factory(path: str | Path) -> Callable[[], AutomaticSegmenter]:
    """Load a baseline once; segmenters share one whole-scan prediction per image (the
    protocol makes a fresh segmenter per target of the same scan)."""
    model = load_supervised(path)
    cache: dict[str, object] = {}

    def classes_of(image: Volume) -> np.ndarray:
        if cache.get("image") is not image:  # identity: the runner reads each case once
            cache["image"], cache["classes"] = image, predict_classes(model, image)
        return cache["classes"]  # type: ignore[return-value]

    return lambda: AutomaticSegmenter(classes_of, model.class_names)
