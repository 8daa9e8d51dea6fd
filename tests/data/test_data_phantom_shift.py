"""Scanner-shift flags of ``seganypet phantom`` and the target selection of the evaluation
splits (``seganypet.evaluation.targets``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seganypet.cli import main
from seganypet.data.manifest import CaseRecord, read_manifest
from seganypet.data.organs import ORGAN_IDS
from seganypet.evaluation.targets import (
    CARD_ORGANS,
    evaluation_record,
    select_targets,
    sts001_record,
)
from seganypet.io.nifti import read_nifti

# Plenty of counts: the noise (std ~ 1/sqrt(counts)) then cannot hide the effect under test.
_QUIET = ["--count-level", "1000"]


def _phantom(out: Path, *flags: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """One small FDG phantom of seed 5 with ``flags``: (SUV, labels, info)."""
    assert main(["phantom", str(out), "--cases", "1", "--seed", "5", "--small", "--tracer", "fdg",
                 "--lesions", "4", *flags]) == 0
    record = read_manifest(out / "manifest.jsonl")[0]
    info = json.loads((out / record.meta["info"]).read_text())
    return read_nifti(record.image).array, read_nifti(record.label).array, info


def test_larger_psf_lowers_small_lesion_suvmax_and_is_recorded(tmp_path: Path) -> None:
    sharp, labels, info = _phantom(tmp_path / "sharp", "--psf-mm", "4", *_QUIET)
    blurred, labels_b, info_b = _phantom(tmp_path / "blurred", "--psf-mm", "12", *_QUIET)
    np.testing.assert_array_equal(labels, labels_b)  # same seed: same body and lesions
    smallest = min(info["lesions"], key=lambda les: les["diameter_mm"])
    inside = labels == smallest["id"]
    assert inside.any()
    assert blurred[inside].max() < 0.9 * sharp[inside].max()  # partial-volume loss
    assert info_b["scanner"]["psf_fwhm_mm"] == 12.0
    assert info_b["scanner_shift"] == {"psf_fwhm_mm": 12.0, "count_level": 1000.0}
    meta = read_manifest(tmp_path / "blurred" / "manifest.jsonl")[0].meta
    assert meta["scanner_shift"] == info_b["scanner_shift"]


def test_attenuation_bias_on_lowers_bone_uptake_against_off(tmp_path: Path) -> None:
    on, labels, info_on = _phantom(tmp_path / "on", "--attenuation-bias", "on", *_QUIET)
    off, _, info_off = _phantom(tmp_path / "off", "--attenuation-bias", "off", *_QUIET)
    assert not np.array_equal(on, off)
    assert info_off["scanner"]["bone_ac_factor"] == 1.0 == info_off["scanner"]["lung_ac_factor"]
    assert info_on["scanner"]["bone_ac_factor"] < 1.0
    bone = labels == ORGAN_IDS["bone"]
    assert on[bone].mean() < 0.95 * off[bone].mean()  # MR-based AC ignores bone
    assert info_on["scanner_shift"]["attenuation_bias"] is True


def test_lower_count_level_gives_noisier_liver(tmp_path: Path) -> None:
    # Same seed, so the same noise pattern scaled by 1/sqrt(counts): compare each image's
    # residual against a near noise-free one (texture and partial volume cancel out).
    quiet, labels, _ = _phantom(tmp_path / "quiet", "--count-level", "1e6")
    low, _, _ = _phantom(tmp_path / "low", "--count-level", "0.2")
    high, _, _ = _phantom(tmp_path / "high", "--count-level", "5")
    liver = labels == ORGAN_IDS["liver"]
    ratio = (low - quiet)[liver].std() / (high - quiet)[liver].std()
    assert ratio == pytest.approx(5.0, rel=0.2)  # sqrt(5 / 0.2)


def test_no_shift_flags_no_shift_record(tmp_path: Path) -> None:
    _, _, info = _phantom(tmp_path / "plain")
    assert "scanner_shift" not in info
    assert "scanner_shift" not in read_manifest(tmp_path / "plain" / "manifest.jsonl")[0].meta


@pytest.mark.parametrize(("flags", "name"), [
    (["--psf-mm", "0"], "--psf-mm"),
    (["--count-level", "-0.5"], "--count-level"),
    (["--count-level", "nan"], "--count-level"),
])
def test_bad_shift_value_is_one_line_error(tmp_path: Path, capsys, flags: list[str],
                                           name: str) -> None:
    assert main(["phantom", str(tmp_path / "bad"), "--small", *flags]) != 0
    err = capsys.readouterr().err.strip()
    assert name in err and "positive" in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "bad").exists()


def test_bad_attenuation_bias_choice_is_rejected(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:  # argparse's own choice check
        main(["phantom", str(tmp_path), "--attenuation-bias", "maybe"])
    assert exc.value.code != 0 and "--attenuation-bias" in capsys.readouterr().err


def _hand_made_record(quality: str = "HQ") -> CaseRecord:
    names = {1: "brain", 2: "heart", 3: "liver", 8: "aorta", 9: "lung_left", 17: "muscle",
             101: "lesion_1", 102: "lesion_2", 103: "lesion_3"}
    meta = {"info": "c.json", "hq_label": "c_label.nii.gz"} if quality == "LQ" else {}
    return CaseRecord("c", Path("/data/c_SUV.nii.gz"), Path("/data/c_label_LQ.nii.gz"), names,
                      cohort="phantom-realistic", split="train", quality=quality, meta=meta)


def test_select_targets_keeps_card_organs_and_lesions_of_at_least_10_mm() -> None:
    record = _hand_made_record()
    lesions = [{"id": 101, "diameter_mm": 9.99}, {"id": 102, "diameter_mm": 10.0},
               {"id": 103, "diameter_mm": 42.0}]
    assert select_targets(record.label_names, lesions) == (1, 2, 3, 102, 103)
    assert set(CARD_ORGANS) >= {"brain", "heart", "liver"}
    assert {"aorta", "lung_left", "muscle"}.isdisjoint(CARD_ORGANS)
    assert select_targets(record.label_names, lesions, organs=("liver",), min_lesion_mm=20) == (3, 103)


def test_evaluation_record_sets_split_targets_and_exact_label() -> None:
    info = {"lesions": [{"id": 101, "diameter_mm": 5.0}, {"id": 103, "diameter_mm": 15.0}]}
    ready = evaluation_record(_hand_made_record("LQ"), info, split="external")
    assert ready.split == "external" and ready.quality == "HQ"
    assert ready.label == Path("/data/c_label.nii.gz")  # the exact label, not the LQ one
    assert ready.targets == (1, 2, 3, 103)
    assert evaluation_record(_hand_made_record(), info).label == Path("/data/c_label_LQ.nii.gz")


def test_sts001_record_points_into_shared_or_is_none(tmp_path: Path) -> None:
    assert sts001_record(tmp_path) is None
    derived = tmp_path / "sts001_wholebody_fdg_pet" / "derived_nifti"
    derived.mkdir(parents=True)
    record = sts001_record(tmp_path)
    assert record is not None and record.image.parent == derived and record.split == "external"
    assert record.target_ids == (1,) and record.label_names[1].startswith("lesion")
