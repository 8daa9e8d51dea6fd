"""Bad input gives one clear InputError and writes nothing; ``seganypet suv`` end to end."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pet_dicom_factory import BASE_FACTOR, write_series

import seganypet
from seganypet.cli import main
from seganypet.errors import InputError

AFFINE = np.diag([2.0, 2.0, 3.0, 1.0])


def nifti_file(path: Path, array: np.ndarray) -> Path:
    nib.save(nib.Nifti1Image(array, AFFINE), str(path))
    return path


def truncated_nifti(tmp_path: Path) -> Path:
    path = nifti_file(tmp_path / "full.nii.gz", np.ones((16, 16, 16), np.float32))
    data = path.read_bytes()
    out = tmp_path / "truncated.nii.gz"
    out.write_bytes(data[: len(data) // 2])
    return out


def corrupt_nifti(tmp_path: Path) -> Path:
    out = tmp_path / "corrupt.nii.gz"
    out.write_bytes(gzip.compress(b"this is not a NIfTI header" * 20))
    return out


def nan_nrrd(tmp_path: Path) -> Path:
    array = np.ones((5, 6, 7), np.float32)
    array[1, 2, 3] = np.inf
    out = tmp_path / "inf.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(array), str(out))
    return out


BAD_FILES = {
    "truncated": (truncated_nifti, "cannot read"),
    "corrupt": (corrupt_nifti, "cannot read"),
    "2d": (lambda d: nifti_file(d / "flat.nii.gz", np.ones((8, 8), np.float32)), "2D"),
    "4d": (lambda d: nifti_file(d / "dynamic.nii.gz", np.ones((4, 4, 4, 3), np.float32)), "4D"),
    "nan": (lambda d: nifti_file(d / "nan.nii.gz", np.where(np.eye(4)[:, :, None] > 0, np.nan,
                                                            np.ones((4, 4, 4), np.float32))), "NaN"),
    "inf-nrrd": (nan_nrrd, "NaN or infinite"),
    "png": (lambda d: (d / "scan.png").write_bytes(b"\x89PNG") and d / "scan.png", "unsupported"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_image_files_raise_one_clear_input_error(tmp_path: Path, case: str) -> None:
    make, message = BAD_FILES[case]
    path = make(tmp_path)
    with pytest.raises(InputError, match=message):
        seganypet.read_pet(path)


def good_series(directory: Path, rng: np.random.Generator, header: dict | None = None) -> np.ndarray:
    values = rng.uniform(0, 10000, size=(8, 6, 5))
    write_series(directory, values, AFFINE, header=header)
    return values


def run_suv_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main(["suv", *[str(a) for a in args]])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_ct_series_given_as_pet_is_refused_and_nothing_written(tmp_path: Path, rng: np.random.Generator,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    write_series(tmp_path / "ct", rng.uniform(-1000, 1000, size=(8, 6, 5)), AFFINE, modality="CT")
    with pytest.raises(InputError, match="Modality CT"):
        seganypet.read_pet(tmp_path / "ct")
    code, _, err = run_suv_cli(capsys, tmp_path / "ct", "-o", tmp_path / "out.nii.gz")
    assert code == 2 and "Modality CT" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.nii.gz").exists()


def test_truncated_dicom_slice_is_refused_and_nothing_written(tmp_path: Path, rng: np.random.Generator,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    good_series(tmp_path / "pet", rng)
    victim = sorted((tmp_path / "pet").iterdir())[2]
    victim.write_bytes(victim.read_bytes()[:-100])
    code, _, err = run_suv_cli(capsys, tmp_path / "pet", "-o", tmp_path / "out.nii.gz")
    assert code == 2 and victim.name in err
    assert not (tmp_path / "out.nii.gz").exists()


def test_missing_weight_then_cli_override(tmp_path: Path, rng: np.random.Generator,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    values = good_series(tmp_path / "pet", rng, header={"PatientWeight": None})
    before = {p.name: p.read_bytes() for p in (tmp_path / "pet").iterdir()}
    code, _, err = run_suv_cli(capsys, tmp_path / "pet", "-o", tmp_path / "suv.nii.gz")
    assert code == 2 and "PatientWeight (0010,1030)" in err and "--weight" in err
    assert not (tmp_path / "suv.nii.gz").exists()

    code, out, _ = run_suv_cli(capsys, tmp_path / "pet", "-o", tmp_path / "suv.nii.gz", "--weight", "70",
                               "--json", tmp_path / "suv.json")
    assert code == 0 and "weight (kg): 70.0" in out and "weight_kg" in out
    suv = nib.load(str(tmp_path / "suv.nii.gz")).get_fdata()
    slopes = values.reshape(-1, 5).max(axis=0) / 30000.0
    assert np.all(np.abs(suv - values * BASE_FACTOR) <= 0.51 * slopes * BASE_FACTOR + 1e-6)
    assert '"factor"' in (tmp_path / "suv.json").read_text()
    # Inputs are never modified.
    assert before == {p.name: p.read_bytes() for p in (tmp_path / "pet").iterdir()}


def test_cli_dose_and_injection_time_overrides(tmp_path: Path, rng: np.random.Generator,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    good_series(tmp_path / "pet", rng)
    # 740 MBq injected at 09:00, scan 11:00, half-life 3600 s: 185 MBq left, as in the base header.
    code, out, _ = run_suv_cli(capsys, tmp_path / "pet", "-o", tmp_path / "suv.nii.gz",
                               "--dose", "740", "--injection-time", "09:00:00")
    assert code == 0
    factor_line = next(line for line in out.splitlines() if "SUV factor" in line)
    assert float(factor_line.split(":")[1]) == pytest.approx(BASE_FACTOR)
    code, _, err = run_suv_cli(capsys, tmp_path / "pet", "-o", tmp_path / "x.nii.gz",
                               "--injection-time", "nine")
    assert code == 2 and "--injection-time" in err and not (tmp_path / "x.nii.gz").exists()


def test_non_attenuation_corrected_series_is_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    good_series(tmp_path / "pet", rng, header={"CorrectedImage": ["DECY"]})
    with pytest.raises(InputError, match="ATTN"):
        seganypet.read_pet(tmp_path / "pet")


def test_folder_without_dicom_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="no DICOM files"):
        seganypet.read_pet(tmp_path)


def test_dynamic_series_with_repeated_positions_is_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    paths = write_series(tmp_path / "pet", rng.uniform(0, 100, size=(6, 5, 4)), AFFINE)
    ds = pydicom.dcmread(paths[0])
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(tmp_path / "pet" / "frame2.dcm")
    with pytest.raises(InputError, match="share a slice position"):
        seganypet.read_pet(tmp_path / "pet")
