"""What a reviewer does to a queue item, each step checked, applied once, and audited.

States: an open item is `pending`, `in_review` (claimed: a reservation that expires)
or `rejected` (sent back for someone else, one priority more urgent). A decision
closes it: `approved`, `edited` or `regenerated`; `skip` leaves it open for another
reviewer.

Two reviewers on one item: every change is a compare-and-set on the item's status
and holder (an UPDATE whose WHERE names the values read), so exactly one wins and
the other gets `Conflict`, on SQLite and PostgreSQL alike. Refused actions change
nothing and write no audit row; every accepted one writes one `review_audit_events`
row with the evidence and suggestions the reviewer was shown.

Approving or editing a failed atom completes it and puts its blocked dependents back
to pending, and the run becomes resumable, so `mge resume RUN` generates them and
re-runs the levels above.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from mge.db.base import utcnow
from mge.db.models import (
    AtomDependency,
    AtomicUnit,
    AtomRetryHistory,
    AtomStatus,
    GenerationRun,
    HumanReviewQueue,
    ReviewAuditEvent,
    ReviewResolution,
    ReviewStatus,
    RunStatus,
)
from mge.errors import ConfigError, Conflict, MgeError, ValidationFailed
from mge.review.queue import (
    OPEN_STATUSES,
    ReviewSettings,
    claim_expires_at,
    effective_priority,
    get_item,
)

__all__ = [
    "ActionResult",
    "approve",
    "bulk_approve",
    "claim",
    "edit",
    "regenerate",
    "reject",
    "release",
    "skip",
]


@dataclass(frozen=True)
class ActionResult:
    """The outcome of one action, as the CLI and the API report it."""

    review_id: str
    action: str
    status: str
    atom_status: str
    unblocked: int = 0
    passed: bool | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "review_id": self.review_id,
            "action": self.action,
            "status": self.status,
            "atom_status": self.atom_status,
            "unblocked": self.unblocked,
            "passed": self.passed,
            "message": self.message,
        }


def _actor(actor: str) -> str:
    name = actor.strip()
    if not name or len(name) > 120:
        raise ConfigError("a reviewer name is needed (1-120 characters)")
    return name


def _expired(item: HumanReviewQueue, settings: ReviewSettings, now: datetime) -> bool:
    expires = claim_expires_at(item, settings)
    return expires is not None and expires <= now


def _check_can_decide(
    item: HumanReviewQueue, actor: str, settings: ReviewSettings, now: datetime
) -> None:
    if item.status not in OPEN_STATUSES:
        raise Conflict(f"review {item.id} is already {item.status.value}")
    if item.assigned_to is None:
        return
    expired = _expired(item, settings, now)
    if item.assigned_to != actor and not expired:
        raise Conflict(
            f"review {item.id} is claimed by {item.assigned_to} until "
            f"{claim_expires_at(item, settings):%Y-%m-%d %H:%M} UTC"
        )
    if item.assigned_to == actor and expired:
        raise Conflict(f"your reservation of review {item.id} expired; claim it again")


def _swap(session: Session, item: HumanReviewQueue, **values: Any) -> None:
    """Apply `values` only if nobody changed the item's status or holder since it was
    read; otherwise the other reviewer won and this one gets a Conflict."""
    holder = HumanReviewQueue.assigned_to
    result = session.execute(
        update(HumanReviewQueue)
        .where(
            HumanReviewQueue.id == item.id,
            HumanReviewQueue.status == item.status,
            holder.is_(None) if item.assigned_to is None else holder == item.assigned_to,
        )
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 1) != 1:
        raise Conflict(f"review {item.id} was changed by someone else; reload it")
    session.refresh(item)


def _audit(
    session: Session,
    item: HumanReviewQueue,
    *,
    actor: str,
    action: str,
    before: ReviewStatus,
    note: str | None = None,
    **details: Any,
) -> None:
    session.add(
        ReviewAuditEvent(
            review_id=item.id,
            actor=actor,
            action=action,
            from_status=before.value,
            to_status=item.status.value,
            details={
                "note": note,
                "confidence": item.confidence_score,
                "priority": item.priority,
                "evidence": item.evidence,
                "suggestions": item.ai_suggestions,
                **details,
            },
        )
    )
    session.flush()


def _finish_values(item: HumanReviewQueue, actor: str, now: datetime) -> dict[str, Any]:
    started = item.review_started_at or item.claimed_at or now
    return {
        "reviewer": actor,
        "assigned_to": None,
        "claimed_at": None,
        "review_started_at": started,
        "review_completed_at": now,
        "review_time_seconds": max(0.0, (now - started).total_seconds()),
    }


def _unblock(session: Session, atom: AtomicUnit) -> int:
    """Blocked atoms behind `atom` go back to pending; the engine blocks again any
    that still wait on another failed atom when the run resumes."""
    count = 0
    queue = deque([atom.id])
    seen: set[uuid.UUID] = set()
    while queue:
        current = queue.popleft()
        for edge in session.scalars(
            select(AtomDependency).where(AtomDependency.from_atom_id == current)
        ):
            if edge.to_atom_id in seen:
                continue
            seen.add(edge.to_atom_id)
            dependent = session.get_one(AtomicUnit, edge.to_atom_id)
            if dependent.status is AtomStatus.BLOCKED:
                dependent.status = AtomStatus.PENDING
                count += 1
                queue.append(dependent.id)
    return count


def _run_id(session: Session, item: HumanReviewQueue) -> uuid.UUID:
    recorded = item.evidence.get("run_id")
    if recorded:
        return uuid.UUID(str(recorded))
    run = session.scalar(
        select(GenerationRun)
        .where(GenerationRun.masterplan_id == item.masterplan_id)
        .order_by(GenerationRun.created_at.desc())
    )
    if run is None:
        raise MgeError(f"review {item.id} belongs to no run")
    return run.id


def _reopen_run(session: Session, item: HumanReviewQueue) -> None:
    """A finished run goes back to pending so `mge resume` continues it."""
    run = session.get(GenerationRun, _run_id(session, item))
    if run is not None and run.status is RunStatus.COMPLETED:
        run.status = RunStatus.PENDING
        run.error = "atoms changed by review; resume to generate and validate again"


def _accept(session: Session, item: HumanReviewQueue, atom: AtomicUnit, now: datetime) -> int:
    """The atom's current code is now trusted: complete it, unblock what waits on it."""
    atom.needs_review = False
    if atom.status is AtomStatus.COMPLETED:
        return 0
    atom.status = AtomStatus.COMPLETED
    atom.completed_at = now
    atom.last_error = None
    unblocked = _unblock(session, atom)
    _reopen_run(session, item)
    return unblocked


def claim(
    session: Session,
    *,
    review_id: str | uuid.UUID,
    actor: str,
    settings: ReviewSettings | None = None,
) -> ActionResult:
    """Reserve an item for `actor` (or renew their reservation)."""
    settings = settings or ReviewSettings()
    actor = _actor(actor)
    now = utcnow()
    item = get_item(session, review_id=review_id)
    if item.status not in OPEN_STATUSES:
        raise Conflict(f"review {item.id} is already {item.status.value}")
    if (
        item.assigned_to is not None
        and item.assigned_to != actor
        and not _expired(item, settings, now)
    ):
        raise Conflict(f"review {item.id} is claimed by {item.assigned_to}")
    before = item.status
    _swap(
        session,
        item,
        status=ReviewStatus.IN_REVIEW,
        assigned_to=actor,
        claimed_at=now,
        review_started_at=item.review_started_at or now,
    )
    _audit(session, item, actor=actor, action="claim", before=before)
    return ActionResult(str(item.id), "claim", item.status.value, item.atom.status.value)


def release(
    session: Session,
    *,
    review_id: str | uuid.UUID,
    actor: str,
    settings: ReviewSettings | None = None,
) -> ActionResult:
    """Give a reservation back; the item returns to the queue untouched."""
    actor = _actor(actor)
    item = get_item(session, review_id=review_id)
    if item.status is not ReviewStatus.IN_REVIEW or item.assigned_to != actor:
        raise Conflict(f"review {item.id} is not claimed by {actor}")
    before = item.status
    _swap(session, item, status=ReviewStatus.PENDING, assigned_to=None, claimed_at=None)
    _audit(session, item, actor=actor, action="release", before=before)
    return ActionResult(str(item.id), "release", item.status.value, item.atom.status.value)


def approve(
    session: Session,
    *,
    review_id: str | uuid.UUID,
    actor: str,
    note: str | None = None,
    settings: ReviewSettings | None = None,
) -> ActionResult:
    """The atom's current code is right as it is."""
    settings = settings or ReviewSettings()
    actor = _actor(actor)
    now = utcnow()
    item = get_item(session, review_id=review_id)
    _check_can_decide(item, actor, settings, now)
    atom = item.atom
    if not atom.code:
        raise ValidationFailed(
            f"atom {atom.atom_key} has no code to approve; edit or regenerate it"
        )
    before = item.status
    _swap(
        session,
        item,
        status=ReviewStatus.APPROVED,
        resolution=ReviewResolution.APPROVE,
        review_notes=note,
        **_finish_values(item, actor, now),
    )
    unblocked = _accept(session, item, atom, now)
    _audit(session, item, actor=actor, action="approve", before=before, note=note, code=atom.code)
    return ActionResult(str(item.id), "approve", item.status.value, atom.status.value, unblocked)


def edit(
    session: Session,
    *,
    review_id: str | uuid.UUID,
    actor: str,
    code: str,
    note: str | None = None,
    settings: ReviewSettings | None = None,
) -> ActionResult:
    """Replace the atom's code with the reviewer's, if it passes atomic validation.

    The code is validated exactly as the engine validates a model's answer (L1 in the
    assembled file, with the completed prerequisites in view); invalid code is
    refused with the errors and nothing changes. Accepted code is stored as a new
    attempt (trigger `review:edit`).
    """
    from mge.execute.one_atom import validate_one

    settings = settings or ReviewSettings()
    actor = _actor(actor)
    now = utcnow()
    item = get_item(session, review_id=review_id)
    _check_can_decide(item, actor, settings, now)
    if not code.strip():
        raise ValidationFailed("the edited code is empty")
    if not code.endswith("\n"):
        code += "\n"
    atom = item.atom
    run_id = _run_id(session, item)
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    verdict = validate_one(engine, run_id, atom.atom_key, code)
    if not verdict.passed:
        raise ValidationFailed(
            f"the edit fails atomic validation, nothing changed:\n{verdict.feedback()[:2000]}"
        )
    before = item.status
    previous = atom.code
    _swap(
        session,
        item,
        status=ReviewStatus.EDITED,
        resolution=ReviewResolution.EDIT,
        edited_code=code,
        review_notes=note,
        **_finish_values(item, actor, now),
    )
    attempt = atom.attempts + 1
    session.add(
        AtomRetryHistory(
            atom_id=atom.id,
            run_id=run_id,
            attempt_number=attempt,
            temperature=0.0,
            model=f"human:{actor}"[:120],
            trigger="review:edit",
            generated_code=code,
            succeeded=True,
            feedback=note,
        )
    )
    atom.attempts = attempt
    atom.code = code
    atom.generated_at = now
    was_completed = atom.status is AtomStatus.COMPLETED
    unblocked = _accept(session, item, atom, now)
    if was_completed:
        _reopen_run(session, item)
    _audit(
        session,
        item,
        actor=actor,
        action="edit",
        before=before,
        note=note,
        code_before=previous,
        code_after=code,
    )
    return ActionResult(str(item.id), "edit", item.status.value, atom.status.value, unblocked)


def regenerate(
    session: Session,
    *,
    review_id: str | uuid.UUID,
    actor: str,
    feedback: str,
    settings: ReviewSettings | None = None,
) -> ActionResult:
    """Ask the run's model again with the reviewer's note as feedback.

    The new attempt is stored like any other. When it passes atomic validation the
    item is closed as regenerated; when it does not, the item goes back to the queue
    with the evidence, and the atom keeps its previous state. The session is
    committed before the engine runs (it writes with its own session).
    """
    from mge.execute.one_atom import regenerate_one

    settings = settings or ReviewSettings()
    actor = _actor(actor)
    if not feedback.strip():
        raise ConfigError("regenerate needs feedback for the model (what is wrong)")
    now = utcnow()
    item = get_item(session, review_id=review_id)
    _check_can_decide(item, actor, settings, now)
    atom = item.atom
    before = item.status
    was = atom.status
    previous = atom.code
    run_id = _run_id(session, item)
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    atom_key, item_id = atom.atom_key, item.id
    session.commit()
    passed = asyncio.run(regenerate_one(engine, run_id, atom_key, feedback=feedback))
    session.expire_all()
    item = get_item(session, review_id=item_id)
    atom = item.atom
    unblocked = 0
    if passed:
        _swap(
            session,
            item,
            status=ReviewStatus.REGENERATED,
            resolution=ReviewResolution.REGENERATE,
            review_notes=feedback,
            **_finish_values(item, actor, now),
        )
        atom.needs_review = False
        if was is not AtomStatus.COMPLETED:
            unblocked = _unblock(session, atom)
        _reopen_run(session, item)
    else:
        _swap(
            session,
            item,
            status=ReviewStatus.PENDING,
            assigned_to=None,
            claimed_at=None,
            review_notes=feedback,
        )
        item.evidence = {**item.evidence, "last_errors": atom.last_error}
    _audit(
        session,
        item,
        actor=actor,
        action="regenerate",
        before=before,
        note=feedback,
        passed=passed,
        code_before=previous,
        code_after=atom.code,
    )
    message = (
        "the new code passed atomic validation"
        if passed
        else "the new attempt failed atomic validation; the item is back in the queue"
    )
    return ActionResult(
        str(item.id), "regenerate", item.status.value, atom.status.value, unblocked, passed, message
    )


def skip(
    session: Session,
    *,
    review_id: str | uuid.UUID,
    actor: str,
    note: str | None = None,
    settings: ReviewSettings | None = None,
) -> ActionResult:
    """Pass on an item without deciding; it stays open for someone else."""
    settings = settings or ReviewSettings()
    actor = _actor(actor)
    now = utcnow()
    item = get_item(session, review_id=review_id)
    _check_can_decide(item, actor, settings, now)
    before = item.status
    _swap(
        session,
        item,
        status=ReviewStatus.PENDING,
        resolution=ReviewResolution.SKIP,
        assigned_to=None,
        claimed_at=None,
    )
    skipped = [*item.evidence.get("skipped_by", []), actor]
    item.evidence = {**item.evidence, "skipped_by": skipped}
    _audit(session, item, actor=actor, action="skip", before=before, note=note)
    return ActionResult(str(item.id), "skip", item.status.value, item.atom.status.value)


def reject(
    session: Session,
    *,
    review_id: str | uuid.UUID,
    actor: str,
    note: str,
    settings: ReviewSettings | None = None,
) -> ActionResult:
    """The code is wrong and this reviewer will not fix it: back in the queue, one
    priority more urgent (down to 1)."""
    settings = settings or ReviewSettings()
    actor = _actor(actor)
    if not note.strip():
        raise ConfigError("reject needs a note saying what is wrong")
    now = utcnow()
    item = get_item(session, review_id=review_id)
    _check_can_decide(item, actor, settings, now)
    before = item.status
    _swap(
        session,
        item,
        status=ReviewStatus.REJECTED,
        resolution=None,
        assigned_to=None,
        claimed_at=None,
        review_notes=note,
        priority=max(1, effective_priority(item.priority) - 1),
    )
    item.atom.needs_review = True
    _audit(session, item, actor=actor, action="reject", before=before, note=note)
    return ActionResult(str(item.id), "reject", item.status.value, item.atom.status.value)


def bulk_approve(
    session: Session,
    *,
    review_ids: Iterable[str | uuid.UUID],
    actor: str,
    note: str | None = None,
    settings: ReviewSettings | None = None,
) -> list[dict[str, Any]]:
    """Approve many items, each a decision of its own (own audit row, own outcome):
    one refused item does not undo or stop the others."""
    outcomes: list[dict[str, Any]] = []
    for review_id in review_ids:
        try:
            with session.begin_nested():
                result = approve(
                    session, review_id=review_id, actor=actor, note=note, settings=settings
                )
            outcomes.append({**result.to_dict(), "ok": True})
        except MgeError as error:
            outcomes.append({"review_id": str(review_id), "ok": False, "error": error.message})
    return outcomes
