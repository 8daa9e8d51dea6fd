"""Request bodies of the REST API (pydantic models; they also document ``/openapi.json``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ObjectRequest", "OpenRequest", "PointRequest"]


class OpenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="scan path relative to the server's --root (file or DICOM folder)")


class PointRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    index: list[float] = Field(min_length=3, max_length=3,
                               description="voxel index [i, j, k] of the scan array")
    positive: bool = Field(True, description="true: part of the object; false: background")
    object: int | None = Field(None, description="label of the object to edit (any existing one); null = the one edited last")


class ObjectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200, description="object name (default object_N)")
