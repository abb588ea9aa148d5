"""Review of a drafted plan: show, edit, approve, reject, and the gate before a run.

A draft becomes runnable only by approval, and approval needs tests that collect
against the current plan's stub skeleton: an edit that renamed or dropped a name
the tests import would otherwise be approved and fail every test at run time.
Every edit and decision is stored as a version (see `mge.store.drafts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from mge.db.models import DraftStatus, PlanDraft, PlanVersion
from mge.errors import Conflict, PlanError
from mge.plan import Plan
from mge.plan._drafting import parse_masterplan, planned_tests
from mge.planner._service import TestRunner, sandbox_runner, stub_verdict
from mge.store.drafts import add_version, current_plan, find_version, get_draft

__all__ = [
    "RunGate",
    "approve_draft",
    "draft_summary",
    "edit_draft",
    "gate_run",
    "reject_draft",
]


def _open(draft: PlanDraft) -> Plan:
    if draft.status == DraftStatus.REJECTED.value:
        raise Conflict(f"plan draft {draft.id.hex[:8]} was rejected")
    plan = current_plan(draft)
    if plan is None:
        raise Conflict(f"plan draft {draft.id.hex[:8]} has no plan yet: {draft.error}")
    return plan


def edit_draft(session: Session, draft_id: str, text: str, *, author: str) -> PlanVersion:
    """Store an edited plan as a new version; a plan that breaks is refused with the
    path of the field at fault, and an approved plan goes back to review."""
    draft = get_draft(session, draft_id)
    before = _open(draft)
    plan = parse_masterplan(text)
    if plan.reference is None and before.reference is not None:
        plan = plan.model_copy(update={"reference": before.reference})
    if plan == before:
        raise Conflict("the edit changes nothing")
    draft.status = DraftStatus.DRAFT.value
    return add_version(session, draft, plan, author=author, note="edited")


def approve_draft(
    session: Session, draft_id: str, *, author: str, runner: TestRunner = sandbox_runner
) -> PlanVersion:
    """Approve the current version once its tests are all there and collect."""
    draft = get_draft(session, draft_id)
    plan = _open(draft)
    if draft.status == DraftStatus.APPROVED.value:
        raise Conflict(f"plan draft {draft.id.hex[:8]} is already approved")
    tests: dict[str, str] = dict(draft.tests)
    missing = [t for t in planned_tests(plan) if t not in tests]
    if missing:
        raise PlanError(f"cannot approve: {missing[0]} is named by the plan but has no test file")
    broken = [i for i in stub_verdict(plan, tests, runner) if "does not collect" in i.message]
    if broken:
        raise PlanError(f"cannot approve: {broken[0]}")
    draft.status = DraftStatus.APPROVED.value
    draft.decided_by = author
    return add_version(session, draft, plan, author=author, note="approved")


def reject_draft(session: Session, draft_id: str, *, author: str, reason: str) -> PlanDraft:
    draft = get_draft(session, draft_id)
    if draft.status == DraftStatus.REJECTED.value:
        raise Conflict(f"plan draft {draft.id.hex[:8]} is already rejected")
    draft.status = DraftStatus.REJECTED.value
    draft.decided_by = author
    draft.decision_note = reason
    add_version(session, draft, current_plan(draft), author=author, note=f"rejected: {reason}")
    return draft


@dataclass(frozen=True)
class RunGate:
    """What a run of a drafted plan needs: the version it executes, where its tests are."""

    version: PlanVersion | None
    tests_dir: str | None


def gate_run(session: Session, plan: Plan, *, yes: bool) -> RunGate:
    """Refuse a plan that is a draft not yet approved, unless `yes`."""
    version = find_version(session, plan)
    if version is None:
        return RunGate(None, None)
    draft = version.draft
    if draft.status != DraftStatus.APPROVED.value and not yes:
        raise Conflict(
            f"this plan is {draft.status} {draft.id.hex[:8]} (version {version.number}), not"
            f" approved: approve it with `mge plan approve {draft.id.hex[:8]}` or pass --yes"
        )
    return RunGate(version, draft.tests_dir)


def draft_summary(draft: PlanDraft) -> dict[str, Any]:
    """The draft as the CLI and the API show it: status, plan tree, tests, history."""
    plan = current_plan(draft)
    return {
        "id": str(draft.id),
        "name": draft.name,
        "status": draft.status,
        "request": draft.request,
        "model": draft.model,
        "simulated": draft.simulated,
        "error": draft.error,
        "discovery": draft.discovery,
        "plan": plan.model_dump(mode="json") if plan else None,
        "tests": sorted(draft.tests),
        "tests_dir": draft.tests_dir,
        "cost": draft.cost,
        "versions": [
            {
                "number": v.number,
                "author": v.author,
                "created_at": v.created_at.isoformat(),
                "note": v.note,
                "diff": v.diff,
            }
            for v in draft.versions
        ],
    }
