"""PNG pictures people look at: MIPs and slices with mask overlays (matplotlib, Agg backend).

Every picture is drawn in patient orientation whatever the array order: the volume is first
reoriented to the closest RAS axis order (flips and permutations only, via nibabel's
orientation tools), then shown in radiological convention (patient right on the left of
the image, head at the top), with pixel aspect taken from the voxel spacing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seganypet.atomic import atomic_path
from seganypet.click import Click
from seganypet.orientation import ras_index, ras_spacing, to_ras
from seganypet.volume import Volume

__all__ = ["canonical_array", "coronal_mip", "save_preview"]


def canonical_array(volume: Volume, array: np.ndarray | None = None) -> np.ndarray:
    """``array`` (default ``volume.array``) reordered to the closest RAS axis order."""
    return to_ras(volume.grid, volume.array if array is None else array)


def coronal_mip(ras: np.ndarray) -> np.ndarray:
    """Max over the posterior-anterior axis of a RAS array, as an image ``(S->I rows, R->L cols)``."""
    return np.flipud(ras.max(axis=1).T)[:, ::-1]


def _coronal_slice(ras: np.ndarray, j: int) -> np.ndarray:
    return np.flipud(ras[:, j, :].T)[:, ::-1]


def _overlay(ax, image: np.ndarray, mask: np.ndarray | None, aspect: float, title: str,
             vmax: float) -> None:
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=vmax, aspect=aspect, interpolation="nearest")
    if mask is not None and mask.any():
        ax.contour(mask.astype(float), levels=[0.5], colors="tab:red", linewidths=0.8)
        tint = np.ma.masked_where(~mask, np.ones_like(mask, float))
        ax.imshow(tint, cmap="autumn", alpha=0.3, aspect=aspect, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.02, 0.98, "R", transform=ax.transAxes, va="top", color="tab:blue", fontsize=8)


def save_preview(volume: Volume, mask: np.ndarray | None, path: str | os.PathLike[str], *,
                 clicks: Sequence[Click] | None = None,
                 title: str = "") -> Path:
    """Coronal MIP and the coronal slice through the first click, mask outlined in red.

    Args:
        volume: the scan (SUV).
        mask: ``(I, J, K)`` mask on the scan grid, or None.
        clicks: voxel-index clicks, drawn as + (positive) / x (negative).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ras = canonical_array(volume).astype(np.float32)
    ras_mask = None if mask is None else canonical_array(volume, mask > 0)
    spacing = ras_spacing(volume.grid)
    aspect = float(spacing[2] / spacing[0])
    # Clinical PET display: inverted grey, SUV 0-6 (organs readable, lesions saturate).
    vmax = 6.0 if volume.unit.upper().startswith("SU") else (float(np.percentile(ras, 99.5)) or 1.0)
    clicks = clicks or []
    j = round(float(ras_index(volume.grid, clicks[0].index)[1])) if clicks else ras.shape[1] // 2
    fig, axes = plt.subplots(1, 2, figsize=(8, 6), dpi=100)
    _overlay(axes[0], coronal_mip(ras), None if ras_mask is None else coronal_mip(ras_mask),
             aspect, "coronal MIP", vmax)
    _overlay(axes[1], _coronal_slice(ras, j),
             None if ras_mask is None else _coronal_slice(ras_mask, j), aspect,
             f"coronal slice (RAS j={j})", vmax)
    for click in clicks:
        c, positive = ras_index(volume.grid, click.index), click.positive
        col, row = ras.shape[0] - 1 - c[0], ras.shape[2] - 1 - c[2]
        for ax in axes:
            ax.plot(col, row, marker="+" if positive else "x", color="lime" if positive else "cyan",
                    markersize=9, mew=2)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)
