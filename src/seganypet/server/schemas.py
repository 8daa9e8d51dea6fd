"""Request bodies of the REST API (pydantic models; they also document ``/openapi.json``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from seganypet.shape import MAX_SHAPE_POINTS

__all__ = ["BoxRequest", "LassoRequest", "ObjectRequest", "OpenRequest", "PointRequest",
           "ScribbleRequest"]

Index = Annotated[list[float], Field(min_length=3, max_length=3)]
_POSITIVE = "true: part of the object; false: background"
_OBJECT = "label of the object to edit (any existing one); null = the one edited last"


class OpenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="scan path relative to the server's --root (file or DICOM folder)")


class PointRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    index: list[float] = Field(min_length=3, max_length=3,
                               description="voxel index [i, j, k] of the scan array")
    positive: bool = Field(True, description=_POSITIVE)
    object: int | None = Field(None, description=_OBJECT)


class ObjectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200, description="object name (default object_N)")



class _ShapeRequest(BaseModel):
    """What every drawn shape carries besides its geometry."""

    model_config = ConfigDict(extra="forbid")
    positive: bool = Field(True, description=_POSITIVE)
    object: int | None = Field(None, description=_OBJECT)


class BoxRequest(_ShapeRequest):
    lo: Index = Field(description="first corner [i0, j0, k0] (voxel indices, inclusive)")
    hi: Index = Field(description="last corner [i1, j1, k1], each >= lo; one equal coordinate "
                      "(e.g. k1 == k0) makes a 2D box on that slice; a positive box bounds the "
                      "object")


class ScribbleRequest(_ShapeRequest):
    points: list[Index] = Field(max_length=MAX_SHAPE_POINTS,
                                description="(N >= 1, 3) polyline [[i, j, k], ...], consecutive "
                                "points joined; on a slice or through the volume")


class LassoRequest(_ShapeRequest):
    points: list[Index] = Field(max_length=MAX_SHAPE_POINTS,
                                description="(N >= 3, 3) closed polygon [[i, j, k], ...] on one "
                                "slice (all points share i, j or k); filled")
