"""Statistics of the expert GTV on the real STS_001 whole-body FDG PET (skips without ../shared)."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from seganypet.io.nifti import read_nifti
from seganypet.quantify import PEAK_RADIUS_MM, region_stats


def test_gtv_stats_on_real_pet(sts001_dir, rng):
    folder = sts001_dir / "derived_nifti"
    image = read_nifti(folder / "STS_001_PET_SUVbw.nii.gz", unit="SUVbw")
    mask = read_nifti(folder / "STS_001_GTV_Mass_mask.nii.gz").array.astype(bool)

    stats = region_stats(image, mask, name="GTV_Mass")

    # numbers quoted by the data README, and numpy on nibabel's arrays
    suv = np.asarray(nib.load(folder / "STS_001_PET_SUVbw.nii.gz").get_fdata(), dtype=np.float64)
    assert stats.voxel_count == 5095 == mask.sum()
    assert stats.volume_ml == pytest.approx(366.0, abs=1.0)
    assert stats.suv_max == pytest.approx(7.91, abs=0.005)
    assert stats.suv_mean == pytest.approx(suv[mask].mean(), rel=1e-6)
    assert stats.suv_std == pytest.approx(suv[mask].std(), rel=1e-6)

    # SUVpeak: the brute-force sphere mean at the reported centre equals it, and no sampled
    # object voxel gives a higher sphere mean
    spacing = np.asarray(image.spacing)

    def sphere_mean(centre):
        lo = np.maximum(np.asarray(centre) - 3, 0)
        hi = np.minimum(np.asarray(centre) + 4, suv.shape)
        box = tuple(slice(a, b) for a, b in zip(lo, hi))
        offsets = np.stack(np.indices(hi - lo), axis=-1) + lo - np.asarray(centre)
        d = np.linalg.norm(offsets * spacing, axis=-1)
        return suv[box][d <= PEAK_RADIUS_MM + 1e-6].mean()

    assert stats.suv_peak == pytest.approx(sphere_mean(stats.peak_index), rel=1e-6)
    voxels = np.argwhere(mask)
    sample = voxels[rng.choice(len(voxels), size=300, replace=False)]
    assert all(sphere_mean(v) <= stats.suv_peak + 1e-6 for v in sample)
    assert stats.suv_mean < stats.suv_peak < stats.suv_max
