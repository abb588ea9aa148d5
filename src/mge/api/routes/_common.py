"""Response documentation shared by the routers."""

from __future__ import annotations

from typing import Any

from mge.api.schemas import ErrorOut

__all__ = ["errors"]


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: every listed status has the `ErrorOut` body."""
    return {status: {"model": ErrorOut} for status in (422, *statuses)}
