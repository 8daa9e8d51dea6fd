"""Scenes shared by the session tests."""

from __future__ import annotations

import numpy as np

from seganypet.volume import Volume


def layered_scene() -> Volume:
    """A hot core (SUV 9, r 4) inside a warm halo (SUV 4, r 9) in a background of 1: the
    isocontours at 0.7..0.3 of SUVmax give the core, then the core plus halo."""
    shape = (48, 44, 40)
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1)
    dist = np.linalg.norm(idx - np.array([24, 22, 20]), axis=-1)
    rng = np.random.default_rng(5)
    image = 1.0 + 3.0 * (dist < 9) + 5.0 * (dist < 4) + 0.05 * rng.random(shape)
    return Volume(image.astype(np.float32), np.diag([4.0, 4.0, 4.0, 1.0]))
