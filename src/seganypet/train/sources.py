"""Where training patches come from: a manifest, on-the-fly phantoms, or both.

Sample number ``g`` of a run (a global index over all ranks, micro-steps and batch slots) is
a pure function of ``(seed, g)``: the case, target, anchor, jitter and flips are drawn from
``numpy.random.default_rng([seed, g])``. That makes the stream
* a DistributedSampler equivalent: rank ``r`` of ``W`` takes its slots of each global batch
  and the union over ranks is exactly the single-process batch;
* resumable bit-exactly from the step number alone (no sampler state to save).

Manifest cases are visited in a fresh permutation per epoch (each case once per epoch, as a
shuffled DataLoader); phantom cases live in blocks of ``phantom_pool`` cases, each drawn
``phantom_reuse`` times on average before the block is replaced, so generation cost is
amortised while the data stays fresh.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from seganypet.data.manifest import CaseRecord, by_split, read_manifest
from seganypet.errors import InputError
from seganypet.io.nifti import read_nifti
from seganypet.train.config import TrainConfig
from seganypet.train.data import (
    LabeledCase,
    PatchBatch,
    PatchSample,
    PatchSpec,
    choose_target,
    collate,
    extract_patch,
)

__all__ = ["CaseCache", "ManifestCases", "PatchSource", "PhantomCases", "case_from_record"]

log = logging.getLogger(__name__)
_MAX_ATTEMPTS = 20


class CaseCache:
    """A small LRU of loaded/generated cases keyed by an id (per source, no global state)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._items: OrderedDict[object, LabeledCase] = OrderedDict()

    def get(self, key: object, make: Callable[[], LabeledCase]) -> LabeledCase:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        case = make()
        self._items[key] = case
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return case


def case_from_record(record: CaseRecord) -> LabeledCase:
    """Load a manifest case (SUV image + label map) into memory."""
    if record.label is None:
        raise InputError(f"case {record.case_id!r} has no label; training needs labelled cases")
    image = read_nifti(record.image, unit="SUV")
    label = read_nifti(record.label)
    if not image.same_grid(label):
        raise InputError(f"case {record.case_id!r}: label {record.label} is not on the image grid")
    return LabeledCase(record.case_id, image, label.with_array(np.rint(label.array).astype(np.int32)),
                       record.label_names, record.quality, record.tracer, record.targets)


class ManifestCases:
    """Cases of the ``train`` split of a manifest, one shuffled pass per epoch."""

    def __init__(self, path: str, seed: int, cache_size: int = 16,
                 splits: Sequence[str] = ("train",)) -> None:
        self.records = [r for r in by_split(read_manifest(path), list(splits)) if r.label]
        if not self.records:
            raise InputError(f"manifest {path} has no labelled cases in split(s) {list(splits)}")
        self.seed = seed
        self._cache = CaseCache(cache_size)

    def case_for(self, g: int, attempt: int, rng: np.random.Generator) -> LabeledCase:
        n = len(self.records)
        epoch, slot = divmod(g, n)
        if attempt == 0:
            index = int(np.random.default_rng([self.seed, 7, epoch]).permutation(n)[slot])
        else:  # the epoch's case had no usable target: any other case
            index = int(rng.integers(n))
        record = self.records[index]
        return self._cache.get(record.case_id, lambda: case_from_record(record))


class PhantomCases:
    """On-the-fly phantoms from a ``generate(seed) -> LabeledCase`` function."""

    def __init__(self, generate: Callable[[int], LabeledCase], config: TrainConfig) -> None:
        self.generate = generate
        self.pool = config.phantom_pool
        self.block = config.phantom_pool * config.phantom_reuse
        self.seed_offset = config.phantom_seed_offset
        self._cache = CaseCache(2 * self.pool)

    def case_for(self, g: int, attempt: int, rng: np.random.Generator) -> LabeledCase:
        block = g // self.block
        slot = int(rng.integers(self.pool))
        case_seed = int(np.random.default_rng([self.seed_offset, block, slot]).integers(2**31))
        return self._cache.get(case_seed, lambda: self.generate(case_seed))


class PatchSource:
    """``batch(indices) -> PatchBatch``: the patches of global sample numbers ``indices``."""

    def __init__(self, config: TrainConfig, spec: PatchSpec,
                 manifest: ManifestCases | None, phantoms: PhantomCases | None) -> None:
        if manifest is None and phantoms is None:
            raise InputError("no training data source")
        self.config = config
        self.spec = spec
        self.manifest = manifest
        self.phantoms = phantoms

    def _case(self, g: int, attempt: int, rng: np.random.Generator) -> LabeledCase:
        use_phantom = self.manifest is None or (
            self.phantoms is not None and rng.random() < self.config.phantom_fraction)
        source = self.phantoms if use_phantom else self.manifest
        return source.case_for(g, attempt, rng)

    def sample(self, g: int) -> tuple[PatchSample, int]:
        """Sample ``g`` and the seed of its simulated clicks."""
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, g])
        for attempt in range(_MAX_ATTEMPTS):
            case = self._case(g, attempt, rng)
            label_id = choose_target(case, cfg.target_kinds, cfg.lesion_fraction, rng,
                                     cfg.target_names)
            if label_id is None:
                continue
            hosts = cfg.target_names if cfg.host_slot_weight > 0 and cfg.scale_slots else None
            patch = extract_patch(case, label_id, self.spec, rng, hosts)
            if patch is not None and patch.target.sum() >= cfg.min_target_voxels:
                return patch, int(rng.integers(2**62))
        raise InputError(f"no usable target found for sample {g} after {_MAX_ATTEMPTS} tries; "
                         f"check target_kinds={cfg.target_kinds!r} against the data's labels")

    def batch(self, indices: Sequence[int]) -> PatchBatch:
        pairs = [self.sample(int(g)) for g in indices]
        return collate([p for p, _ in pairs], [s for _, s in pairs])
