"""HTTP client of the ``seganypet serve`` REST API (see the README's API table)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from seganypet.client.patches import decode_patch

__all__ = ["Client", "ClientError", "RemoteSession"]


class ClientError(Exception):
    """The server answered an error: ``status`` (4xx/5xx) and its one-line ``detail``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class Client:
    """Connection to a server.

    Args:
        base_url: e.g. ``"http://127.0.0.1:8765"``.
        token: the server's ``--token`` (sent as ``Authorization: Bearer``), if it has one.
        timeout: seconds per request (a first click encodes a patch: allow a few seconds).
        transport: an httpx transport (tests pass the ASGI app's).
    """

    def __init__(self, base_url: str = "http://127.0.0.1:8765", token: str | None = None,
                 timeout: float = 120.0, transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout,
                                  transport=transport)

    def __enter__(self) -> Client:  # noqa: PYI034 - typing.Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One API call; raises :class:`ClientError` on any 4xx/5xx answer."""
        response = self._http.request(method, url, **kwargs)
        if response.status_code >= 400:
            try:
                detail = str(response.json().get("detail"))
            except ValueError:
                detail = response.text[:200]
            raise ClientError(response.status_code, detail)
        return response

    def health(self) -> dict[str, Any]:
        return self.request("GET", "/api/health").json()

    def sessions(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/sessions").json()

    def open(self, path: str) -> RemoteSession:
        """A session on the scan at ``path`` (relative to the server's ``--root``)."""
        return RemoteSession(self, self.request("POST", "/api/sessions", json={"path": path}).json())

    def upload(self, scan: str | os.PathLike[str]) -> RemoteSession:
        """A session on a local ``.nii``/``.nii.gz`` file or ``.zip`` of a DICOM series."""
        scan = Path(scan)
        with scan.open("rb") as handle:
            answer = self.request("POST", "/api/sessions", files={"file": (scan.name, handle)})
        return RemoteSession(self, answer.json())


class RemoteSession:
    """One scan open on the server. ``labels`` mirrors the server's label map, patch by patch."""

    def __init__(self, client: Client, info: dict[str, Any]) -> None:
        self.client = client
        self.id: str = info["id"]
        self.shape: tuple[int, int, int] = tuple(info["shape"])  # type: ignore[assignment]
        self.spacing: tuple[float, float, float] = tuple(info["spacing"])  # type: ignore[assignment]
        self.affine = np.asarray(info["affine"], dtype=np.float64)
        self.labels = np.zeros(self.shape, np.uint16)

    def _post(self, route: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        state = self.client.request("POST", f"/api/sessions/{self.id}/{route}", json=body).json()
        if state.get("patch"):
            slices, values = decode_patch(state["patch"])
            self.labels[slices] = values
        return state

    def add_point(self, index: tuple[float, float, float], positive: bool = True,
                  object: int | None = None) -> dict[str, Any]:
        """Click voxel ``(i, j, k)``; returns ``{"object", "voxels", "bbox", "stats", ...}``."""
        return self._post("points", {"index": [float(v) for v in index],
                                     "positive": bool(positive), "object": object})

    def add_box(self, lo: tuple[float, float, float], hi: tuple[float, float, float],
                positive: bool = True, object: int | None = None) -> dict[str, Any]:
        """A box ``lo..hi`` (voxel indices, inclusive; 2D when one coordinate is equal)."""
        return self._post("boxes", {"lo": [float(v) for v in lo], "hi": [float(v) for v in hi],
                                    "positive": bool(positive), "object": object})

    def add_scribble(self, points: Any, positive: bool = True,
                     object: int | None = None) -> dict[str, Any]:
        """An ``(N, 3)`` polyline of voxel indices."""
        return self._stroke("scribbles", points, positive, object)

    def add_lasso(self, points: Any, positive: bool = True,
                  object: int | None = None) -> dict[str, Any]:
        """A closed ``(N, 3)`` polygon on one slice, filled."""
        return self._stroke("lassos", points, positive, object)

    def _stroke(self, route: str, points: Any, positive: bool,
                object: int | None) -> dict[str, Any]:
        return self._post(route, {"points": np.asarray(points, float).tolist(),
                                  "positive": bool(positive), "object": object})

    def suggest(self) -> dict[str, Any]:
        """The suggested next click ``{"index", "positive", "error_probability", ...}``; its
        ``"uncertainty"`` decoded to float32 bits ``(I, J, K)`` on the scan grid."""
        hint = self.client.request("GET", f"/api/sessions/{self.id}/suggest").json()
        bits = np.zeros(self.shape, np.float32)
        if hint["uncertainty"] is not None:
            slices, values = decode_patch(hint["uncertainty"])
            bits[slices] = values * np.float32(hint["uncertainty"]["scale"])
        return {**hint, "uncertainty": bits}

    def new_object(self, name: str | None = None) -> int:
        return int(self._post("objects", {"name": name})["object"])

    def undo(self) -> dict[str, Any]:
        return self._post("undo")

    def reset(self) -> dict[str, Any]:
        return self._post("reset")

    def state(self) -> dict[str, Any]:
        """``{"id", "shape", "objects": [{"label", "name", "voxels", "bbox", "stats"}], ...}``."""
        return self.client.request("GET", f"/api/sessions/{self.id}").json()

    def download(self, path: str | os.PathLike[str], format: str = "nifti") -> Path:
        """Save the label map (``format="nifti"``, or ``"dicom-seg"`` for DICOM input)."""
        answer = self.client.request("GET", f"/api/sessions/{self.id}/labels",
                                     params={"format": format})
        path = Path(path)
        # Atomic without seganypet.io (which would pull in pydicom and SimpleITK).
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
            tmp.write(answer.content)
        os.replace(tmp.name, path)
        return path

    def close(self) -> None:
        self.client.request("DELETE", f"/api/sessions/{self.id}")
