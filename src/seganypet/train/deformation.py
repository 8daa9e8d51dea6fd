"""Random smooth (elastic) deformation of a training patch.

The phantom generator builds organs from deformed ellipsoids and capsules; a model trained on
them alone learns those shapes as much as the uptake edges around them, and on real anatomy
(a liver's lobes, a spleen bent round the stomach) its first-click masks fall short
(docs/results.md, "Real anatomy"). Warping each patch by a random smooth displacement field
bends and bulges every structure differently at each draw, so the mask must follow the image.
Measured once (stage 8, 49 CPU minutes): it did not lift the organs of real anatomy.

The field is drawn on a coarse grid of control points (normal, ``TrainConfig.elastic_mm``
standard deviation per axis), upsampled to the patch by trilinear interpolation, and shifted so that
it is zero at the first click: the clicked voxel keeps its value and stays inside the target.
Why not MONAI's ``Rand3DElastic``: it smooths a per-voxel random field at full size (0.54 s
for one 128^3 array on these 2 cores, against 0.13 s here for image, target and host
together) and has no way to pin the click.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["random_displacement", "warp_patch"]

_MAX_AMPLITUDE_OF_SPACING = 0.15


def random_displacement(rng: np.random.Generator, size: int, amplitude_vox: float,
                        control_points: int, anchor: np.ndarray) -> torch.Tensor:
    """A smooth random displacement field, zero at ``anchor``.

    Args:
        rng: the sample's generator (one draw of ``3 * control_points**3`` normals).
        size: patch edge ``S`` (voxels).
        amplitude_vox: standard deviation of each control point's displacement (voxels;
            at most 0.15 of the control-point spacing).
        control_points: control points per edge (>= 2); their spacing sets the bend scale.
        anchor: ``(3,)`` patch voxel where the displacement is zero (the first click).
    Returns:
        ``(S, S, S, 3)`` float32: for each output voxel, the offset (voxels, patch axes
        ``i, j, k``) of the input voxel it reads.
    """
    # Neighbouring control points move independently, so the strain between them has a std of
    # sqrt(2) * amplitude / spacing; capped at 0.15 of the spacing, it stays below 1 (no folds)
    # out to four standard deviations.
    spacing = (size - 1) / (control_points - 1)
    amplitude_vox = min(amplitude_vox, _MAX_AMPLITUDE_OF_SPACING * spacing)
    coarse = rng.normal(0.0, amplitude_vox, size=(3, control_points, control_points,
                                                  control_points)).astype(np.float32)
    field = F.interpolate(torch.from_numpy(coarse)[None], size=(size,) * 3, mode="trilinear",
                          align_corners=True)[0]
    i, j, k = (round(float(c)) for c in anchor)
    field = field - field[:, i, j, k].reshape(3, 1, 1, 1)
    return field.permute(1, 2, 3, 0).contiguous()


def warp_patch(arrays: list[np.ndarray | None], displacement: torch.Tensor,
               nearest: list[bool]) -> list[np.ndarray | None]:
    """Resample patch arrays at ``index + displacement``; zero outside the patch.

    Args:
        arrays: ``(S, S, S)`` arrays, any real dtype and strides (None entries pass through).
        displacement: ``(S, S, S, 3)`` from :func:`random_displacement`.
        nearest: per array, nearest-neighbour (labels) instead of trilinear (images).
    Returns:
        The warped arrays, ``(S, S, S)`` float32 each.
    """
    size = displacement.shape[0]
    base = torch.arange(size, dtype=torch.float32)
    index = torch.stack(torch.meshgrid(base, base, base, indexing="ij"), dim=-1) + displacement
    # grid_sample reads (x, y, z) = (last, middle, first) axis, normalised to [-1, 1] with
    # align_corners=True: voxel 0 -> -1, voxel S-1 -> +1.
    grid = (index.flip(-1) * (2.0 / (size - 1)) - 1.0)[None]
    out: list[np.ndarray | None] = []
    for array, is_label in zip(arrays, nearest):
        if array is None:
            out.append(None)
            continue
        source = torch.from_numpy(np.ascontiguousarray(array, np.float32))[None, None]
        warped = F.grid_sample(source, grid, mode="nearest" if is_label else "bilinear",
                               padding_mode="zeros", align_corners=True)
        out.append(warped[0, 0].numpy())
    return out
