"""Bad input and limits: path confinement, uploads, malformed bodies, sessions, tokens, leases."""

from __future__ import annotations

import io
import sys
import time
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from seganypet.errors import InputError
from seganypet.server import ServerConfig

REPO = Path(__file__).resolve().parents[2]


def error(answer, status: int) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in body["detail"]
    return body["detail"]


@pytest.fixture
def outside(scan_root: Path, tmp_path: Path) -> Path:
    """A readable scan outside --root, reachable from inside only through a symlink."""
    secret = tmp_path / "secret_SUV.nii.gz"
    secret.write_bytes((scan_root / "case_SUV.nii.gz").read_bytes())
    link = scan_root / "link_out.nii.gz"
    if not link.is_symlink():
        link.symlink_to(secret)
    (scan_root / "dir_link").unlink(missing_ok=True)
    (scan_root / "dir_link").symlink_to(tmp_path, target_is_directory=True)
    return secret


@pytest.mark.parametrize("path,status", [
    ("../secret_SUV.nii.gz", 403), ("sub/../../x.nii.gz", 403), ("/etc/passwd", 403),
    ("link_out.nii.gz", 403), ("dir_link/secret_SUV.nii.gz", 403), ("C:/x.nii.gz", 403),
    ("missing.nii.gz", 404), ("", 400),
])
def test_paths_outside_root_are_refused(client, outside, path, status) -> None:
    detail = error(client.post("/api/sessions", json={"path": path}), status)
    assert str(outside) not in detail  # nothing about the outside file leaks
    assert client.get("/api/sessions").json() == []


def test_upload_nifti_and_the_size_limit(make_client, scan_root, tmp_path) -> None:
    data = (scan_root / "case_SUV.nii.gz").read_bytes()
    client = make_client(max_upload_mb=len(data) / 2**20 + 0.01)
    answer = client.post("/api/sessions", files={"file": ("scan.nii.gz", data)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["shape"] == list(nib.load(scan_root / "case_SUV.nii.gz").shape)
    assert answer.json()["path"] == "upload:scan.nii.gz"
    small = make_client(max_upload_mb=0.01)
    assert "limit" in error(small.post("/api/sessions", files={"file": ("scan.nii.gz", data)}), 413)
    error(client.post("/api/sessions", files={"file": ("scan.txt", b"hello")}), 415)
    error(client.post("/api/sessions", files={"file": ("scan.nii.gz", b"not a nifti")}), 400)
    error(client.post("/api/sessions", files={"file": ("scan.zip", b"not a zip")}), 400)
    work = tmp_path / "work"
    assert sorted(p.name for p in work.iterdir()) == [answer.json()["id"]]  # refused: no folder


def dicom_zip(tmp_path: Path) -> bytes:
    sys.path.insert(0, str(REPO / "tests" / "io"))
    from pet_dicom_factory import write_series

    values = np.ones((24, 20, 16), np.float32) * 2000.0
    values[8:14, 8:13, 6:11] = 16000.0  # Bq/ml: a hot box
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    folder = tmp_path / "series"
    write_series(folder, values, affine)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for path in sorted(folder.iterdir()):
            zipped.write(path, f"series/{path.name}")
    return buffer.getvalue()


def test_dicom_zip_upload_exports_dicom_seg(client, tmp_path) -> None:
    answer = client.post("/api/sessions", files={"file": ("pet.zip", dicom_zip(tmp_path))})
    assert answer.status_code == 200, answer.text
    info = answer.json()
    assert info["dicom"] is True and info["shape"] == [24, 20, 16]
    sid = info["id"]
    error(client.get(f"/api/sessions/{sid}/labels", params={"format": "dicom-seg"}), 409)
    state = client.post(f"/api/sessions/{sid}/points", json={"index": [10, 10, 8]}).json()
    assert state["voxels"] > 0
    seg = client.get(f"/api/sessions/{sid}/labels", params={"format": "dicom-seg"})
    assert seg.status_code == 200 and seg.content[128:132] == b"DICM"
    error(client.get(f"/api/sessions/{sid}/labels", params={"format": "png"}), 422)


def test_zip_with_unsafe_member_is_refused(client) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("../escape.dcm", b"x")
    assert "unsafe" in error(client.post("/api/sessions",
                                         files={"file": ("x.zip", buffer.getvalue())}), 400)


def test_dicom_seg_of_a_nifti_scan_is_a_clear_400(client, liver_click) -> None:
    sid = client.post("/api/sessions", json={"path": "case_SUV.nii.gz"}).json()["id"]
    client.post(f"/api/sessions/{sid}/points", json={"index": liver_click})
    assert "DICOM" in error(client.get(f"/api/sessions/{sid}/labels?format=dicom-seg"), 400)


def test_malformed_bodies_unknown_sessions_and_clicks_outside(client) -> None:
    headers = {"content-type": "application/json"}
    error(client.post("/api/sessions", content=b"{bad", headers=headers), 400)
    error(client.post("/api/sessions", json={"file": "x"}), 400)
    sid = client.post("/api/sessions", json={"path": "case_SUV.nii.gz"}).json()["id"]
    base = f"/api/sessions/{sid}"
    error(client.post(f"{base}/points", content=b"[1, 2", headers=headers), 400)
    error(client.post(f"{base}/points", json={"index": [1, 2]}), 422)
    error(client.post(f"{base}/points", json={"index": [1, 2, "x"]}), 422)
    assert "outside" in error(client.post(f"{base}/points", json={"index": [1000, 0, 0]}), 400)
    error(client.post(f"{base}/points", json={"index": [-5, 0, 0]}), 400)
    error(client.post(f"{base}/undo"), 400)  # nothing to undo
    error(client.post(f"{base}/objects", json={"name": "  "}), 400)
    for method, route in (("GET", ""), ("POST", "/undo"), ("GET", "/labels"), ("DELETE", "")):
        error(client.request(method, f"/api/sessions/nope{route}"), 404)
    error(client.get("/api/nothing"), 404)


def test_session_limit(make_client) -> None:
    client = make_client(max_sessions=2)
    ids = [client.post("/api/sessions", json={"path": "case_SUV.nii.gz"}).json()["id"]
           for _ in range(2)]
    assert "max-sessions" in error(client.post("/api/sessions",
                                               json={"path": "case_SUV.nii.gz"}), 429)
    client.delete(f"/api/sessions/{ids[0]}")
    assert client.post("/api/sessions", json={"path": "case_SUV.nii.gz"}).status_code == 200


def test_idle_lease_and_memory_cap_evict_least_recently_used(make_client) -> None:
    client = make_client(idle_seconds=0.3)
    sid = client.post("/api/sessions", json={"path": "case_SUV.nii.gz"}).json()["id"]
    time.sleep(0.5)
    assert "idle" in error(client.get(f"/api/sessions/{sid}"), 410)
    capped = make_client(memory_mb=4.0)  # one phantom session is ~3 MB by the estimate
    first = capped.post("/api/sessions", json={"path": "case_SUV.nii.gz"}).json()["id"]
    second = capped.post("/api/sessions", json={"path": "case_SUV.nii.gz"}).json()["id"]
    assert "memory" in error(capped.get(f"/api/sessions/{first}"), 410)
    assert capped.get(f"/api/sessions/{second}").status_code == 200


def test_token_is_required_on_the_api_only(make_client) -> None:
    client = make_client(token="s3cret")
    error(client.get("/api/health"), 401)
    error(client.get("/api/health", headers={"Authorization": "Bearer wrong"}), 401)
    error(client.get("/api/health", headers={"Authorization": "Basic s3cret"}), 401)
    assert client.get("/api/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/").status_code in (200, 404)  # the viewer page itself holds no data


def test_non_loopback_needs_a_token(scan_root, tmp_path, capsys) -> None:
    with pytest.raises(InputError, match="without --token"):
        ServerConfig(root=scan_root, work_dir=tmp_path, host="0.0.0.0")
    ServerConfig(root=scan_root, work_dir=tmp_path, host="0.0.0.0", token="t")
    ServerConfig(root=scan_root, work_dir=tmp_path, host="::1")
    import argparse

    from seganypet.cli import serve

    parser = argparse.ArgumentParser()
    serve.register(parser.add_subparsers())
    args = parser.parse_args(["serve", "--root", str(scan_root), "--host", "192.168.1.5"])
    args.token = None  # SEGANYPET_TOKEN may be set in the environment
    with pytest.raises(InputError, match="refusing to listen on 192.168.1.5"):
        args.handler(args)
