"""`/api/v2/review/*` and the review page at `/review`.

The JSON routes are thin: each opens one transaction, calls `mge.review`, and lets
the app's error handlers turn `NotFound` / `Conflict` / `ValidationFailed` into 404
/ 409 / 422. Every mutating route needs the API token when one is configured. The
page is one static HTML file with plain JavaScript that calls these routes.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from mge.api._review_html import highlight_css, render_item
from mge.api.deps import Authorized, EngineDep
from mge.api.routes._common import errors
from mge.db import session_scope
from mge.db.models import ReviewStatus
from mge.review import (
    OPEN_STATUSES,
    ReviewSettings,
    actions,
    ensure_model_review,
    get_item,
    item_view,
    list_queue,
    queue_doubtful,
    summary_view,
    unified_diff,
)
from mge.review.file_view import file_view, previous_attempt

__all__ = ["page_router", "router"]

router = APIRouter(prefix="/review", tags=["review"])
page_router = APIRouter(include_in_schema=False)
_Route = TypeVar("_Route", bound=Callable[..., Any])

Reviewer = Annotated[str, Field(min_length=1, max_length=120, description="Who acts.")]


class ActorIn(BaseModel):
    reviewer: Reviewer
    note: str | None = None


class EditIn(BaseModel):
    reviewer: Reviewer
    code: str = Field(min_length=1)
    note: str | None = None


class RegenerateIn(BaseModel):
    reviewer: Reviewer
    feedback: str = Field(min_length=1)


class RejectIn(BaseModel):
    reviewer: Reviewer
    note: str = Field(min_length=1)


class BulkApproveIn(BaseModel):
    reviewer: Reviewer
    ids: list[str] = Field(min_length=1, max_length=500)
    note: str | None = None


class RefreshIn(BaseModel):
    bottom_share: float = Field(default=0.15, ge=0.0, le=1.0)
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)


class DiffIn(BaseModel):
    code: str


@router.get("/items", responses=errors(404), summary="The review queue, most urgent first")
def list_items(
    engine: EngineDep,
    run_id: str | None = None,
    include_closed: Annotated[bool, Query(alias="all")] = False,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> dict[str, Any]:
    statuses = tuple(ReviewStatus) if include_closed else OPEN_STATUSES
    with session_scope(engine) as session:
        items = list_queue(session, run_id=run_id, statuses=statuses, limit=limit)
        views = [summary_view(item) for item in items]
    return {"items": views, "count": len(views)}


@router.get("/items/{review_id}", responses=errors(404), summary="One item with its evidence")
def show_item(review_id: str, engine: EngineDep) -> dict[str, Any]:
    """With a real model configured, the first view of an item's code asks the model
    for its review (stored, bounded by the run's budget); later views reuse it."""
    with session_scope(engine) as session:
        item = get_item(session, review_id=review_id)
        ensure_model_review(session, item)
        return item_view(session, item)


@router.post(
    "/items/{review_id}/model-review",
    dependencies=[Authorized],
    responses=errors(401, 404, 413, 415),
    summary="Ask the model to review the item's code again",
)
def model_review_item(review_id: str, engine: EngineDep) -> dict[str, Any]:
    with session_scope(engine, write=True) as session:
        item = get_item(session, review_id=review_id)
        return ensure_model_review(session, item, force=True)


@router.post(
    "/items/{review_id}/diff",
    responses=errors(404, 413, 415),
    summary="Diff of proposed code (no change)",
)
def diff_item(review_id: str, body: DiffIn, engine: EngineDep) -> dict[str, Any]:
    with session_scope(engine) as session:
        item = get_item(session, review_id=review_id)
        return {"diff": unified_diff(item.atom.code, body.code, label=item.atom.atom_key)}


@router.post(
    "/runs/{run_id}/refresh",
    dependencies=[Authorized],
    responses=errors(401, 404, 413, 415),
    summary="Score a run's atoms and queue the doubtful ones",
)
def refresh_run(run_id: str, body: RefreshIn, engine: EngineDep) -> dict[str, Any]:
    settings = ReviewSettings(bottom_share=body.bottom_share, threshold=body.threshold)
    with session_scope(engine, write=True) as session:
        opened = queue_doubtful(session, run_id=run_id, settings=settings)
        return {"open": len(opened)}


def _action(path: str, summary: str) -> Callable[[_Route], _Route]:
    """A mutating item route: token-guarded, with its documented errors."""
    return router.post(
        path, summary=summary, dependencies=[Authorized], responses=errors(401, 404, 409, 413, 415)
    )


@_action("/items/{review_id}/claim", "Reserve an item")
def claim_item(review_id: str, body: ActorIn, engine: EngineDep) -> dict[str, Any]:
    with session_scope(engine, write=True) as session:
        return actions.claim(session, review_id=review_id, actor=body.reviewer).to_dict()


@_action("/items/{review_id}/release", "Give a reservation back")
def release_item(review_id: str, body: ActorIn, engine: EngineDep) -> dict[str, Any]:
    with session_scope(engine, write=True) as session:
        return actions.release(session, review_id=review_id, actor=body.reviewer).to_dict()


@_action("/items/{review_id}/approve", "Accept the atom's code")
def approve_item(review_id: str, body: ActorIn, engine: EngineDep) -> dict[str, Any]:
    with session_scope(engine, write=True) as session:
        return actions.approve(
            session, review_id=review_id, actor=body.reviewer, note=body.note
        ).to_dict()


@_action("/items/{review_id}/edit", "Replace the code (validated)")
def edit_item(review_id: str, body: EditIn, engine: EngineDep) -> dict[str, Any]:
    with session_scope(engine, write=True) as session:
        return actions.edit(
            session, review_id=review_id, actor=body.reviewer, code=body.code, note=body.note
        ).to_dict()


@_action("/items/{review_id}/regenerate", "Ask the model again")
def regenerate_item(review_id: str, body: RegenerateIn, engine: EngineDep) -> dict[str, Any]:
    with session_scope(engine, write=True) as session:
        return actions.regenerate(
            session, review_id=review_id, actor=body.reviewer, feedback=body.feedback
        ).to_dict()


@_action("/items/{review_id}/skip", "Pass on an item")
def skip_item(review_id: str, body: ActorIn, engine: EngineDep) -> dict[str, Any]:
    with session_scope(engine, write=True) as session:
        return actions.skip(
            session, review_id=review_id, actor=body.reviewer, note=body.note
        ).to_dict()


@_action("/items/{review_id}/reject", "Send back to the queue")
def reject_item(review_id: str, body: RejectIn, engine: EngineDep) -> dict[str, Any]:
    with session_scope(engine, write=True) as session:
        return actions.reject(
            session, review_id=review_id, actor=body.reviewer, note=body.note
        ).to_dict()


@router.post(
    "/bulk-approve",
    dependencies=[Authorized],
    responses=errors(401, 413, 415),
    summary="Approve many items, each its own audited decision",
)
def bulk_approve_items(body: BulkApproveIn, engine: EngineDep) -> dict[str, Any]:
    with session_scope(engine, write=True) as session:
        results = actions.bulk_approve(
            session, review_ids=body.ids, actor=body.reviewer, note=body.note
        )
    return {"results": results}


# The page is served with its script and style as files of its own, so the policy can
# forbid every inline script: text from the database (code, notes, model output)
# that slipped into the page as markup could not run. Nothing may frame the page (a
# click on "Approve" cannot be hijacked), and it talks only to this service.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _static(name: str) -> str:
    return files("mge.api").joinpath("static", name).read_text(encoding="utf-8")


@page_router.get("/review", response_class=HTMLResponse)
def review_page() -> HTMLResponse:
    return HTMLResponse(_static("review.html"), headers=PAGE_HEADERS)


@page_router.get("/review/review.js")
def review_script() -> Response:
    return Response(_static("review.js"), media_type="text/javascript", headers=PAGE_HEADERS)


@page_router.get("/review/review.css")
def review_style() -> Response:
    style = _static("review.css") + "\n/* Pygments */\n" + highlight_css()
    return Response(style, media_type="text/css", headers=PAGE_HEADERS)


@page_router.get("/review/items/{review_id}", response_class=HTMLResponse)
def review_item_panel(review_id: str, engine: EngineDep) -> HTMLResponse:
    """The item panel of the page, rendered here (highlighting, the file around the
    atom, the previous attempt); the page's script puts it in place as it is."""
    with session_scope(engine) as session:
        item = get_item(session, review_id=review_id)
        view = item_view(session, item)
        panel = render_item(
            view, file_view(session, item.atom), previous_attempt(session, item.atom)
        )
    return HTMLResponse(panel, headers=PAGE_HEADERS)
