"""Simulated users for scribbles and boxes, autoPET V's DMM, and the protocol loop with the
shipped default model on a small synthetic scene."""

from __future__ import annotations

import numpy as np
import pytest

from seganypet import Session, load_model
from seganypet.errors import InputError
from seganypet.evaluation.baselines import make_baseline
from seganypet.evaluation.detection import detection_f1
from seganypet.evaluation.protocols import protocol_rows, run_protocol, with_auc
from seganypet.strokes import box_2d, box_3d, centerline, largest_slice_component, next_scribble
from seganypet.volume import Volume


def slab() -> np.ndarray:
    target = np.zeros((30, 30, 10), bool)
    target[5:25, 10:16, 3:7] = True
    target[5:10, 10:16, 7] = True  # a smaller section on slice 7
    return target


def test_first_scribble_is_a_positive_centre_line_on_the_largest_axial_section() -> None:
    target = slab()
    stroke = next_scribble(np.zeros_like(target), target)
    assert stroke is not None and stroke.positive and not stroke.joined
    points = stroke.array.astype(int)
    assert set(points[:, 2]) == {3}  # the largest section (ties: lowest slice)
    assert target[tuple(points.T)].all()
    assert np.ptp(points[:, 0]) >= 12  # along the long axis, ends trimmed
    assert set(points[:, 1]) <= {12, 13}  # down the middle of the 6-pixel-wide section


def test_larger_error_gets_the_stroke_and_perfect_masks_get_none() -> None:
    target = slab()
    leak = target.copy()
    leak[0:30, 20:28, 5] = True  # a big over-segmentation on slice 5
    stroke = next_scribble(leak, target)
    assert stroke is not None and not stroke.positive and set(stroke.array[:, 2]) == {5}
    assert next_scribble(target, target) is None


def test_centerline_of_a_single_pixel_and_largest_component() -> None:
    one = np.zeros((5, 5), bool)
    one[2, 3] = True
    assert centerline(one).tolist() == [[2, 3]]
    assert largest_slice_component(np.zeros((4, 4, 4), bool)) is None


def test_boxes_bound_the_target() -> None:
    target = slab()
    assert box_3d(target).points == ((5.0, 10.0, 3.0), (24.0, 15.0, 7.0))
    flat = box_2d(target)
    assert flat.slice_axis == 2 and flat.points[0][2] == flat.points[1][2]
    with pytest.raises(InputError):
        box_3d(np.zeros((3, 3, 3), bool))


def test_detection_f1() -> None:
    truth = np.zeros((20, 20, 20), bool)
    truth[2:6, 2:6, 2:6] = True
    truth[12:16, 12:16, 12:16] = True
    assert detection_f1(truth, truth) == 1.0
    one = truth.copy()
    one[12:16] = False
    assert detection_f1(one, truth) == pytest.approx(2 / 3)  # TP 1, FN 1
    extra = truth.copy()
    extra[8, 18, 0] = True
    assert detection_f1(extra, truth) == pytest.approx(4 / 5)  # TP 2, FP 1
    assert np.isnan(detection_f1(truth, np.zeros_like(truth)))


def test_with_auc_is_the_running_normalised_trapezoid() -> None:
    assert with_auc([0.5, 1.0, 1.0]) == pytest.approx([0.5, 0.75, 0.875])


@pytest.fixture(scope="module")
def sphere_case():
    affine = np.diag([4.0, 4.0, 3.0, 1.0])
    shape = (41, 41, 45)
    volume = Volume(np.zeros(shape, np.float32), affine)
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1)
    sphere = np.linalg.norm(volume.index_to_world(idx) - volume.index_to_world((20, 20, 22)),
                            axis=-1) < 14.0
    image = volume.with_array((1.0 + 7.0 * sphere).astype(np.float32))
    return image, image.with_array(sphere.astype(np.uint8), unit="mask")


@pytest.mark.parametrize("protocol", ["scribbles", "boxes", "suggested"])
def test_protocols_run_with_the_default_model(sphere_case, protocol) -> None:
    model = load_model("default")
    image, target = sphere_case
    rows = protocol_rows(protocol, lambda: Session(model), image, target, 2, "center",
                         np.random.default_rng(0))
    variants = {"scribbles": {"scribbles"}, "boxes": {"box3d", "box2d"},
                "suggested": {"suggested"}}[protocol]
    assert {v for v, _, _ in rows} == variants and len(rows) == 2 * len(variants)
    for _, step, extra in rows:
        assert 0.0 <= step.scores.dice <= 1.0 and 0.0 <= extra["auc_dice"] <= 1.0
    first = {v: s for v, s, _ in rows if s.number == 1}
    if protocol == "boxes":
        assert first["box3d"].scores.dice > 0.8, "a tight box around a hot sphere finds it"


def test_drawn_protocols_refuse_click_only_segmenters(sphere_case) -> None:
    image, target = sphere_case
    with pytest.raises(InputError, match="clicks only"):
        run_protocol("scribbles", make_baseline("suv2.5"), image, target, 2, "center",
                     np.random.default_rng(0))
