"""Lesion mode in ``seganypet serve``: the automatic answer as the session's objects.

* ``POST /api/sessions/{id}/lesions`` runs :func:`seganypet.lesions.find_lesions` on the open
  scan (``threshold`` ``"auto"`` or an SUV, ``exclude_organs``, as ``seganypet lesions`` has
  them) and makes its lesions the session's objects (``lesion_N`` = label N);
* ``POST /api/sessions/{id}/lesions/open`` does the same from a ``seganypet lesions`` output
  folder under ``--root`` (its ``lesions.nii.gz``), without running the model;
* ``POST /api/sessions/{id}/lesions/similar`` is "segment all similar" to one lesion.

From then on ``/points``, ``/undo``, the statistics, autosave and downloads work on the lesions
by :class:`~seganypet.server.lesion_objects.LesionObjects` (the library's ``LesionEditor``
rules). Answers are the usual state (the focused lesion and the label-map patch) plus
``lesions`` (count, TMTV, total TLG and, for a run, the threshold and liver reference) or
``added`` (the proposed labels). Lesion mode takes seconds to a minute: it runs in the thread
pool under the session's lock and the model lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, ConfigDict, Field

from seganypet.lesions import LesionEditor, LesionSettings, find_lesions
from seganypet.lesions.organs import PHYSIOLOGICAL_ORGANS
from seganypet.lesions.outputs import summary_of
from seganypet.quantify.stats import object_stats, totals
from seganypet.server.annotation import Annotation
from seganypet.server.api import Manager, _mutate
from seganypet.server.errors import ApiError
from seganypet.server.lesion_objects import LesionObjects
from seganypet.server.paths import confined_path, relative_name
from seganypet.volume import Volume

__all__ = ["LesionFolderRequest", "LesionRequest", "SimilarRequest", "build_lesion_router",
           "lesion_settings"]


class LesionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold: Literal["auto"] | Annotated[float, Field(allow_inf_nan=False)] = Field(
        "auto", description="hot-spot threshold: 'auto' = PERCIST 1.5 x liver mean + 2 SD with "
                            "the liver found automatically, or a fixed SUV > 0")
    exclude_organs: list[str] | None = Field(
        None, description="physiological uptake to suppress; null = all of "
                          f"{', '.join(PHYSIOLOGICAL_ORGANS)}; [] = none")
    replace: bool = Field(False, description="replace the session's objects if it has any")


class LesionFolderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="a `seganypet lesions` output folder (or its lesions.nii.gz) "
                                  "relative to --root, on the open scan's grid")
    replace: bool = Field(False, description="replace the session's objects if it has any")


class SimilarRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    object: int = Field(description="label of the example lesion")
    factor: float = Field(2.0, gt=1.0, le=10.0,
                          description="propose hot spots whose SUVmax is within this factor of "
                                      "the example's")


def lesion_settings(body: LesionRequest) -> LesionSettings:
    """Lesion mode's settings from a request (InputError, a 400, for a bad value)."""
    organs = PHYSIOLOGICAL_ORGANS if body.exclude_organs is None else tuple(body.exclude_organs)
    threshold = None if body.threshold == "auto" else float(body.threshold)
    return LesionSettings(threshold=threshold, exclude_organs=organs)


def _check_replace(annotation: Annotation, replace: bool) -> None:
    """409 when the session's objects hold voxels and the client did not ask to replace them."""
    drawn = sum(1 for o in annotation.objects() if o["voxels"])
    if drawn and not replace:
        raise ApiError(409, f"the session already has {drawn} object(s) with voxels; send "
                       '"replace": true to replace them by the lesions')


def _open_lesions(annotation: Annotation, editor: LesionEditor, event: str,
                  summary: dict[str, Any], **fields: Any) -> dict[str, Any]:
    state = annotation.replace_session(LesionObjects(editor), event, count=summary["count"],
                                       **fields)
    return {**state, "lesions": summary}


def run_lesion_mode(annotation: Annotation, request: Request, settings: LesionSettings,
                    replace: bool) -> dict[str, Any]:
    """Find the lesions of the session's scan and make them its objects; answers the state
    of lesion 1 plus ``lesions``, lesion mode's ``summary.json`` content."""
    _check_replace(annotation, replace)
    model, manager = request.app.state.model, request.app.state.manager
    device, image = manager.config.device, annotation.image
    with manager.model_lock:
        result = find_lesions(image, model, settings, device=device)
        editor = LesionEditor(model, image, result.labels, device=device)
    summary = summary_of(image, result, object_stats(image, result.labels))
    return _open_lesions(annotation, editor, "lesions", summary,
                         threshold_suv=summary["threshold_suv"],
                         threshold_source=summary["threshold_source"])


def _read_lesion_map(path: Path, image: Volume) -> Volume:
    """A lesion label map on ``image``'s grid (a 400 when unreadable or on another grid)."""
    from seganypet.errors import SeganypetError
    from seganypet.io import read_label_map

    try:
        return read_label_map(path, reference=image)
    except SeganypetError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to parse a user's file is bad input
        raise ApiError(400, f"cannot read {path.name}: {type(exc).__name__}: {exc}") from None


def open_lesion_folder(annotation: Annotation, request: Request, path: Path, source: str,
                       replace: bool) -> dict[str, Any]:
    """Make a ``seganypet lesions`` output's label map the session's objects (no model run)."""
    _check_replace(annotation, replace)
    manager = request.app.state.manager
    labels = _read_lesion_map(path, annotation.image)
    editor = LesionEditor(request.app.state.model, annotation.image, labels,
                          device=manager.config.device)
    summary = totals(object_stats(annotation.image, labels))
    return _open_lesions(annotation, editor, "lesions_opened", summary, path=source)


def segment_similar(annotation: Annotation, label: int, factor: float) -> dict[str, Any]:
    """"Segment all similar" to lesion ``label``; the state of the example plus ``added``."""
    def similar(session: Any) -> list[int]:
        if not isinstance(session, LesionObjects):
            raise ApiError(409, "this session is not in lesion mode: run POST "
                           "/api/sessions/{id}/lesions (or /lesions/open) first")
        return session.segment_similar(label, factor=factor)

    state, added = annotation.apply("similar", similar, example=label, factor=factor)
    return {**state, "added": added}


def _lesion_file(root: Path, relative: str) -> Path:
    """``lesions.nii.gz`` of the output folder ``relative`` (or the file itself), under root."""
    path = confined_path(root, relative)
    if path.is_dir():
        path = path / "lesions.nii.gz"
        if not path.is_file():
            raise ApiError(404, f"{relative} has no lesions.nii.gz (a `seganypet lesions` "
                           "output folder has)")
    return path


def build_lesion_router() -> APIRouter:
    """The lesion-mode routes (module docstring), under ``/api``."""
    router = APIRouter(prefix="/api")

    @router.post("/sessions/{session_id}/lesions",
                 summary="lesion mode: every lesion of the scan becomes an object (slow)")
    def find(session_id: str, request: Request, manager: Manager, tasks: BackgroundTasks,
             body: LesionRequest | None = None) -> dict[str, Any]:
        body = body or LesionRequest()
        settings = lesion_settings(body)
        return _mutate(manager, session_id, tasks,
                       lambda a: run_lesion_mode(a, request, settings, body.replace))

    @router.post("/sessions/{session_id}/lesions/open",
                 summary="a `seganypet lesions` output folder's lesions become the objects")
    def open_folder(session_id: str, body: LesionFolderRequest, request: Request,
                    manager: Manager, tasks: BackgroundTasks) -> dict[str, Any]:
        root = manager.config.root
        path = _lesion_file(root, body.path)
        return _mutate(manager, session_id, tasks, lambda a: open_lesion_folder(
            a, request, path, relative_name(root, path), body.replace))

    @router.post("/sessions/{session_id}/lesions/similar",
                 summary="segment all similar: add the hot spots of like uptake to one lesion")
    def similar(session_id: str, body: SimilarRequest, manager: Manager,
                tasks: BackgroundTasks) -> dict[str, Any]:
        return _mutate(manager, session_id, tasks,
                       lambda a: segment_similar(a, body.object, body.factor))

    return router
