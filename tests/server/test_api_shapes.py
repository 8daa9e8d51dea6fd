"""Boxes, scribbles, lassos and the suggested next click through the REST API, on a small
synthetic hot sphere and the shipped default model: each shape answers the changed part of the
label map like ``/points`` (and exactly what ``Session`` gives), is logged and undoable bit
for bit; malformed shapes are one clear 4xx line; ``/suggest`` answers a voxel and a map."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from seganypet.client.patches import decode_patch
from seganypet.server.scans import read_scan
from seganypet.session import Session

SHAPE = (49, 45, 53)
CENTRE = (24, 22, 26)


@pytest.fixture(scope="module")
def sphere_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """``root/sphere.nii.gz``: warm background (SUV 1), a hot sphere (SUV 8, radius 15 mm) at
    CENTRE on a 4 x 4 x 3 mm grid; and the sphere's boolean mask."""
    root = tmp_path_factory.mktemp("sphere_root")
    affine = np.diag([4.0, 4.0, 3.0, 1.0])
    affine[:3, 3] = [-96.0, -88.0, -78.0]
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in SHAPE], indexing="ij"), -1)
    mm = idx * np.diag(affine)[:3]
    sphere = np.linalg.norm(mm - np.asarray(CENTRE) * np.diag(affine)[:3], axis=-1) < 15.0
    nib.save(nib.Nifti1Image((1.0 + 7.0 * sphere).astype(np.float32), affine),
             root / "sphere.nii.gz")
    return root, sphere


@pytest.fixture
def sphere_client(make_client, sphere_root):
    return make_client(root=sphere_root[0])


def open_sphere(client) -> str:
    answer = client.post("/api/sessions", json={"path": "sphere.nii.gz"})
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def post(client, sid: str, route: str, body: dict, labels: np.ndarray) -> dict:
    """POST a prompt, apply the answered patch to ``labels``, return the state."""
    answer = client.post(f"/api/sessions/{sid}/{route}", json=body)
    assert answer.status_code == 200, answer.text
    state = answer.json()
    if state["patch"] is not None:
        slices, values = decode_patch(state["patch"])
        labels[slices] = values
    return state


def held(mask: np.ndarray, region: np.ndarray) -> float:
    return float((mask & region).sum() / region.sum())


def sphere_box(sphere: np.ndarray) -> tuple[list[int], list[int]]:
    idx = np.argwhere(sphere)
    return (idx.min(axis=0) - 1).tolist(), (idx.max(axis=0) + 1).tolist()


def log_lines(client, sid: str) -> list[dict]:
    folder = client.app.state.manager.folder_for(sid)
    return [json.loads(line) for line in (folder / "annotation.jsonl").open()]


def test_openapi_documents_the_shape_and_suggest_routes(sphere_client) -> None:
    spec = sphere_client.get("/openapi.json").json()
    for route, schema in (("boxes", "BoxRequest"), ("scribbles", "ScribbleRequest"),
                          ("lassos", "LassoRequest")):
        body = spec["paths"][f"/api/sessions/{{session_id}}/{route}"]["post"]["requestBody"]
        assert body["content"]["application/json"]["schema"]["$ref"].endswith(schema)
        fields = set(spec["components"]["schemas"][schema]["properties"])
        assert {"positive", "object"} <= fields and fields & {"lo", "points"}
    assert "get" in spec["paths"]["/api/sessions/{session_id}/suggest"]


def test_box_around_sphere_holds_it_and_equals_session_add_box(sphere_client, sphere_root,
                                                               model) -> None:
    root, sphere = sphere_root
    sid = open_sphere(sphere_client)
    lo, hi = sphere_box(sphere)
    labels = np.zeros(SHAPE, np.uint8)
    state = post(sphere_client, sid, "boxes", {"lo": lo, "hi": hi, "positive": True}, labels)
    mask = labels == 1
    assert held(mask, sphere) >= 0.9 and state["voxels"] == int(mask.sum())
    session = Session(model)
    session.set_image(read_scan(root / "sphere.nii.gz"))
    assert np.array_equal(mask, session.add_box(lo, hi).array > 0)
    line = log_lines(sphere_client, sid)[-1]
    assert line["event"] == "box" and line["points"] == [lo, hi] and line["positive"] is True
    assert line["voxels"] == state["voxels"] and line["latency_ms"] >= 0


@pytest.mark.parametrize("route", ["scribbles", "lassos"])
def test_scribble_and_lasso_inside_the_sphere_hold_it(sphere_client, sphere_root, route) -> None:
    _, sphere = sphere_root
    sid = open_sphere(sphere_client)
    i, j, k = CENTRE
    if route == "scribbles":
        points = [[i - 2, j, k], [i + 2, j + 1, k]]
    else:
        points = [[i + 3 * np.cos(a), j + 3 * np.sin(a), k]
                  for a in np.linspace(0, 2 * np.pi, 12, endpoint=False)]
    labels = np.zeros(SHAPE, np.uint8)
    post(sphere_client, sid, route, {"points": points}, labels)
    assert held(labels == 1, sphere) >= 0.9
    assert (labels == 1).sum() <= 2.0 * sphere.sum(), "the shape must not flood the background"
    assert log_lines(sphere_client, sid)[-1]["event"] == route.removesuffix("s")
    sphere_client.post(f"/api/sessions/{sid}/objects", json={})
    done = [e for e in log_lines(sphere_client, sid) if e["event"] == "object_done"]
    assert done[0]["clicks"] == 0 and done[0]["shapes"] == 1


@pytest.mark.parametrize(("route", "body", "cleared"), [
    ("boxes", {"lo": [22, 20, 24], "hi": [26, 24, 28]},
     (slice(22, 27), slice(20, 25), slice(24, 29))),
    ("scribbles", {"points": [[21, 22, 26], [27, 22, 26]]}, (slice(21, 28), 22, 26)),
    ("lassos", {"points": [[22, 20, 26], [26, 20, 26], [26, 24, 26], [22, 24, 26]]},
     (slice(22, 27), slice(20, 25), 26)),
])
def test_negative_shape_clears_its_voxels_and_undo_restores_bit_for_bit(
        sphere_client, route, body, cleared) -> None:
    sid = open_sphere(sphere_client)
    labels = np.zeros(SHAPE, np.uint8)
    post(sphere_client, sid, "points", {"index": list(CENTRE)}, labels)
    before = labels.copy()
    assert before[cleared].all(), "the first click must cover the shape, or the test proves nothing"
    state = post(sphere_client, sid, route, {**body, "positive": False}, labels)
    assert not labels[cleared].any() and state["voxels"] < int(before.sum())
    assert log_lines(sphere_client, sid)[-1]["positive"] is False
    post(sphere_client, sid, "undo", {}, labels)
    assert np.array_equal(labels, before)
    download = sphere_client.get(f"/api/sessions/{sid}/labels")
    path = Path(sphere_client.app.state.manager.folder_for(sid)) / "check.nii.gz"
    path.write_bytes(download.content)
    assert np.array_equal(np.asarray(nib.load(path).dataobj), before)


@pytest.mark.parametrize(("route", "body", "status", "fragment"), [
    ("scribbles", {"points": []}, 400, "empty"),
    ("lassos", {"points": [[10, 10, 10], [14, 10, 12], [12, 15, 14]]}, 400, "one slice"),
    ("lassos", {"points": [[1, 1, 5], [1, 2, 5]]}, 400, "at least 3"),
    ("boxes", {"lo": [20, 20, 20], "hi": [10, 30, 30]}, 400, "lo"),
    ("boxes", {"lo": [0, 0, 0], "hi": [60, 10, 10]}, 400, "outside the image"),
    ("scribbles", {"points": [[10, 10, 10], [10, 10, -3]]}, 400, "outside the image"),
    ("boxes", {"lo": [10, 10, 10], "hi": [12, 12, 12], "positive": False}, 400, "negative box"),
    ("scribbles", {"points": [[1, 2]]}, 422, "points.0"),
    ("boxes", {"lo": [1, 2, 3]}, 422, "hi"),
    ("lassos", {"points": [[1, 1, 5]] * 3, "colour": "red"}, 422, "colour"),
    ("boxes", {"lo": [1, 1, 1], "hi": [3, 3, 3], "object": 7}, 404, "no object 7"),
])
def test_malformed_shapes_are_one_clear_error(sphere_client, route, body, status,
                                              fragment) -> None:
    sid = open_sphere(sphere_client)
    answer = sphere_client.post(f"/api/sessions/{sid}/{route}", json=body)
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert fragment in detail and "\n" not in detail
    undo = sphere_client.post(f"/api/sessions/{sid}/undo")
    assert undo.status_code == 400 and "nothing to undo" in undo.json()["detail"]


def test_suggest_answers_a_voxel_and_the_uncertainty_map(sphere_client, sphere_root,
                                                         model) -> None:
    root, _ = sphere_root
    sid = open_sphere(sphere_client)
    early = sphere_client.get(f"/api/sessions/{sid}/suggest")
    assert early.status_code == 409 and "nothing to suggest" in early.json()["detail"]
    labels = np.zeros(SHAPE, np.uint8)
    post(sphere_client, sid, "points", {"index": [20, 22, 26]}, labels)
    answer = sphere_client.get(f"/api/sessions/{sid}/suggest")
    assert answer.status_code == 200, answer.text
    hint = answer.json()
    assert hint["object"] == 1 and isinstance(hint["positive"], bool)
    assert all(0 <= v < n for v, n in zip(hint["index"], SHAPE))
    assert 0.0 <= hint["error_probability"] <= 1.0
    unc = hint["uncertainty"]
    assert unc["unit"] == "bits" and unc["dtype"] == "uint8"
    (i0, j0, k0), (i1, j1, k1) = unc["box"]
    assert 0 <= i0 <= i1 < SHAPE[0] and 0 <= j0 <= j1 < SHAPE[1] and 0 <= k0 <= k1 < SHAPE[2]
    slices, values = decode_patch(unc)
    bits = np.zeros(SHAPE, np.float32)
    bits[slices] = values * unc["scale"]
    # the same suggestion as the library's, the map quantised to 1/255 bit
    session = Session(model)
    session.set_image(read_scan(root / "sphere.nii.gz"))
    session.add_point((20, 22, 26))
    direct = session.suggest()
    assert tuple(hint["index"]) == direct.index and hint["positive"] == direct.positive
    assert np.abs(bits - direct.uncertainty.array).max() <= 0.5 / 255 + 1e-6
    # asking changes nothing: the same mask, and the click is still the one undo step
    state = sphere_client.get(f"/api/sessions/{sid}").json()
    assert state["objects"][0]["voxels"] == int((labels == 1).sum())
    assert log_lines(sphere_client, sid)[-1]["event"] == "suggest"
    post(sphere_client, sid, "undo", {}, labels)
    assert not labels.any()


def test_client_draws_shapes_and_decodes_the_suggestion(live_server, truth) -> None:
    from seganypet.client import Client
    from seganypet.data.organs import ORGAN_IDS

    liver = truth == ORGAN_IDS["liver"]
    idx = np.argwhere(liver)
    with Client(live_server) as client:
        scan = client.open("case_SUV.nii.gz")
        state = scan.add_box(idx.min(axis=0) - 1, idx.max(axis=0) + 1)
        assert state["voxels"] == int((scan.labels == 1).sum()) > 0
        assert held(scan.labels == 1, liver) > 0.5
        centre = np.round(idx.mean(axis=0)).astype(int)
        scan.add_scribble([centre - [2, 0, 0], centre + [2, 0, 0]], positive=False)
        assert not scan.labels[centre[0] - 2:centre[0] + 3, centre[1], centre[2]].any()
        hint = scan.suggest()
        assert hint["uncertainty"].shape == truth.shape
        assert 0.0 <= hint["uncertainty"].min() and hint["uncertainty"].max() <= 1.0
        assert all(0 <= v < n for v, n in zip(hint["index"], truth.shape))
        scan.undo()
        assert scan.labels.sum() == state["voxels"]  # back to the box's mask
        scan.close()
