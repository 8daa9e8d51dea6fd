"""PERCIST liver reference against numpy by hand on an ellipsoidal 'liver'."""

from __future__ import annotations

import numpy as np
import pytest

from seganypet.errors import InputError
from seganypet.quantify import liver_reference


def ellipsoid(shape, centre, semi_axes_vox):
    grid = np.indices(shape).astype(np.float64)
    return sum(((g - c) / a) ** 2 for g, c, a in zip(grid, centre, semi_axes_vox)) <= 1.0


def test_liver_reference_matches_numpy(make_volume, distances, rng):
    spacing = (3.0, 3.0, 4.0)
    shape = (34, 30, 22)
    liver = ellipsoid(shape, (16.0, 14.0, 10.0), (13.0, 10.0, 8.0))  # ~ 78 x 60 x 64 mm
    values = np.where(liver, rng.normal(2.2, 0.3, size=shape), rng.normal(0.8, 0.2, size=shape))
    image = make_volume(values, spacing)

    ref = liver_reference(image, liver)

    # the deepest voxel, by brute force: distance (mm) to the nearest non-liver voxel centre,
    # with the image surrounded by non-liver
    padded = np.pad(liver, 1)
    outside = np.argwhere(~padded) * np.asarray(spacing)
    inside = np.argwhere(padded)
    depth = np.array([np.min(np.linalg.norm(outside - p * np.asarray(spacing), axis=1)) for p in inside])
    assert ref.centre_index == tuple(int(v) for v in inside[np.argmax(depth)] - 1)
    assert ref.fits_inside

    sphere = distances(shape, image.affine, np.asarray(ref.centre_index)) <= 15.0
    voxels = values[sphere & liver]
    assert ref.voxel_count == voxels.size
    assert ref.mean == pytest.approx(voxels.mean(), rel=1e-9)
    assert ref.sd == pytest.approx(voxels.std(), rel=1e-9)
    assert ref.threshold == pytest.approx(1.5 * voxels.mean() + 2.0 * voxels.std(), rel=1e-9)
    assert np.allclose(ref.centre_mm, image.index_to_world(ref.centre_index))
    # a 3 cm sphere on 3x3x4 mm voxels: about 14.1 ml / 36 µl = 393 voxels
    assert 350 < ref.voxel_count < 440


def test_thin_liver_and_user_centre(make_volume, rng):
    values = rng.uniform(1.0, 3.0, size=(20, 20, 6))
    liver = np.zeros(values.shape, dtype=bool)
    liver[2:18, 2:18, 1:4] = True  # only 3 slices of 4 mm: the sphere cannot fit
    image = make_volume(values, (2.0, 2.0, 4.0))
    ref = liver_reference(image, liver, centre=(5, 6, 2))
    assert not ref.fits_inside and ref.centre_index == (5, 6, 2)
    grid = np.indices(values.shape).astype(float)
    d = np.sqrt(sum(((g - c) * s) ** 2 for g, c, s in zip(grid, (5, 6, 2), (2.0, 2.0, 4.0))))
    assert ref.mean == pytest.approx(values[(d <= 15.0) & liver].mean(), rel=1e-9)
    with pytest.raises(InputError, match="not a liver voxel"):
        liver_reference(image, liver, centre=(0, 0, 0))
    with pytest.raises(InputError, match="empty"):
        liver_reference(image, np.zeros(values.shape, dtype=bool))
