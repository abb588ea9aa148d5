"""`/api/v2/plans`: import a plan (JSON or YAML body), check one, list, show."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from mge.api import _service as service
from mge.api.deps import Authorized, CredentialsDep, EngineDep, SessionDep, SettingsDep, check_token
from mge.api.routes._common import errors
from mge.api.schemas import PlanCheckOut, PlanDetail, PlanSummary
from mge.db.models import MasterPlan
from mge.plan import plan_json_schema

router = APIRouter(prefix="/plans", tags=["plans"])

BaseDir = Annotated[
    str | None,
    Query(
        max_length=4096,
        description="Directory the plan's relative `reference:` is resolved against "
        "(default: the service's working directory); it must lie below one of the "
        "service's plan roots (MGE_PLAN_ROOTS), and with a token configured it needs "
        "the token.",
    ),
]


def _plan_body() -> dict[str, Any]:
    schema = plan_json_schema()
    schema.pop("$schema", None)
    return {
        "requestBody": {
            "required": True,
            "description": "The plan document, as JSON or YAML (docs/PLANS.md).",
            "content": {
                "application/json": {"schema": schema},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    }


@router.post(
    "",
    status_code=201,
    response_model=PlanSummary,
    dependencies=[Authorized],
    responses=errors(401, 413, 415),
    openapi_extra=_plan_body(),
    summary="Import a plan",
)
async def import_plan(
    request: Request, engine: EngineDep, settings: SettingsDep, base_dir: BaseDir = None
) -> Any:
    body = await request.body()
    content_type = request.headers.get("content-type", "application/json")
    place = service.PlanPlace(base_dir, tuple(settings.roots()))

    def store() -> dict[str, Any]:
        with Session(engine) as session:
            masterplan = service.import_plan_body(
                session, body=body, content_type=content_type, place=place
            )
            return service.plan_summary(session, masterplan)

    return await run_in_threadpool(store)


@router.post(
    "/check",
    response_model=PlanCheckOut,
    responses=errors(401, 413, 415),
    openapi_extra=_plan_body(),
    summary="Check a plan without storing it",
)
async def check_plan(
    request: Request,
    settings: SettingsDep,
    credentials: CredentialsDep,
    base_dir: BaseDir = None,
) -> Any:
    """Reads only, so it needs no token, except with `base_dir`: that names a place on
    the server's disk, which only token holders may have looked at."""
    if base_dir is not None:
        check_token(settings, credentials)
    body = await request.body()
    content_type = request.headers.get("content-type", "application/json")
    place = service.PlanPlace(base_dir, tuple(settings.roots()))
    plan, issues = await run_in_threadpool(
        service.check_plan_body, body, content_type=content_type, place=place
    )
    return {
        "valid": not issues,
        "name": plan.name if plan is not None else None,
        "tasks": len(plan.tasks()) if plan is not None else None,
        "issues": [{"path": i.path, "message": i.message} for i in issues],
    }


@router.get("", response_model=list[PlanSummary], responses=errors(), summary="List plans")
def list_plans(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Any:
    rows = session.scalars(
        select(MasterPlan).order_by(MasterPlan.created_at.desc()).limit(limit).offset(offset)
    )
    return [service.plan_summary(session, row) for row in rows]


@router.get(
    "/{masterplan_id}",
    response_model=PlanDetail,
    responses=errors(404),
    summary="Show a plan",
)
def show_plan(masterplan_id: str, session: SessionDep) -> Any:
    return service.plan_detail(session, service.masterplan_by_id(session, masterplan_id))
