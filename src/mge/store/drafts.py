"""Drafted plans and their versions in the database (`plan_drafts`, `plan_versions`).

Every change to a drafted plan is a new version with its author, time and the
unified diff from the version before, so the history reads like a file's. A plan
is found again from its content (`plan_hash`), which is how `mge run PLAN` knows a
plan file is a draft and records which version it executed.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mge.db.models import DraftStatus, GenerationRun, PlanDraft, PlanVersion
from mge.errors import NotFound
from mge.plan import Plan, dump_plan, plan_to_data

__all__ = [
    "add_version",
    "create_draft",
    "current_plan",
    "find_version",
    "get_draft",
    "link_run",
    "plan_hash",
]


def plan_hash(plan: Plan) -> str:
    """The plan's content as a digest; where its reference lives does not count."""
    data = plan_to_data(plan)
    data.pop("reference", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _stored(plan: Plan) -> dict[str, Any]:
    return plan.model_dump(mode="json")


def current_plan(draft: PlanDraft) -> Plan | None:
    """The plan of the newest version (None when no stage got that far)."""
    for version in reversed(draft.versions):
        if version.plan is not None:
            return Plan.model_validate(version.plan)
    return None


def add_version(
    session: Session, draft: PlanDraft, plan: Plan | None, *, author: str, note: str
) -> PlanVersion:
    """Store `plan` as the draft's next version, with its diff from the last one."""
    before = current_plan(draft)
    old = dump_plan(before).splitlines(keepends=True) if before else []
    new = dump_plan(plan).splitlines(keepends=True) if plan else []
    number = max((v.number for v in draft.versions), default=0) + 1
    version = PlanVersion(
        number=number,
        author=author,
        note=note,
        plan=_stored(plan) if plan is not None else None,
        plan_hash=plan_hash(plan) if plan is not None else None,
        diff="".join(difflib.unified_diff(old, new, f"version {number - 1}", f"version {number}")),
    )
    draft.versions.append(version)
    session.flush()
    return version


def create_draft(
    session: Session,
    *,
    name: str,
    request: str,
    model: str,
    simulated: bool,
    plan: Plan | None,
    discovery: dict[str, Any] | None,
    tests: dict[str, str],
    cost: dict[str, Any],
    error: str | None,
    author: str,
    plan_path: str | None = None,
    tests_dir: str | None = None,
) -> PlanDraft:
    """Store what `mge plan new` produced as a draft with its first version."""
    draft = PlanDraft(
        name=name,
        request=request,
        status=(DraftStatus.INCOMPLETE if error else DraftStatus.DRAFT).value,
        model=model,
        simulated=simulated,
        discovery=discovery,
        tests=tests,
        cost=cost,
        error=error,
        plan_path=plan_path,
        tests_dir=tests_dir,
    )
    session.add(draft)
    add_version(session, draft, plan, author=author, note="generated")
    return draft


def get_draft(session: Session, draft_id: str) -> PlanDraft:
    """A draft by id or an unambiguous prefix of at least four hex digits."""
    try:
        found = session.get(PlanDraft, uuid.UUID(draft_id))
    except ValueError:
        prefix = draft_id.replace("-", "").lower()
        found = None
        if len(prefix) >= 4 and all(c in "0123456789abcdef" for c in prefix):
            matches = [
                row for row in session.scalars(select(PlanDraft)) if row.id.hex.startswith(prefix)
            ]
            found = matches[0] if len(matches) == 1 else None
    if found is None:
        raise NotFound(f"no plan draft {draft_id}")
    return found


def find_version(session: Session, plan: Plan) -> PlanVersion | None:
    """The newest stored version with exactly this plan, if it was ever drafted."""
    return session.scalars(
        select(PlanVersion)
        .where(PlanVersion.plan_hash == plan_hash(plan))
        .order_by(PlanVersion.created_at.desc(), PlanVersion.number.desc())
        .limit(1)
    ).first()


def link_run(session: Session, run_id: uuid.UUID, version_id: uuid.UUID) -> None:
    """Record on the run which plan version it executed."""
    run = session.get(GenerationRun, run_id)
    if run is None:
        raise NotFound(f"no run {run_id}")
    run.plan_version_id = version_id
