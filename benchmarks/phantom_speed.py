"""Phantom generation speed (target: one whole-body case at 3-4 mm in <= 2 s on 2 CPU cores),
plus the realism numbers against STS_001 when ../shared is present.

    python benchmarks/phantom_speed.py [--cases 5] [--voxel-mm 4 3.3 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from seganypet.data.organs import ORGAN_IDS
from seganypet.data.phantom import PhantomConfig, generate_case
from seganypet.data.realism import box_stats, organ_box_stats

STS001 = (Path(__file__).resolve().parents[1].parent / "shared" / "data" /
          "sts001_wholebody_fdg_pet" / "derived_nifti" / "STS_001_PET_SUVbw.nii.gz")


def time_cases(voxel_mm: float, cases: int, mode: str) -> list[tuple[float, tuple, int]]:
    rows = []
    for seed in range(cases):
        config = PhantomConfig(tracer="mixed", mode=mode, voxel_mm=voxel_mm, whole_body=True)
        start = time.perf_counter()
        case = generate_case(np.random.default_rng(seed), config)
        rows.append((time.perf_counter() - start, case.suv.shape, len(case.info["lesions"])))
    return rows


def realism() -> None:
    from seganypet.io.nifti import read_nifti

    if not STS001.is_file():
        print("STS_001 not found beside the repository; realism check skipped")
        return
    real = read_nifti(STS001)
    print("\nrealism: 30 mm liver box, STS_001 vs realistic FDG phantoms on STS_001's voxel grid")
    r = box_stats(real, (90.0, -10.0, -420.0))
    print(f"  STS_001      mean {r['mean']:.2f} CoV {r['cov']:.3f} "
          f"autocorr {r['autocorr_i']:.2f} {r['autocorr_j']:.2f} {r['autocorr_k']:.2f}")
    for seed in range(3):
        case = generate_case(np.random.default_rng(seed), PhantomConfig(
            tracer="fdg", voxel_mm=real.spacing, n_lesions=0))
        p = organ_box_stats(case.suv, case.label, ORGAN_IDS["liver"])
        print(f"  phantom s={seed}  mean {p['mean']:.2f} CoV {p['cov']:.3f} "
              f"autocorr {p['autocorr_i']:.2f} {p['autocorr_j']:.2f} {p['autocorr_k']:.2f} "
              f"(PSF {case.info['scanner']['psf_fwhm_mm']:.1f} mm, "
              f"noise CoV {case.info['scanner']['noise_cov']:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5)
    parser.add_argument("--voxel-mm", type=float, nargs="+", default=[4.0, 3.3, 3.0])
    parser.add_argument("--mode", choices=("realistic", "randomized"), default="realistic")
    args = parser.parse_args()
    generate_case(np.random.default_rng(0), PhantomConfig(small=True))  # warm-up (imports)
    for voxel in args.voxel_mm:
        rows = time_cases(voxel, args.cases, args.mode)
        for seconds, shape, lesions in rows:
            print(f"{voxel:.1f} mm  {args.mode:10s} shape {shape}  {lesions:2d} lesions  "
                  f"{seconds:.2f} s")
        times = [r[0] for r in rows]
        print(f"{voxel:.1f} mm  median {np.median(times):.2f} s  max {max(times):.2f} s per case")
    realism()


if __name__ == "__main__":
    main()
