"""The calibrated quality score: isotonic fit, JSON round trip, the shipped calibration."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seganypet.session.quality import CALIBRATION_FILE, fit_isotonic, load_calibration, mask_quality
from seganypet.session.safety_net import BoundaryStep


def test_isotonic_fit_pools_violators_and_is_monotone() -> None:
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    fit = fit_isotonic(x, np.array([0.0, 2.0, 1.0, 3.0, 3.0]))
    assert fit.x.tolist() == [0.0, 1.5, 3.0, 4.0] and fit.y.tolist() == [0.0, 1.5, 3.0, 3.0]
    rng = np.random.default_rng(0)
    xs = rng.random(300)
    fit = fit_isotonic(xs, xs + 0.3 * rng.standard_normal(300))
    assert np.all(np.diff(fit.y) >= 0) and np.all(np.diff(fit.x) >= 0)
    assert fit(-1.0) == fit.y[0] and fit(2.0) == fit.y[-1]  # flat outside the data


def test_calibration_json_round_trip_and_bad_files(tmp_path) -> None:
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"x": [0.0, 0.5, 1.0], "y": [0.1, 0.4, 0.9]}))
    calibration = load_calibration(path)
    assert calibration(0.25) == pytest.approx(0.25)
    assert mask_quality(BoundaryStep(2.0, 1.0), calibration) == pytest.approx(0.4)
    path.write_text(json.dumps({"x": [1.0, 0.0], "y": [0.0, 1.0]}))
    with pytest.raises(ValueError):
        load_calibration(path)


def test_shipped_calibration_is_monotone_and_in_unit_range() -> None:
    calibration = load_calibration(CALIBRATION_FILE)
    assert np.all(np.diff(calibration.y) >= 0)
    assert 0.0 <= calibration.y.min() and calibration.y.max() <= 1.0
    assert mask_quality(BoundaryStep(1.0, 1.0)) <= mask_quality(BoundaryStep(4.0, 1.0))
