"""The torch-free client against a live uvicorn server, and concurrent users who never see
each other's state (inference is serialised; every session keeps its own objects)."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import nibabel as nib
import numpy as np
import pytest

from seganypet.client import Client, ClientError


def test_importing_the_client_loads_neither_torch_nor_the_server_stack() -> None:
    code = ("import sys, seganypet.client; "
            "print(sorted(m for m in ('torch', 'fastapi', 'starlette', 'uvicorn', 'pydicom') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_client_round_trip(live_server, liver_click, lesion_click, tmp_path) -> None:
    with Client(live_server) as client:
        assert client.health()["status"] == "ok"
        scan = client.open("case_SUV.nii.gz")
        first = scan.add_point(liver_click)
        assert first["object"] == 1 and (scan.labels == 1).sum() == first["voxels"] > 0
        assert scan.new_object("lesion") == 2
        second = scan.add_point(lesion_click)
        assert (scan.labels == 2).sum() == second["voxels"]
        scan.undo()
        assert not (scan.labels == 2).any()
        saved = nib.load(scan.download(tmp_path / "labels.nii.gz"))
        assert np.array_equal(np.asarray(saved.dataobj), scan.labels)
        assert [o["name"] for o in scan.state()["objects"]] == ["object_1", "lesion"]
        assert scan.id in {s["id"] for s in client.sessions()}
        scan.close()
        with pytest.raises(ClientError) as info:
            scan.state()
        assert info.value.status == 410
        with pytest.raises(ClientError) as info:
            client.open("../outside.nii.gz")
        assert info.value.status == 403


def _annotate(base_url: str, clicks: list[list[float]]) -> np.ndarray:
    with Client(base_url) as client:
        scan = client.open("case_SUV.nii.gz")
        for index in clicks:
            scan.add_point(index)
        labels = scan.labels.copy()
        scan.close()
        return labels


def test_concurrent_users_get_what_they_would_alone(live_server, liver_click, lesion_click) -> None:
    plans = [[liver_click, [liver_click[0] + 2, *liver_click[1:]]], [lesion_click, lesion_click]]
    alone = [_annotate(live_server, plan) for plan in plans]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda plan: _annotate(live_server, plan), plans * 2))
    for n, labels in enumerate(together):
        assert np.array_equal(labels, alone[n % 2]), f"user {n} saw a different mask"
