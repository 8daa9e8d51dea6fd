"""Training configuration: one frozen dataclass, saved as JSON beside every checkpoint.

Every command-line flag of ``seganypet train`` maps onto a field of :class:`TrainConfig`
(``--lr-encoder 1e-4`` -> ``lr_encoder``); a JSON config file gives the starting values.
Override in code with ``dataclasses.replace``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seganypet.atomic import atomic_path
from seganypet.errors import InputError, check_known_fields

__all__ = ["AMP_MODES", "CPCL_MODES", "TARGET_KINDS", "TrainConfig", "load_config", "save_config"]

CPCL_MODES = ("off", "consistency", "full")
TARGET_KINDS = ("all", "organs", "lesions")
AMP_MODES = ("auto", "bf16", "fp16", "off")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on (model size comes from ``preset``).

    Data: ``manifest`` (JSON-lines, see ``seganypet.data.manifest``) and/or on-the-fly
    phantoms (``phantoms=True``); ``phantom_fraction`` is the share of samples drawn from
    phantoms when both are given. Steps count optimiser steps; one optimiser step consumes
    ``batch_size * grad_accum * world_size`` patches.
    """

    # model
    preset: str = "pet-small"
    init: str | None = None  # any checkpoint `seganypet.load_model` accepts, or a run dir
    # data
    manifest: str | None = None
    phantoms: bool = True
    phantom_fraction: float = 1.0
    phantom_pool: int = 8  # distinct phantom cases alive at a time
    phantom_reuse: int = 8  # patches drawn per phantom case on average
    phantom_tracers: tuple[str, ...] = ("fdg", "psma")
    phantom_randomized_fraction: float = 0.5  # domain-randomised vs realistic phantoms
    phantom_lq_fraction: float = 0.3  # phantoms whose label is degraded (simulated LQ)
    phantom_seed_offset: int = 0  # separates training phantoms from held-out ones
    phantom_voxel_mm: float | None = None  # None: the generator's scanner-like voxel sizes
    # Up to this many extra node-sized lesions per phantom, each touching an organ of high
    # uptake (salivary glands, heart, bladder, kidneys, ...): the scenes where a one-click
    # mask leaks from a node into the organ beside it. 0 = the generator's own lesion draw.
    phantom_juxta_lesions: int = 0
    target_kinds: str = "all"
    lesion_fraction: float = 0.5  # share of patches centred on a lesion (when both exist)
    target_names: tuple[str, ...] | None = None  # organs to train on (None = every label)
    min_target_voxels: int = 3
    # patch sampling (sizes/spacing come from the model preset)
    center_jitter_vox: int = 12
    center_jitter_prob: float = 0.3  # share of patches not centred exactly on the first click
    center_click_prob: float = 0.5  # first click at the target's centre (else uniform inside)
    flip: bool = True
    # Elastic deformation of a share ``elastic_prob`` of the patches: control-point
    # displacements of ``elastic_mm`` standard deviation on a ``elastic_control_points``^3 grid
    # (seganypet.train.deformation). Real organs are not the generator's deformed ellipsoids.
    elastic_mm: float = 0.0
    elastic_control_points: int = 5
    elastic_prob: float = 0.8
    # interaction
    clicks_min: int = 1
    clicks_max: int = 20
    multimask_first: bool = True
    # Scale slots of the first-click candidates: a target whose in-patch volume (ml) falls in
    # band b of ``scale_bounds_ml`` (ascending; band 0 below the first bound) trains candidate
    # ``scale_slots[b]`` only, instead of SAM's "best candidate". Without slots the minimum-loss
    # rule let every candidate settle on one scale, and none was organ-sized on a large organ.
    # A lesion in (or touching) an organ of ``target_names`` also trains the slot of the host's
    # scale on host ∪ lesion, weighted ``host_slot_weight``: the nested answer to "lesion or
    # organ?". Empty = SAM's rule.
    scale_bounds_ml: tuple[float, ...] = ()
    scale_slots: tuple[int, ...] = ()
    host_slot_weight: float = 0.0
    # Train the prompt encoder and mask decoder only (the image encoder runs under no_grad):
    # ~3x cheaper steps when the encoder's features are kept and the decoder learns new roles.
    freeze_encoder: bool = False
    iou_loss_weight: float = 1.0
    # Listwise ranking loss on the first-click candidate scores: cross-entropy of
    # softmax(predicted IoU / 0.1) against the candidate with the highest true IoU. The MSE
    # regression alone left every score near the batch mean (0.1-0.2), so the session's
    # choice among candidates was close to arbitrary.
    iou_rank_weight: float = 0.0
    # Refinement starts from the candidate the session would show (best predicted IoU among
    # those containing the click) instead of the oracle-best one: at inference the mask prompt
    # of click 2 is whatever the scorer chose, and the model must learn to recover from it.
    prompt_from_choice: bool = False
    center_click_error_prob: float = 0.0  # refinement click at the error centre (else uniform)
    grad_decodes: str = "first_last"  # or "all": which click decodes get gradients
    loss_grid: str = "patch"  # "patch" (upstream, S³) or "low_res" (L³, soft targets; cheaper)
    # optimisation
    steps: int = 1000
    batch_size: int = 2
    grad_accum: int = 1
    lr_encoder: float = 8e-4
    lr_decoder: float = 8e-5
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.999)
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1
    warmup_steps: int = 0
    grad_clip: float = 1.0
    amp: str = "auto"
    # CPCL (ICCV'25 §3.2-3.3); applies to samples whose quality is "LQ"
    cpcl: str = "off"
    cpcl_n_pt: int = 4
    cpcl_entropy_threshold: float = 0.5  # H, nats; binary entropy is at most ln 2 = 0.693
    cpcl_beta: float = 5.0
    cpcl_omega_max: float = 0.1
    cpcl_rampup_steps: int | None = None  # T of the ramp-up; None = ``steps``
    cpcl_rampup_power: float = 2.0  # 2 = Gaussian exp(-5(1-t/T)^2); 1 = the paper's printed form
    # bookkeeping
    seed: int = 2023
    out_dir: str = "runs/train"
    checkpoint_minutes: float = 5.0
    log_every: int = 10
    threads: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # free notes carried into the JSON

    def __post_init__(self) -> None:
        _check_choice("cpcl", self.cpcl, CPCL_MODES)
        _check_choice("target_kinds", self.target_kinds, TARGET_KINDS)
        _check_choice("amp", self.amp, AMP_MODES)
        _check_choice("grad_decodes", self.grad_decodes, ("first_last", "all"))
        _check_choice("loss_grid", self.loss_grid, ("patch", "low_res"))
        if not 1 <= self.clicks_min <= self.clicks_max:
            raise InputError("need 1 <= clicks_min <= clicks_max")
        if self.batch_size < 1 or self.grad_accum < 1 or self.steps < 0:
            raise InputError("batch_size and grad_accum must be >= 1 and steps >= 0")
        if self.manifest is None and not self.phantoms:
            raise InputError("no training data: give --manifest PATH and/or --phantoms true")
        if self.elastic_mm < 0 or self.elastic_control_points < 2 or not 0 <= self.elastic_prob <= 1:
            raise InputError("need elastic_mm >= 0, elastic_control_points >= 2 and "
                             "0 <= elastic_prob <= 1")
        if self.scale_slots and (len(self.scale_slots) != len(self.scale_bounds_ml) + 1
                                 or len(set(self.scale_slots)) != len(self.scale_slots)
                                 or list(self.scale_bounds_ml) != sorted(self.scale_bounds_ml)):
            raise InputError("scale_slots needs one distinct candidate per band: "
                             "len(scale_bounds_ml) + 1 entries, bounds ascending")
        for name in ("betas", "milestones", "phantom_tracers", "target_names", "scale_bounds_ml",
                     "scale_slots"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def rampup_steps(self) -> int:
        return self.steps if self.cpcl_rampup_steps is None else self.cpcl_rampup_steps

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        check_known_fields(values, (f.name for f in dataclasses.fields(cls)),
                           "unknown training option(s) {unknown}; see `seganypet train --help`")
        return cls(**values)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(f"{name} must be one of {choices}, got {value!r}")


def load_config(path: str | os.PathLike[str]) -> TrainConfig:
    """Read a JSON config (a dict of :class:`TrainConfig` fields; missing ones keep defaults)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"training config not found: {path}")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(values, dict):
        raise InputError(f"{path} must hold a JSON object of training options")
    values.pop("_comment", None)
    return TrainConfig.from_dict(values)


def save_config(config: TrainConfig, path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
