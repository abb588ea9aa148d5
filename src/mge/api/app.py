"""The FastAPI application: `create_app(settings)` wires settings, database, runs and routes.

    uvicorn.run(create_app(ApiSettings()), host="127.0.0.1", port=8000)

`mge serve` does exactly that. On start the database is migrated to head (the
system of record must match the code); on shutdown live runs are stopped and
end `interrupted`, so `POST /api/v2/runs/{id}/resume` continues them later.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool

import mge
from mge.api._errors import install_error_handlers
from mge.api._guard import RequestGuard
from mge.api._runs import RunManager
from mge.api.routes import (
    atomization,
    atoms,
    drafts,
    graphs,
    health,
    plans,
    review,
    runs,
    validation,
)
from mge.api.settings import ApiSettings
from mge.db import make_engine, migrate
from mge.monitoring import MgeMetrics, default_metrics

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v2"


def create_app(
    settings: ApiSettings | None = None, *, metrics: MgeMetrics | None = None
) -> FastAPI:
    """A new app; `metrics` defaults to the process-wide ones that `/metrics` serves."""
    settings = settings if settings is not None else ApiSettings()
    engine = make_engine(settings.database_url)
    manager = RunManager(
        engine,
        metrics if metrics is not None else default_metrics(),
        keep_finished=settings.keep_finished_runs,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await run_in_threadpool(migrate.upgrade, settings.database_url)
        try:
            yield
        finally:
            await manager.shutdown()
            engine.dispose()

    app = FastAPI(
        title="MGE",
        summary="Masterplan Generation Engine v2: plans in, validated code bases out.",
        version=getattr(mge, "__version__", "2"),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.runs = manager
    install_error_handlers(app)
    app.add_middleware(
        RequestGuard,
        allowed_hosts=settings.allowed_hosts,
        max_body_bytes=settings.max_body_bytes,
        api_prefix=API_PREFIX,
        yaml_paths={f"{API_PREFIX}/plans", f"{API_PREFIX}/plans/check"},
    )

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(plans.router)
    api.include_router(drafts.router)
    api.include_router(atomization.router)
    api.include_router(atoms.router)
    api.include_router(graphs.router)
    api.include_router(runs.router)
    api.include_router(validation.router)
    api.include_router(review.router)
    app.include_router(review.page_router)
    app.include_router(drafts.page_router)
    app.include_router(api)
    app.include_router(health.router)
    return app
