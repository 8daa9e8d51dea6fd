"""The ASGI application of ``seganypet serve``: the ``/api`` routes, the viewer, auth and errors.

Every error a client can cause answers ``{"detail": "<one line>"}`` with a 4xx status; only a
bug in the server itself gives a 500, and even then without a traceback in the body.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from seganypet.errors import InputError
from seganypet.server.api import build_router
from seganypet.server.config import ServerConfig
from seganypet.server.errors import ApiError
from seganypet.server.lesions import build_lesion_router
from seganypet.server.manager import SessionManager

__all__ = ["STATIC_DIR", "create_app"]

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
_NOT_BUILT = ("<!doctype html><title>seganypet</title><p>The viewer is not built. Run "
              "<code>npm ci &amp;&amp; npm run build</code> in <code>viewer/</code>; the REST API "
              "(<a href='/docs'>/docs</a>) works without it.</p>")
# Bytes a multipart envelope adds around the file itself.
_MULTIPART_SLACK = 64 * 1024


def _json_error(status: int, detail: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _validation_detail(exc: RequestValidationError) -> tuple[int, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "malformed JSON body"
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    return 422, f"{where}: {first.get('msg', 'invalid request')}"


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _json_error(exc.status, exc.detail)

    @app.exception_handler(InputError)
    async def input_error(_: Request, exc: InputError) -> JSONResponse:
        return _json_error(400, str(exc).splitlines()[0] if str(exc) else "bad input")

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return _json_error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _json_error(*_validation_detail(exc))

    @app.exception_handler(Exception)
    async def server_bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _json_error(500, f"internal server error ({type(exc).__name__}); see the server log")


def _install_guards(app: FastAPI, config: ServerConfig) -> None:
    """Bearer token on ``/api`` (when set) and the upload size limit before any body is read."""

    @app.middleware("http")
    async def guard(request: Request, call_next: Any):
        if config.token and request.url.path.startswith("/api"):
            given = request.headers.get("authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not secrets.compare_digest(value.encode(),
                                                                        config.token.encode()):
                return _json_error(401, "missing or wrong token: send 'Authorization: Bearer <token>'")
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > config.max_upload_bytes + _MULTIPART_SLACK:
            return _json_error(413, f"the request is larger than the server's limit of "
                               f"{config.max_upload_mb:.0f} MB (--max-upload-mb)")
        return await call_next(request)


def _install_viewer(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def viewer() -> Any:
        index = STATIC_DIR / "index.html"
        if not index.is_file():
            return HTMLResponse(_NOT_BUILT, status_code=404)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


def _capabilities(session_type: type, config: ServerConfig) -> dict[str, bool]:
    """What the session (and so the viewer) can offer: grow/shrink arrive with a later model."""
    return {"grow_shrink": all(hasattr(session_type, n) for n in ("grow", "shrink")),
            "dicom_seg": True, "upload": True, "plateau_snap": config.plateau_snap,
            "local_edit": config.local_edit}


def create_app(config: ServerConfig, model: Any = None) -> FastAPI:
    """The app for ``config``; ``model`` (a loaded SegAnyPET) defaults to ``config.model``."""
    from seganypet.model import load_model
    from seganypet.session import Session

    if model is None:
        model = load_model(config.model, device=config.device)
    manager = SessionManager(config, lambda: Session(model, device=config.device,
                                                     plateau_snap=config.plateau_snap,
                                                     local_edit=config.local_edit))

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        manager.close_all()  # final autosave and timing lines of every open session

    app = FastAPI(title="seganypet serve", version="1", lifespan=lifespan,
                  description="Click-to-segment PET over HTTP: sessions, clicks, label maps.")
    app.state.manager = manager
    app.state.model = model  # lesion mode runs its own sessions on it
    app.state.model_name = config.model
    app.state.capabilities = _capabilities(Session, config)
    _install_errors(app)
    _install_guards(app, config)
    app.include_router(build_router())
    app.include_router(build_lesion_router())
    _install_viewer(app)
    return app
