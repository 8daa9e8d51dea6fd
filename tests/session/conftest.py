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


# A hot sphere: odd shape, so the scene is symmetric about the click.
SHAPE, CLICK = (49, 45, 53), (24, 22, 26)


def ras_scene() -> tuple[Volume, np.ndarray]:
    """Warm background (SUV 1) with a hot sphere (SUV 8, radius 15 mm) centred on CLICK."""
    affine = np.diag([4.0, 4.0, 3.0, 1.0])
    affine[:3, 3] = [-96.0, -88.0, -78.0]
    vol = Volume(np.zeros(SHAPE, np.float32), affine)
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in SHAPE], indexing="ij"), -1)
    sphere = np.linalg.norm(vol.index_to_world(idx) - vol.index_to_world(CLICK), axis=-1) < 15.0
    return vol.with_array((1.0 + 7.0 * sphere).astype(np.float32)), sphere
