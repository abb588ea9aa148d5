"""`/api/v2/runs`: start, status, pause, resume, cancel, and progress as server-sent events.

A run executes inside the service (see `mge.api._runs`); these routes only check,
store and signal. Its progress stream numbers every event (`id:`), so a client
that drops the connection reconnects with `Last-Event-ID` and misses nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from mge.api import _service as service
from mge.api._runs import RunManager
from mge.api.deps import Authorized, EngineDep, RunsDep, SessionDep, SettingsDep
from mge.api.routes._common import errors
from mge.api.schemas import RunReport, RunStart, RunSummary
from mge.db.models import GenerationRun, RunStatus
from mge.errors import Conflict
from mge.execute import get_run, prepare_resume
from mge.execute.service import RESUMABLE

router = APIRouter(prefix="/runs", tags=["runs"])

KEEPALIVE_SECONDS = 15.0


def _identity(engine: Engine, run_text: str) -> tuple[uuid.UUID, uuid.UUID, str, str]:
    with Session(engine) as session:
        run = get_run(session, run_text)
        return run.id, run.masterplan_id, run.masterplan.name, run.model


def _report(engine: Engine, runs: RunManager, run: uuid.UUID | str) -> dict[str, Any]:
    if isinstance(run, uuid.UUID):
        return runs.report(run)
    try:
        run_id = uuid.UUID(run)
    except ValueError:  # a prefix: resolve it first
        run_id = _identity(engine, run)[0]
    return runs.report(run_id)


async def _start(engine: Engine, runs: RunManager, run_id: uuid.UUID) -> dict[str, Any]:
    identity = await run_in_threadpool(_identity, engine, str(run_id))
    runs.start(identity[0], masterplan_id=identity[1], masterplan=identity[2], model=identity[3])
    return await run_in_threadpool(_report, engine, runs, run_id)


@router.post(
    "",
    status_code=202,
    response_model=RunReport,
    dependencies=[Authorized],
    responses=errors(401, 404, 409, 413, 415, 502, 503),
    summary="Start a run",
)
async def start_run(
    request: RunStart, engine: EngineDep, runs: RunsDep, settings: SettingsDep
) -> Any:
    """Start from a stored masterplan (it must have no run yet) or from a plan document."""

    def create() -> uuid.UUID:
        with runs.create_lock, Session(engine) as session:
            return service.create_run(
                session,
                masterplan_id=request.masterplan_id,
                plan_data=request.plan,
                place=service.PlanPlace(request.base_dir, tuple(settings.roots())),
                options=request.settings.model_dump(),
                runs_dir=settings.runs_dir,
                run_unapproved=request.run_unapproved,
            )

    run_id = await run_in_threadpool(create)
    return await _start(engine, runs, run_id)


@router.get("", response_model=list[RunSummary], responses=errors(), summary="List runs")
def list_runs(
    session: SessionDep,
    runs: RunsDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Any:
    rows = session.scalars(
        select(GenerationRun).order_by(GenerationRun.created_at.desc()).limit(limit).offset(offset)
    )
    return [
        {
            "run_id": str(row.id),
            "masterplan_id": str(row.masterplan_id),
            "plan": row.masterplan.name,
            "status": row.status.value,
            "model": row.model,
            "live": runs.active(row.id) is not None,
            "created_at": row.created_at,
            "precision_percent": row.precision_percent,
        }
        for row in rows
    ]


@router.get("/{run_id}", response_model=RunReport, responses=errors(404), summary="A run's report")
def show_run(run_id: str, engine: EngineDep, runs: RunsDep) -> Any:
    return _report(engine, runs, run_id)


@router.post(
    "/{run_id}/pause",
    status_code=202,
    response_model=RunReport,
    dependencies=[Authorized],
    responses=errors(401, 404, 409, 413, 415),
    summary="Pause a run (it stops after its attempts in flight, status interrupted)",
)
async def pause_run(run_id: str, engine: EngineDep, runs: RunsDep) -> Any:
    identity = await run_in_threadpool(_identity, engine, run_id)
    if runs.stop(identity[0]) is None:
        raise Conflict(f"run {identity[0]} is not executing; there is nothing to pause")
    return await run_in_threadpool(_report, engine, runs, identity[0])


@router.post(
    "/{run_id}/resume",
    status_code=202,
    response_model=RunReport,
    dependencies=[Authorized],
    responses=errors(401, 404, 409, 413, 415),
    summary="Resume a paused, interrupted, failed or budget-stopped run",
)
async def resume_run(run_id: str, engine: EngineDep, runs: RunsDep) -> Any:
    identity = await run_in_threadpool(_identity, engine, run_id)
    if runs.active(identity[0]) is not None:
        raise Conflict(f"run {identity[0]} is already executing")
    full_id = await run_in_threadpool(prepare_resume, engine, str(identity[0]))
    return await _start(engine, runs, full_id)


def _cancel_stored(engine: Engine, run_id: uuid.UUID) -> None:
    with Session(engine) as session:
        run = session.get_one(GenerationRun, run_id)
        if run.status not in RESUMABLE:
            raise Conflict(f"run {run.id} is {run.status.value}; it cannot be cancelled")
        run.status = RunStatus.CANCELLED
        run.error = "cancelled by the user"
        session.commit()


@router.post(
    "/{run_id}/cancel",
    status_code=202,
    response_model=RunReport,
    dependencies=[Authorized],
    responses=errors(401, 404, 409, 413, 415),
    summary="Cancel a run for good (status cancelled; it cannot be resumed)",
)
async def cancel_run(run_id: str, engine: EngineDep, runs: RunsDep) -> Any:
    identity = await run_in_threadpool(_identity, engine, run_id)
    if runs.stop(identity[0], cancel=True) is None:
        await run_in_threadpool(_cancel_stored, engine, identity[0])
    return await run_in_threadpool(_report, engine, runs, identity[0])


@router.get(
    "/{run_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "Server-sent events: one per progress event (`event:` its kind, "
            "`data:` JSON with `seq`), a final `status` event with the report, then the "
            "stream ends. Reconnect with `Last-Event-ID` to continue where it broke off.",
        },
        **errors(404),
    },
    summary="A run's progress as server-sent events",
)
async def run_events(
    run_id: str,
    engine: EngineDep,
    runs: RunsDep,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
) -> StreamingResponse:
    identity = await run_in_threadpool(_identity, engine, run_id)
    try:
        last = max(int(last_event_id or 0), 0)
    except ValueError:
        last = 0
    log = runs.log_of(identity[0])

    async def stream() -> AsyncIterator[bytes]:
        if log is None:
            # Not executed by this service (or long finished): the report is all there is.
            report = await run_in_threadpool(_report, engine, runs, identity[0])
            yield service.encode_event(0, "status", service.dumps(report))
            return
        seen = last
        yield service.encode_comment("mge run events")
        while True:
            events, closed = log.since(seen)
            if events:
                # One write for everything pending: per-write cost dominates with many
                # streams, and a slow client catches up in one chunk.
                yield b"".join(service.encode_event(n, k, p) for n, k, p in events)
                seen = events[-1][0]
            if closed and not events:
                return
            if not events:
                await log.wait(seen, KEEPALIVE_SECONDS)
                events_after, closed_after = log.since(seen)
                if not events_after and not closed_after:
                    yield service.encode_comment("keep-alive")

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
