"""On-the-fly training cases from the phantom generator, some with simulated low-quality labels.

Each case seed gives one phantom (``seganypet.data.phantom.generate_case``): tracer drawn
from ``phantom_tracers``, realistic or domain-randomised with probability
``phantom_randomized_fraction``. With probability ``phantom_lq_fraction`` the case is marked
``LQ`` and its label map is corrupted by ``seganypet.data.noisy_labels.simulate_low_quality``
(boundary shifts, erosion/dilation, missing slices, merged neighbours, missed lesions), the
failure modes of hurried or model-made annotations that CPCL is meant to survive.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from seganypet.data.noisy_labels import simulate_low_quality
from seganypet.data.phantom import PhantomConfig, generate_case
from seganypet.train.config import TrainConfig
from seganypet.train.data import LabeledCase

__all__ = ["phantom_case_generator"]


def phantom_case_generator(config: TrainConfig) -> Callable[[int], LabeledCase]:
    """``generate(seed) -> LabeledCase`` for the run's phantom mix (deterministic per seed)."""

    def generate(seed: int) -> LabeledCase:
        rng = np.random.default_rng(seed)
        tracer = str(rng.choice(list(config.phantom_tracers)))
        mode = "randomized" if rng.random() < config.phantom_randomized_fraction else "realistic"
        low_quality = rng.random() < config.phantom_lq_fraction
        # Drawn only when asked for, so the phantoms of earlier configs stay the same.
        juxta = (int(rng.integers(0, config.phantom_juxta_lesions + 1))
                 if config.phantom_juxta_lesions > 0 else 0)
        case = generate_case(rng, PhantomConfig(tracer=tracer, mode=mode,
                                                voxel_mm=config.phantom_voxel_mm,
                                                juxta_lesions=juxta))
        label = simulate_low_quality(case.label, rng)[0] if low_quality else case.label
        names = {int(k): str(v) for k, v in case.info["label_names"].items()}
        return LabeledCase(f"phantom-{seed}", case.suv, label, names,
                           "LQ" if low_quality else "HQ", tracer)

    return generate
