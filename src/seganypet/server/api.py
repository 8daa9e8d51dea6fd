"""The ``/api`` routes. Handlers are thin: parse, look the session up, call it, answer JSON.

Blocking work (reading scans, model calls, writing files) runs in the thread pool: the sync
``def`` handlers by FastAPI's rule, the async upload handler by ``run_in_threadpool``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from seganypet.server.annotation import Annotation
from seganypet.server.errors import ApiError
from seganypet.server.files import coronal_mip, write_once
from seganypet.server.manager import SessionManager
from seganypet.server.paths import confined_path, relative_name
from seganypet.server.scans import read_scan, save_upload
from seganypet.server.schemas import (
    BoxRequest,
    LassoRequest,
    ObjectRequest,
    OpenRequest,
    PointRequest,
    ScribbleRequest,
)
from seganypet.shape import Shape

__all__ = ["build_router"]

_OPEN_BODY = {"requestBody": {"content": {
    "application/json": {"schema": OpenRequest.model_json_schema()},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": ".nii / .nii.gz, or a .zip of one DICOM series"}}}},
}, "required": True}}


def _manager(request: Request) -> SessionManager:
    return request.app.state.manager


Manager = Annotated[SessionManager, Depends(_manager)]


def _capabilities(request: Request) -> dict[str, bool]:
    return request.app.state.capabilities


async def _open_body(request: Request, manager: SessionManager,
                     session_id: str) -> tuple[str, Path]:
    """``(source, scan path)`` from a JSON ``{"path"}`` or a multipart ``file``."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=4)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ApiError(400, "the multipart body needs a 'file' part")
        folder = manager.folder_for(session_id) / "upload"
        path = await run_in_threadpool(save_upload, upload.file, upload.filename or "",
                                       folder, manager.config.max_upload_bytes)
        return f"upload:{upload.filename}", path
    try:
        body = OpenRequest.model_validate(json.loads(await request.body()))
    except ValueError as exc:
        raise ApiError(400, f"the body must be JSON {{\"path\": REL}} or a multipart file: "
                       f"{str(exc).splitlines()[0]}") from None
    path = confined_path(manager.config.root, body.path)
    return relative_name(manager.config.root, path), path


def _mutate(manager: SessionManager, session_id: str, tasks: BackgroundTasks,
            action: Callable[[Annotation], dict[str, Any]]) -> dict[str, Any]:
    """Run ``action`` on the session under its lock; autosave after the answer is sent."""
    annotation = manager.get(session_id)
    with annotation.lock:
        answer = action(annotation)
    tasks.add_task(annotation.autosave)
    return answer


def _draw(manager: SessionManager, session_id: str, tasks: BackgroundTasks, shape: Shape,
          label: int | None) -> dict[str, Any]:
    """Add a drawn shape on object ``label`` by the path of ``/points``
    (:meth:`Annotation.add_shape`)."""
    return _mutate(manager, session_id, tasks, lambda a: a.add_shape(shape, label))


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.get("/health", summary="liveness, version and what the model offers")
    def health(request: Request) -> dict[str, Any]:
        from seganypet import __version__

        return {"status": "ok", "version": __version__, "model": request.app.state.model_name,
                "capabilities": _capabilities(request)}

    @router.post("/sessions", summary="open a scan (JSON {path} under --root, or multipart file)",
                 openapi_extra=_OPEN_BODY)
    async def open_session(request: Request, manager: Manager) -> dict[str, Any]:
        session_id = manager.new_id()
        try:
            source, path = await _open_body(request, manager, session_id)
            image = await run_in_threadpool(read_scan, path)
            annotation = await run_in_threadpool(manager.open, session_id, source, image)
        except Exception:
            manager.discard_folder(session_id)  # a refused upload leaves nothing behind
            raise
        info = annotation.info()
        return {k: info[k] for k in ("id", "path", "shape", "spacing", "affine", "unit", "dicom")}

    @router.get("/sessions", summary="open sessions")
    def list_sessions(manager: Manager) -> list[dict[str, Any]]:
        return [a.info() for a in manager.list()]

    @router.get("/sessions/{session_id}", summary="a session and its objects")
    def get_session(session_id: str, manager: Manager) -> dict[str, Any]:
        annotation = manager.get(session_id)
        with annotation.lock:
            return {**annotation.info(), "objects": annotation.objects()}

    @router.post("/sessions/{session_id}/points", summary="add a click; answers the changed part")
    def add_point(session_id: str, body: PointRequest, manager: Manager,
                  tasks: BackgroundTasks) -> dict[str, Any]:
        return _mutate(manager, session_id, tasks,
                       lambda a: a.click(body.index, body.positive, body.object))

    @router.post("/sessions/{session_id}/boxes",
                 summary="add a box (3D, or 2D when lo and hi share one coordinate)")
    def add_box(session_id: str, body: BoxRequest, manager: Manager,
                tasks: BackgroundTasks) -> dict[str, Any]:
        return _draw(manager, session_id, tasks, Shape.box(body.lo, body.hi, body.positive),
                     body.object)

    @router.post("/sessions/{session_id}/scribbles", summary="add a scribble (an (N, 3) polyline)")
    def add_scribble(session_id: str, body: ScribbleRequest, manager: Manager,
                     tasks: BackgroundTasks) -> dict[str, Any]:
        return _draw(manager, session_id, tasks, Shape.scribble(body.points, body.positive),
                     body.object)

    @router.post("/sessions/{session_id}/lassos",
                 summary="add a lasso (a closed polygon on one slice, filled)")
    def add_lasso(session_id: str, body: LassoRequest, manager: Manager,
                  tasks: BackgroundTasks) -> dict[str, Any]:
        return _draw(manager, session_id, tasks, Shape.lasso(body.points, body.positive),
                     body.object)

    @router.get("/sessions/{session_id}/suggest",
                summary="the suggested next click and the uncertainty map (no state change)")
    def suggest(session_id: str, manager: Manager) -> dict[str, Any]:
        annotation = manager.get(session_id)
        with annotation.lock:
            return annotation.suggest()

    @router.post("/sessions/{session_id}/objects", summary="start a new object")
    def new_object(session_id: str, manager: Manager, tasks: BackgroundTasks,
                   body: ObjectRequest | None = None) -> dict[str, Any]:
        name = body.name if body else None
        return _mutate(manager, session_id, tasks, lambda a: {"object": a.new_object(name)})

    @router.post("/sessions/{session_id}/undo", summary="undo the last interaction")
    def undo(session_id: str, manager: Manager, tasks: BackgroundTasks) -> dict[str, Any]:
        return _mutate(manager, session_id, tasks, Annotation.undo)

    @router.post("/sessions/{session_id}/reset", summary="clear the object being edited (undoable)")
    def reset(session_id: str, manager: Manager, tasks: BackgroundTasks) -> dict[str, Any]:
        return _mutate(manager, session_id, tasks, Annotation.reset)

    @router.post("/sessions/{session_id}/grow", summary="next larger candidate mask (if offered)")
    def grow(session_id: str, manager: Manager, tasks: BackgroundTasks) -> dict[str, Any]:
        return _mutate(manager, session_id, tasks, lambda a: a.resize(larger=True))

    @router.post("/sessions/{session_id}/shrink", summary="next smaller candidate mask (if offered)")
    def shrink(session_id: str, manager: Manager, tasks: BackgroundTasks) -> dict[str, Any]:
        return _mutate(manager, session_id, tasks, lambda a: a.resize(larger=False))

    @router.get("/sessions/{session_id}/labels", summary="label map: NIfTI, or DICOM-SEG",
                response_class=FileResponse)
    def labels(session_id: str, manager: Manager,
               format: Annotated[str, Query(pattern="^(nifti|dicom-seg)$")] = "nifti"):
        annotation = manager.get(session_id)
        stem = _download_stem(annotation)
        if format == "dicom-seg":
            return FileResponse(annotation.dicom_seg(), media_type="application/dicom",
                                filename=f"{stem}_seg.dcm")
        return FileResponse(annotation.autosave(), media_type="application/gzip",
                            filename=f"{stem}_labels.nii.gz")

    @router.get("/sessions/{session_id}/image.nii", summary="the scan (SUV, float32 NIfTI)",
                response_class=FileResponse)
    def image(session_id: str, manager: Manager):
        annotation = manager.get(session_id)
        path = write_once(annotation.folder / "image.nii", lambda: annotation.image)
        return FileResponse(path, media_type="application/octet-stream")

    @router.get("/sessions/{session_id}/mip.nii", summary="coronal MIP of the scan (NIfTI)",
                response_class=FileResponse)
    def mip(session_id: str, manager: Manager):
        annotation = manager.get(session_id)
        path = write_once(annotation.folder / "mip.nii", lambda: coronal_mip(annotation.image))
        return FileResponse(path, media_type="application/octet-stream")

    @router.delete("/sessions/{session_id}", summary="close a session (its autosave stays)")
    def delete(session_id: str, manager: Manager) -> dict[str, Any]:
        manager.close(session_id)
        return {"id": session_id, "closed": True}

    return router


def _download_stem(annotation: Annotation) -> str:
    name = annotation.source.removeprefix("upload:").rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".nii.gz", ".nii", ".nrrd", ".mha", ".zip"):
        name = name.removesuffix(suffix)
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "scan"
