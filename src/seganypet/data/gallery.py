"""PNG galleries: coronal maximum-intensity projections with label outlines.

Used for the README figure that shows phantoms beside a real scan. Images are reoriented to
RAS first so that every panel is displayed the same way (head up, patient's right on the left
of the image, as radiologists read), whatever the file's orientation.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # file output only; never needs a display
import matplotlib.pyplot as plt
import numpy as np

from seganypet.atomic import atomic_path
from seganypet.data.organs import LESION_ID_START, ORGAN_IDS
from seganypet.orientation import ras_spacing, to_ras
from seganypet.volume import Volume

__all__ = ["Panel", "coronal_mip", "save_gallery"]

# Organs outlined in the gallery (others, e.g. muscle/fat/bone, would clutter the MIP).
_OUTLINED = ("brain", "heart", "liver", "spleen", "kidney_left", "kidney_right", "bladder",
             "lung_left", "lung_right")


@dataclass(frozen=True)
class Panel:
    """One gallery column: a title, an SUV volume, optionally a label map on its grid and a
    display maximum (SUV; default the gallery's)."""

    title: str
    suv: Volume
    label: Volume | None = None
    vmax: float | None = None


def _to_ras(volume: Volume) -> tuple[np.ndarray, np.ndarray]:
    """Array flipped/transposed to RAS index order, and the voxel spacing ``(3,)``."""
    return to_ras(volume.grid, volume.array), ras_spacing(volume.grid)


def coronal_mip(volume: Volume) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Max over the anterior-posterior axis: ``(K, I)`` image (rows inferior->superior) and
    its matplotlib ``extent`` in mm (patient's right drawn on the left)."""
    array, spacing = _to_ras(volume)
    mip = array.max(axis=1).T[:, ::-1]  # column 0 = patient's right
    width, height = array.shape[0] * spacing[0], array.shape[2] * spacing[2]
    return mip, (0.0, width, 0.0, height)


def _outline(ax: plt.Axes, label: Volume, extent: tuple[float, ...]) -> None:
    array, _ = _to_ras(label)
    ids = [ORGAN_IDS[n] for n in _OUTLINED]
    colours = plt.get_cmap("tab10")
    for n, organ in enumerate(ids):
        projection = (array == organ).any(axis=1).T[:, ::-1]
        if projection.any():
            ax.contour(projection, levels=[0.5], colors=[colours(n % 10)], linewidths=0.6,
                       extent=extent, origin="lower")
    lesions = (array >= LESION_ID_START).any(axis=1).T[:, ::-1]
    if lesions.any():
        ax.contour(lesions, levels=[0.5], colors=["red"], linewidths=0.9, extent=extent,
                   origin="lower")


def save_gallery(panels: Sequence[Panel], path: str | os.PathLike[str], vmax: float = 8.0,
                 dpi: int = 70) -> Path:
    """Write a row of coronal MIPs (inverted grey, SUV 0..``vmax``) with outlines, atomically."""
    path = Path(path)
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 6.2), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        mip, extent = coronal_mip(panel.suv)
        ax.imshow(mip, cmap="gray_r", vmin=0.0, vmax=panel.vmax or vmax, extent=extent, origin="lower",
                  interpolation="bilinear")
        if panel.label is not None:
            _outline(ax, panel.label, extent)
        ax.set_title(panel.title, fontsize=8)
        ax.set_axis_off()
    fig.tight_layout(pad=0.3)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    return path
