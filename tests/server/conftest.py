"""Fixtures of the server tests: a small whole-body phantom under a root folder, the shipped
model (loaded once), apps on that root, and a live uvicorn server for the client and browser."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")

from seganypet.clicks import distance_center
from seganypet.data.organs import LESION_ID_START, ORGAN_IDS
from seganypet.data.phantom import PhantomConfig, generate_case, write_case


@pytest.fixture(scope="session")
def scan_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``root/case_SUV.nii.gz`` (+ label), a phantom at 6 mm voxels, ~(92, 42, 169)."""
    root = tmp_path_factory.mktemp("root")
    case = generate_case(np.random.default_rng(3), PhantomConfig(tracer="fdg", n_lesions=3,
                                                                 voxel_mm=6.0))
    write_case(case, root, "case")
    return root


@pytest.fixture(scope="session")
def truth(scan_root: Path) -> np.ndarray:
    import nibabel as nib

    return np.asarray(nib.load(scan_root / "case_label.nii.gz").dataobj).astype(np.int32)


@pytest.fixture(scope="session")
def liver_click(truth: np.ndarray) -> list[float]:
    return [float(v) for v in distance_center(truth == ORGAN_IDS["liver"], (6.0, 6.0, 6.0))]


@pytest.fixture(scope="session")
def lesion_click(truth: np.ndarray) -> list[float]:
    present = [v for v in np.unique(truth) if v >= LESION_ID_START]
    return [float(v) for v in distance_center(truth == present[0], (6.0, 6.0, 6.0))]


@pytest.fixture(scope="session")
def model():
    from seganypet import load_model

    return load_model("default")


@pytest.fixture
def make_client(scan_root: Path, model, tmp_path: Path) -> Iterator[Callable[..., object]]:
    """``make_client(**config)`` -> a TestClient on a fresh app (work dir in tmp_path)."""
    from fastapi.testclient import TestClient

    from seganypet.server import ServerConfig, create_app

    clients = []

    def make(**overrides):
        settings = {"root": scan_root, "work_dir": tmp_path / "work", **overrides}
        client = TestClient(create_app(ServerConfig(**settings), model=model))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live_work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session folders of :func:`live_server`."""
    return tmp_path_factory.mktemp("live")


@pytest.fixture(scope="module")
def live_server(scan_root: Path, model, live_work: Path) -> Iterator[str]:
    """A real uvicorn server on a free loopback port; yields its base URL."""
    import uvicorn

    from seganypet.server import ServerConfig, create_app

    config = ServerConfig(root=scan_root, work_dir=live_work)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(config, model=model), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
