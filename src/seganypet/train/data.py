"""Training patches: world-aligned cubes around a target, exactly as the session cuts them.

A training sample is built with the inference functions of :mod:`seganypet.preprocess`
(``patch_grid_around`` + ``sample_volume`` + ``normalize_intensity``), so the model sees the
same geometry (RAS-aligned cube of ``image_size`` voxels at the preset's spacing) and the same
intensities in training as in the session. The session centres the patch on the first click;
here the first click is an *anchor* voxel of the target (uniform, or the distance-transform
centre), the patch is centred on it and, with probability ``jitter_prob``, shifted by up to
``center_jitter_vox`` voxels so the model also meets off-centre targets (sliding windows, later
re-centring). Random flips on all three axes follow upstream (spec §1c).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from seganypet.data.organs import is_lesion_name
from seganypet.errors import InputError
from seganypet.mask_centre import distance_center
from seganypet.model.config import ModelConfig
from seganypet.preprocess import normalize_intensity, patch_grid_around, sample_volume
from seganypet.train.config import TrainConfig
from seganypet.train.deformation import random_displacement, warp_patch
from seganypet.volume import Volume

__all__ = [
    "LabeledCase",
    "PatchBatch",
    "PatchSample",
    "PatchSpec",
    "choose_target",
    "collate",
    "extract_patch",
    "host_organ",
    "patch_spec",
]

@dataclass(frozen=True, eq=False)
class LabeledCase:
    """One scan with its label map, in memory.

    ``image`` is SUV on its own grid; ``label`` is an integer map on the same grid whose ids are
    named in ``label_names``; ``quality`` is ``"HQ"`` or ``"LQ"`` (manifest column).
    """

    case_id: str
    image: Volume
    label: Volume
    label_names: dict[int, str]
    quality: str = "HQ"
    tracer: str = "fdg"
    target_ids: tuple[int, ...] | None = None

    def usable_targets(self, kinds: str) -> list[int]:
        """Label ids present in the map and allowed by ``kinds`` (all / organs / lesions)."""
        ids = self.target_ids if self.target_ids is not None else tuple(sorted(self.label_names))
        present = set(np.unique(self.label.array).tolist())
        out = []
        for label_id in ids:
            if label_id == 0 or label_id not in present:
                continue
            lesion = is_lesion_name(self.label_names.get(label_id, ""))
            if kinds == "all" or (kinds == "lesions") == lesion:
                out.append(int(label_id))
        return out


@dataclass(frozen=True)
class PatchSpec:
    """Patch geometry and augmentation for one model preset."""

    size: int
    spacing_mm: float
    intensity: str
    center_jitter_vox: int = 12
    jitter_prob: float = 0.3
    center_click_prob: float = 0.5
    flip: bool = True
    elastic_vox: float = 0.0  # std of the control-point displacement, patch voxels (0 = off)
    elastic_control_points: int = 5
    elastic_prob: float = 0.0


def patch_spec(config: TrainConfig, model_config: ModelConfig) -> PatchSpec:
    """The patch geometry of a model preset with the run's augmentation settings."""
    spacing = model_config.spacing_mm
    if len(set(spacing)) != 1:
        raise InputError(f"training needs an isotropic preset spacing, got {spacing}")
    return PatchSpec(size=model_config.image_size, spacing_mm=float(spacing[0]),
                     intensity=model_config.intensity,
                     center_jitter_vox=config.center_jitter_vox,
                     jitter_prob=config.center_jitter_prob,
                     center_click_prob=config.center_click_prob, flip=config.flip,
                     elastic_vox=config.elastic_mm / float(spacing[0]),
                     elastic_control_points=config.elastic_control_points,
                     elastic_prob=config.elastic_prob)


@dataclass(frozen=True, eq=False)
class PatchSample:
    """One training patch: ``image`` and ``target`` ``(S, S, S)`` float32, first click ``(3,)``;
    ``host`` ``(S, S, S)`` float32 = host organ ∪ lesion for a lesion target inside (or
    touching) an organ, when asked for (``extract_patch(host_names=...)``), else None."""

    image: np.ndarray
    target: np.ndarray
    first_click: np.ndarray
    low_quality: bool
    target_name: str
    host: np.ndarray | None = None


def choose_target(case: LabeledCase, kinds: str, lesion_fraction: float,
                  rng: np.random.Generator, names: tuple[str, ...] | None = None) -> int | None:
    """A label id of ``case``: lesions with probability ``lesion_fraction`` when both exist.

    ``names`` restricts organs to these label names (lesions are always allowed by it).
    """
    ids = case.usable_targets(kinds)
    if names is not None:
        ids = [i for i in ids if is_lesion_name(case.label_names.get(i, ""))
               or case.label_names.get(i) in names]
    if not ids:
        return None
    lesions = [i for i in ids if is_lesion_name(case.label_names.get(i, ""))]
    organs = [i for i in ids if i not in lesions]
    pool = ids
    if lesions and organs:
        pool = lesions if rng.random() < lesion_fraction else organs
    return int(pool[int(rng.integers(len(pool)))])


def _anchor(mask: np.ndarray, rng: np.random.Generator, center_prob: float,
            spacing: tuple[float, float, float]) -> np.ndarray:
    """The first-click voxel on the case grid: target centre or a uniform target voxel."""
    if rng.random() < center_prob:
        return np.asarray(distance_center(mask, spacing), np.float64)
    flat = np.flatnonzero(mask)
    return np.asarray(np.unravel_index(flat[int(rng.integers(flat.size))], mask.shape), np.float64)


# A lesion's host: the organ holding at least this share of the lesion's outer shell.
_HOST_SHELL_SHARE = 0.3


def host_organ(case: LabeledCase, mask: np.ndarray, names: tuple[str, ...]) -> int | None:
    """The organ of ``names`` that a lesion ``mask`` (case grid) sits in or against: the most
    frequent organ label of its one-voxel outer shell, if it holds ``_HOST_SHELL_SHARE`` of it."""
    where = np.argwhere(mask)
    lo, hi = np.maximum(where.min(0) - 1, 0), np.minimum(where.max(0) + 2, mask.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    shell = ndimage.binary_dilation(mask[box]) & ~mask[box]
    around = case.label.array[box][shell]
    organs = [int(v) for v in np.unique(around) if v and not is_lesion_name(
        case.label_names.get(int(v), "")) and case.label_names.get(int(v)) in names]
    if not organs:
        return None
    counts = [int((around == v).sum()) for v in organs]
    best = int(np.argmax(counts))
    return organs[best] if counts[best] >= _HOST_SHELL_SHARE * around.size else None


def extract_patch(case: LabeledCase, label_id: int, spec: PatchSpec,
                  rng: np.random.Generator,
                  host_names: tuple[str, ...] | None = None) -> PatchSample | None:
    """Cut the training patch for target ``label_id``; None if the target vanishes at this spacing.

    Returns a sample whose first click is the anchor voxel in patch indices (after flips),
    guaranteed inside the resampled target; with ``host_names``, a lesion target's host organ
    (:func:`host_organ`) ∪ the lesion is cut as ``host``.
    """
    mask = case.label.array == label_id
    anchor = _anchor(mask, rng, spec.center_click_prob, case.image.spacing)
    grid = patch_grid_around(case.image, anchor, spec.size, spec.spacing_mm)
    if spec.center_jitter_vox > 0 and rng.random() < spec.jitter_prob:
        shift = rng.integers(-spec.center_jitter_vox, spec.center_jitter_vox + 1, size=3)
        grid = grid.shifted(shift)
    image = normalize_intensity(sample_volume(case.image, grid), spec.intensity)
    target = sample_volume(case.label, grid, nearest=True) == label_id
    host = None
    if host_names and is_lesion_name(case.label_names.get(label_id, "")):
        host_id = host_organ(case, mask, host_names)
        if host_id is not None:
            nested = case.label.with_array((mask | (case.label.array == host_id)).astype(np.uint8))
            host = sample_volume(nested, grid, nearest=True) > 0
    click = np.rint(case.image.grid.index_in(grid, anchor)).astype(np.int64)
    click = np.clip(click, 0, spec.size - 1)
    if not target[tuple(click)]:
        # Nearest resampling can drop the anchor voxel of a thin/small target: click the
        # resampled target's centre instead; give up if nothing of it survived.
        if not target.any():
            return None
        click = np.asarray(distance_center(target), np.int64)
    if spec.flip:
        for axis in range(3):
            if rng.random() < 0.5:
                image, target = np.flip(image, axis), np.flip(target, axis)
                host = None if host is None else np.flip(host, axis)
                click[axis] = spec.size - 1 - click[axis]
    if spec.elastic_vox > 0 and rng.random() < spec.elastic_prob:
        # Drawn last, so that runs without deformation keep their exact sample sequence.
        field = random_displacement(rng, spec.size, spec.elastic_vox,
                                    spec.elastic_control_points, click)
        image, target, host = warp_patch([image, target, host], field, [False, True, True])
    return PatchSample(
        image=np.ascontiguousarray(image, np.float32),
        target=np.ascontiguousarray(target, np.float32),
        first_click=click,
        low_quality=case.quality == "LQ",
        target_name=case.label_names.get(label_id, str(label_id)),
        host=None if host is None else np.ascontiguousarray(host, np.float32),
    )


@dataclass(frozen=True, eq=False)
class PatchBatch:
    """A batch: ``images``/``targets`` ``(B, 1, S, S, S)``, ``first_clicks`` ``(B, 3)`` long,
    ``low_quality`` ``(B,)`` bool, ``seeds`` ``(B,)`` per-sample click seeds; ``hosts``
    ``(B, 1, S, S, S)`` (zeros where ``has_host`` ``(B,)`` is False) or None when no sample
    has a host target."""

    images: torch.Tensor
    targets: torch.Tensor
    first_clicks: torch.Tensor
    low_quality: torch.Tensor
    seeds: tuple[int, ...]
    target_names: tuple[str, ...]
    hosts: torch.Tensor | None = None
    has_host: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> PatchBatch:
        hosts = None if self.hosts is None else self.hosts.to(device)
        has_host = None if self.has_host is None else self.has_host.to(device)
        return PatchBatch(self.images.to(device), self.targets.to(device),
                          self.first_clicks.to(device), self.low_quality.to(device),
                          self.seeds, self.target_names, hosts, has_host)


def collate(samples: list[PatchSample], seeds: list[int]) -> PatchBatch:
    """Stack samples into a :class:`PatchBatch` (adds the channel axis)."""
    hosts = has_host = None
    if any(s.host is not None for s in samples):
        hosts = torch.from_numpy(np.stack([s.host if s.host is not None
                                           else np.zeros_like(s.target) for s in samples]))[:, None]
        has_host = torch.tensor([s.host is not None for s in samples])
    return PatchBatch(
        images=torch.from_numpy(np.stack([s.image for s in samples]))[:, None],
        targets=torch.from_numpy(np.stack([s.target for s in samples]))[:, None],
        first_clicks=torch.from_numpy(np.stack([s.first_click for s in samples])),
        low_quality=torch.tensor([s.low_quality for s in samples]),
        seeds=tuple(int(s) for s in seeds),
        target_names=tuple(s.target_name for s in samples),
        hosts=hosts,
        has_host=has_host,
    )
