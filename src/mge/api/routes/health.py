"""`/healthz` (the process answers), `/readyz` (its database is reachable and at head),
`/metrics` (Prometheus text format)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from mge.api.deps import SettingsDep
from mge.api.routes._common import errors
from mge.api.schemas import Health, Readiness
from mge.db import migrate
from mge.errors import DatabaseError, MgeError
from mge.monitoring import render_metrics

router = APIRouter(tags=["service"])


@router.get("/healthz", response_model=Health, summary="Liveness")
def healthz() -> Any:
    return {"status": "ok"}


def _readiness(url: str) -> dict[str, str]:
    head = migrate.head_revision()
    try:
        current = migrate.current_revision(url)
    except MgeError as error:
        raise DatabaseError(f"database unreachable: {error}") from None
    except Exception as error:  # a driver error of any kind means "not ready", not a 500
        raise DatabaseError(f"database unreachable: {type(error).__name__}") from None
    if current != head:
        raise DatabaseError(f"database at revision {current or 'none'}, expected {head}")
    return {"status": "ready", "revision": current, "head": head}


@router.get("/readyz", response_model=Readiness, responses=errors(503), summary="Readiness")
async def readyz(settings: SettingsDep) -> Any:
    return await run_in_threadpool(_readiness, settings.database_url)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    summary="Prometheus metrics",
)
def metrics(request: Request) -> Response:
    registry = request.app.state.runs.metrics.registry
    body, content_type = render_metrics(registry)
    return Response(content=body, media_type=content_type)
