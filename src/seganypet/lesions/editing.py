"""Correcting lesion mode's answer with clicks, and "segment all similar".

:class:`LesionEditor` opens the automatic label map as an editable state on a
:class:`~seganypet.session.Session` of the same scan:

* a **negative** click in the hot half of a lesion (SUV >= half its maximum) removes that
  lesion (a false positive is one click); in its periphery it trims the connected voxels no
  hotter than the click (a spill into the surroundings, the lesion kept);
* a **positive** click outside every lesion asks the model (one new session object); its mask,
  limited to the connected uptake around the click, becomes a new lesion, or grows the lesions
  it touches (they merge into the lowest label);
* :meth:`LesionEditor.segment_similar` takes one example lesion and proposes every other hot
  spot of like uptake (SUVmax within a factor of the example's), each prompted once.

Every edit is undoable. ``editor.labels`` is always a label map on the scan's grid.
"""

from __future__ import annotations

import cc3d
import numpy as np
from scipy import ndimage

from seganypet.errors import InputError
from seganypet.lesions.hotspots import local_hot_region
from seganypet.volume import Volume

__all__ = ["LesionEditor", "lesion_name", "session_from_lesions"]

# The region a click may claim: uptake above 20 % of the way from the local background to the
# local peak, within a 12 cm box (the same guard as lesion mode's extent).
_EXTENT_FRACTION = 0.2
_BOX_MM = 60.0
# A trimming negative click removes lesion voxels up to 20 % hotter than the clicked one.
_TRIM_MARGIN = 1.2


def lesion_name(label: int) -> str:
    """The name of lesion ``label`` in lesion mode's outputs, sessions and the server."""
    return f"lesion_{int(label)}"


class LesionEditor:
    """Click corrections on a lesion label map.

    Args:
        model: the SegAnyPET model lesion mode used (or any other).
        image: the scan (SUV).
        labels: ``(I, J, K)`` lesion label map on the scan grid (0 = background).
        device: torch device of the model.
    """

    def __init__(self, model, image: Volume, labels: Volume | np.ndarray,
                 device: str = "cpu") -> None:
        from seganypet.session import Session

        array = labels.array if isinstance(labels, Volume) else np.asarray(labels)
        if array.shape != image.shape:
            raise InputError(f"lesion labels {array.shape} are not on the image grid {image.shape}")
        self.image = image
        self.session = Session(model, device=device, ranker=None)  # as lesion mode: the rule
        self.session.set_image(image)
        self._labels = np.asarray(array, dtype=np.uint16).copy()
        self._history: list[np.ndarray] = []

    @property
    def labels(self) -> Volume:
        """The current lesion label map (uint16 on the scan grid)."""
        return self.image.with_array(self._labels.copy(), unit="label")

    def undo(self) -> None:
        """Restore the label map before the last edit."""
        if not self._history:
            raise InputError("nothing to undo")
        self._labels = self._history.pop()

    def add_point(self, index: tuple[int, int, int], positive: bool = True) -> Volume:
        """Apply one corrective click at voxel ``(i, j, k)``; returns the new label map."""
        seed = tuple(round(float(v)) for v in index)
        if len(seed) != 3 or not self.image.contains_index(seed):
            raise InputError(f"click {tuple(index)} is outside the image {self.image.shape}")
        self._history.append(self._labels.copy())
        hit = int(self._labels[seed])
        if not positive:
            if hit:
                self._labels[self._negative_region(seed, hit)] = 0
            return self.labels
        if not hit:
            self._add_region(self._model_region(seed))
        return self.labels

    def segment_similar(self, example: int, factor: float = 2.0,
                        min_volume_ml: float = 0.3) -> list[int]:
        """Add every hot spot of like uptake to the example lesion; returns the new labels.

        Candidates are the connected regions of ``SUV >= the example's SUVmean`` (outside
        existing lesions) whose SUVmax lies within ``factor`` of the example's SUVmax; each
        is prompted at its maximum like a positive click.
        """
        values = np.asarray(self.image.array, dtype=np.float32)
        inside = self._labels == example
        if not inside.any():
            raise InputError(f"lesion {example} does not exist")
        peak, mean = float(values[inside].max()), float(values[inside].mean())
        free = (values >= mean) & (self._labels == 0)
        spots = cc3d.connected_components(free, connectivity=18)
        min_voxels = max(1, int(np.ceil(min_volume_ml / self.image.voxel_volume_ml)))
        spots = cc3d.dust(spots, threshold=min_voxels, connectivity=18)
        seeds = []
        for box_label, box in enumerate(ndimage.find_objects(spots), start=1):
            if box is None:
                continue
            local = np.where(spots[box] == box_label, values[box], -np.inf)
            top = float(local.max())
            if peak / factor <= top <= peak * factor:
                at = np.unravel_index(int(np.argmax(local)), local.shape)
                seeds.append((-top, tuple(int(a + s.start) for a, s in zip(at, box))))
        self._history.append(self._labels.copy())
        added = []
        for _, seed in sorted(seeds):
            if not self._labels[seed]:
                added.append(self._add_region(self._model_region(seed), merge=False))
        return [a for a in added if a]

    # ------------------------------------------------------------------ internals
    def _negative_region(self, seed: tuple[int, int, int], label: int) -> np.ndarray:
        """What a negative click in lesion ``label`` removes: the whole lesion when the click
        is in its hot half (SUV >= half its maximum: the lesion itself is rejected), else the
        lesion's voxels no hotter than the clicked one (× ``_TRIM_MARGIN``) connected to it
        (a spill into the surroundings is trimmed, the lesion kept)."""
        values = np.asarray(self.image.array, dtype=np.float32)
        lesion = self._labels == label
        clicked = float(values[seed])
        if clicked >= 0.5 * float(values[lesion].max()):
            return lesion
        parts = cc3d.connected_components(lesion & (values <= clicked * _TRIM_MARGIN),
                                          connectivity=18)
        return parts == parts[seed]

    def _model_region(self, seed: tuple[int, int, int]) -> np.ndarray:
        """The model's mask from a click at ``seed``, limited to the uptake around it."""
        self.session.new_object(f"click_{len(self._history)}")
        mask = self.session.add_point(seed).array > 0
        pad = int(np.ceil(_BOX_MM / min(self.image.spacing)))
        extent = local_hot_region(np.asarray(self.image.array, np.float32), seed,
                                  _EXTENT_FRACTION, 0.0, pad)
        region = mask & ndimage.binary_dilation(extent.full(self.image.shape))
        region[seed] = True  # the clicked voxel is the user's statement: it is lesion
        parts = cc3d.connected_components(region, connectivity=18)
        return parts == parts[seed]

    def _add_region(self, region: np.ndarray, merge: bool = True) -> int:
        """Paint ``region`` as a new lesion, or into the lesions it touches; returns the label."""
        touching = np.unique(self._labels[ndimage.binary_dilation(region)])
        touching = touching[touching > 0]
        if merge and touching.size:
            value = int(touching.min())
            self._labels[np.isin(self._labels, touching)] = value
        else:
            value = int(self._labels.max()) + 1
        free = region & (self._labels == 0)
        if not free.any():
            return 0
        self._labels[free] = value
        return value


def session_from_lesions(model, image: Volume, labels: Volume | np.ndarray,
                         device: str = "cpu"):
    """A plain :class:`~seganypet.session.Session` with one object per lesion (``lesion_n``),
    each prompted by its mask (``Session.add_mask``), for viewers that speak Session.

    The model re-segments from each mask prompt, so masks can differ slightly from
    ``labels``; :class:`LesionEditor` keeps the label map exactly.
    """
    from seganypet.session import Session

    array = labels.array if isinstance(labels, Volume) else np.asarray(labels)
    session = Session(model, device=device, ranker=None)
    session.set_image(image)
    for n, value in enumerate(v for v in np.unique(array) if v > 0):
        if n:
            session.new_object(lesion_name(value))
        else:
            session.rename(lesion_name(value))
        session.add_mask(array == value)
    return session
