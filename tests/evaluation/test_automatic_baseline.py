"""The automatic supervised baseline: class-map answers, geometry of whole-scan inference,
training + evaluation through the CLI."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from eval_phantoms import write_tiny_manifest

from seganypet.baseline.network import SupervisedConfig, SupervisedModel, load_supervised
from seganypet.cli import main
from seganypet.errors import InputError
from seganypet.evaluation.automatic import AutomaticSegmenter, predict_classes
from seganypet.volume import Volume

NAMES = ("background", "liver", "kidney_left", "lesion")


def _scan() -> tuple[Volume, np.ndarray]:
    classes = np.zeros((20, 20, 20), np.uint8)
    classes[2:10, 2:10, 2:10] = 1          # liver
    classes[12:15, 12:15, 12:15] = 3       # lesion A
    classes[16:19, 2:5, 2:5] = 3           # lesion B
    return Volume(np.ones((20, 20, 20), np.float32), np.eye(4), "SUVbw"), classes


def _segmenter(classes: np.ndarray) -> AutomaticSegmenter:
    return AutomaticSegmenter(lambda image: classes, NAMES)


def test_organ_target_gets_its_class_and_clicks_do_not_change_it() -> None:
    image, classes = _scan()
    seg = _segmenter(classes)
    seg.set_image(image)
    seg.set_target("liver")
    first = np.asarray(seg.add_point((5, 5, 5)).array).copy()
    assert first.sum() == 8 ** 3 and first[classes == 1].all()
    seg.add_point((0, 0, 0), positive=False)
    seg.add_point((13, 13, 13), positive=True)
    assert np.array_equal(np.asarray(seg.mask.array), first)


def test_lesion_target_is_the_component_under_the_click_or_nothing() -> None:
    image, classes = _scan()
    seg = _segmenter(classes)
    seg.set_image(image)
    seg.set_target("lesion_7")
    mask = np.asarray(seg.add_point((13, 13, 13)).array)
    assert mask.sum() == 27 and mask[13, 13, 13] and not mask[17, 3, 3]
    seg.set_image(image)
    seg.set_target("GTV")  # a tumour name the network never saw -> the lesion class
    assert np.asarray(seg.add_point((5, 5, 5)).array).sum() == 0  # missed: click on liver
    seg.set_image(image)
    seg.set_target("pancreas_never_learned")  # an organ it never learned: nothing, not a lesion
    assert np.asarray(seg.add_point((17, 3, 3)).array).sum() == 0


def test_without_a_target_name_the_clicked_class_is_used() -> None:
    image, classes = _scan()
    seg = _segmenter(classes)
    seg.set_image(image)
    assert np.asarray(seg.add_point((4, 4, 4)).array).sum() == 8 ** 3
    with pytest.raises(InputError):
        seg.add_point((40, 0, 0))


class _HotVoxels(torch.nn.Module):
    """Class 1 where log1p(SUV) > 1 (SUV > e - 1), else background: a fixed rule that lets
    the test check where predictions land on the original grid."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.ones_like(x), (x > 1.0).to(x.dtype) * 2.0], dim=1)


def test_whole_scan_prediction_lands_on_the_original_grid_for_any_storage_order() -> None:
    # A hot box on an anisotropic, permuted and flipped grid: after reorientation, 3 mm
    # resampling, sliding windows and the way back it must cover the same voxels.
    shape, hot = (30, 24, 40), (slice(10, 20), slice(6, 16), slice(12, 30))
    suv = np.full(shape, 0.5, np.float32)
    suv[hot] = 6.0
    affine = np.array([[0, 0, -2.0, 50], [3.0, 0, 0, -20], [0, -2.5, 0, 10], [0, 0, 0, 1]])
    config = SupervisedConfig(organs=("liver",), patch_size=16, spacing_mm=3.0)
    model = SupervisedModel(_HotVoxels(), config, {})
    classes = predict_classes(model, Volume(suv, affine, "SUVbw"))
    truth = np.zeros(shape, bool)
    truth[hot] = True
    assert classes.shape == shape
    dice = 2 * ((classes == 1) & truth).sum() / ((classes == 1).sum() + truth.sum())
    assert dice > 0.9


def test_train_baseline_then_evaluate_it_end_to_end(tmp_path) -> None:
    out = tmp_path / "segresnet"
    assert main(["train-baseline", "-o", str(out), "--max-steps", "3", "--patch-size", "32",
                 "--spacing-mm", "8", "--phantom-voxel-mm", "8", "--threads", "1",
                 "--device", "cpu"]) == 0
    model = load_supervised(out)
    assert model.info["steps"] == 3 and model.class_names[-1] == "lesion"
    assert len((out / "log.csv").read_text().splitlines()) == 1 + 3
    manifest = write_tiny_manifest(tmp_path, np.random.default_rng(0))
    result = tmp_path / "eval"
    assert main(["evaluate", "--manifest", str(manifest), "--automatic", str(out),
                 "--clicks", "2", "--strategy", "center", "-o", str(result)]) == 0
    rows = list(csv.DictReader((result / "results.csv").read_text().splitlines()))
    assert {r["method"] for r in rows} == {"automatic:segresnet"} and len(rows) == 8
    for first, second in zip(rows[::2], rows[1::2]):  # flat over clicks by construction
        assert first["dice"] == second["dice"]


def test_load_supervised_refuses_other_files(tmp_path) -> None:
    with pytest.raises(InputError):
        load_supervised(tmp_path / "missing.safetensors")
