"""The one error shape of the API: ``{"detail": "..."}`` with a 4xx status."""

from __future__ import annotations

__all__ = ["ApiError"]


class ApiError(Exception):
    """An error the client caused (or must act on): becomes ``{"detail": message}``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = int(status)
        self.detail = detail
