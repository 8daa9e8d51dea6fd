"""Realism check: a realistic-mode FDG phantom next to the real STS_001 scan.

STS_001's liver reference region is a 30 mm box centred at RAS (90, -10, -420) mm, found by
looking at coronal and axial slices (right lobe, away from the liver edge and the kidney);
lungs at (+-110, 0, -250) mm. The phantom's regions are boxes of the same size at the deepest
point of each organ label. Run with ``-s`` to see the numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seganypet.data.organs import ORGAN_IDS
from seganypet.data.phantom import PhantomConfig, generate_case
from seganypet.data.realism import box_stats, organ_box_stats
from seganypet.io.nifti import read_nifti

STS001_REGIONS_MM = {"liver": (90.0, -10.0, -420.0), "lung_right": (110.0, 0.0, -250.0),
                     "lung_left": (-110.0, 0.0, -250.0)}


def test_phantom_liver_and_lungs_resemble_sts001(sts001_dir: Path) -> None:
    real = read_nifti(sts001_dir / "derived_nifti" / "STS_001_PET_SUVbw.nii.gz")
    # Anatomy and uptake drawn as in realistic mode; the scanner set like STS_001's (voxel size,
    # ~6.5 mm resolution of a GE Discovery ST with OSEM + post-filter, typical counts).
    phantom = generate_case(np.random.default_rng(2026), PhantomConfig(
        tracer="fdg", voxel_mm=real.spacing, n_lesions=0, attenuation_bias=False,
        psf_fwhm_mm=6.5, count_level=1.0))
    rows = []
    for organ, centre in STS001_REGIONS_MM.items():
        r = box_stats(real, centre)
        p = organ_box_stats(phantom.suv, phantom.label, ORGAN_IDS[organ])
        rows.append((organ, r, p))
        print(f"{organ:10s} STS_001 mean {r['mean']:.2f} std {r['std']:.2f} CoV {r['cov']:.2f} "
              f"autocorr(i,j,k) {r['autocorr_i']:.2f} {r['autocorr_j']:.2f} {r['autocorr_k']:.2f}"
              f" | phantom mean {p['mean']:.2f} std {p['std']:.2f} CoV {p['cov']:.2f} "
              f"autocorr {p['autocorr_i']:.2f} {p['autocorr_j']:.2f} {p['autocorr_k']:.2f}")
    (_, real_liver, ph_liver), *lungs = rows
    # Liver SUVmean: PERCIST normal range (SUL 1.5-2.5, SUVbw ~1.5-3.3) for both.
    assert 1.3 <= real_liver["mean"] <= 3.3 and 1.3 <= ph_liver["mean"] <= 3.3
    # Noise texture: similar CoV (within a factor 2) and neighbour correlation (within 0.3).
    assert 0.5 <= ph_liver["cov"] / real_liver["cov"] <= 2.0
    for axis in "ijk":
        assert abs(ph_liver[f"autocorr_{axis}"] - real_liver[f"autocorr_{axis}"]) <= 0.3
    for _, real_lung, ph_lung in lungs:
        assert 0.2 <= real_lung["mean"] <= 0.9 and 0.2 <= ph_lung["mean"] <= 0.9
        # Liver-to-lung contrast within a factor 2 of the real one.
        ratio = (ph_liver["mean"] / ph_lung["mean"]) / (real_liver["mean"] / real_lung["mean"])
        assert 0.5 <= ratio <= 2.0
