"""`/api/v2/drafts`: review of plans drafted from a request (`mge plan new`).

The same services as `mge plan show | edit | approve | reject` (`mge.planner`), so a
broken edit is refused with its field path (422) and an approval whose tests do
not collect with the reason (422), exactly as on the command line.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from mge.api.deps import Authorized, EngineDep, SessionDep
from mge.api.routes._common import errors
from mge.api.routes.review import PAGE_HEADERS, _static
from mge.db.models import PlanDraft
from mge.planner import approve_draft, draft_summary, edit_draft, reject_draft
from mge.store.drafts import get_draft

router = APIRouter(prefix="/drafts", tags=["drafts"])
page_router = APIRouter(include_in_schema=False)


@page_router.get("/plan", response_class=HTMLResponse)
def plan_page() -> HTMLResponse:
    """The plan page (`/plan?id=DRAFT`): the tree, inline edits, one-click approval."""
    return HTMLResponse(_static("plan.html"), headers=PAGE_HEADERS)


@page_router.get("/plan/plan.js")
def plan_script() -> Response:
    return Response(_static("plan.js"), media_type="text/javascript", headers=PAGE_HEADERS)


class DraftAction(BaseModel):
    author: str = Field(min_length=1, max_length=120)


class DraftEdit(DraftAction):
    plan: dict[str, Any] = Field(description="The whole edited plan (docs/PLANS.md).")


class DraftReject(DraftAction):
    reason: str = Field(default="", max_length=2000)


class VersionOut(BaseModel):
    draft_id: str
    number: int
    status: str


@router.get("", responses=errors(), summary="List plan drafts")
def list_drafts(session: SessionDep) -> list[dict[str, Any]]:
    rows = session.scalars(select(PlanDraft).order_by(PlanDraft.created_at.desc()))
    return [
        {"id": str(r.id), "name": r.name, "status": r.status, "created_at": r.created_at}
        for r in rows
    ]


@router.get("/{draft_id}", responses=errors(404), summary="Show a draft with its versions")
def show_draft(draft_id: str, session: SessionDep) -> dict[str, Any]:
    return draft_summary(get_draft(session, draft_id))


@router.post(
    "/{draft_id}/edit",
    response_model=VersionOut,
    dependencies=[Authorized],
    responses=errors(401, 404, 409),
    summary="Store an edited plan as the next version",
)
def edit(draft_id: str, body: DraftEdit, session: SessionDep) -> Any:
    # JSON is YAML: the drafting rules read the raw document and name the field at fault.
    version = edit_draft(session, draft_id, json.dumps(body.plan), author=body.author)
    session.commit()
    return {"draft_id": str(version.draft_id), "number": version.number, "status": "draft"}


@router.post(
    "/{draft_id}/approve",
    response_model=VersionOut,
    dependencies=[Authorized],
    responses=errors(401, 404, 409),
    summary="Approve a draft whose tests collect",
)
async def approve(draft_id: str, body: DraftAction, engine: EngineDep) -> Any:
    def decide() -> dict[str, Any]:
        with Session(engine) as session:
            version = approve_draft(session, draft_id, author=body.author)
            session.commit()
            return {
                "draft_id": str(version.draft_id),
                "number": version.number,
                "status": "approved",
            }

    return await run_in_threadpool(decide)


@router.post(
    "/{draft_id}/reject",
    response_model=VersionOut,
    dependencies=[Authorized],
    responses=errors(401, 404, 409),
    summary="Reject a draft",
)
def reject(draft_id: str, body: DraftReject, session: SessionDep) -> Any:
    draft = reject_draft(session, draft_id, author=body.author, reason=body.reason)
    session.commit()
    return {"draft_id": str(draft.id), "number": draft.versions[-1].number, "status": "rejected"}
