"""The review queue: which atoms a person should look at, in what order, by when.

The engine queues the atoms it could not make pass (failed after every attempt)
and the ones the levels above kept blaming. After a run `queue_doubtful` scores
every atom and adds the completed ones in the bottom share of confidence (or under
a threshold), then ranks every open item. `priority` is an urgency score, higher
first (the engine's failed items start at 100, blamed ones at 80, doubtful ones at
50), raised by the dependents waiting on the atom and by low confidence; the
listing's `rank` is 1 for the most urgent item.
"""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mge.db.models import (
    AtomDependency,
    AtomicUnit,
    AtomStatus,
    GenerationRun,
    HumanReviewQueue,
    ReviewStatus,
)
from mge.errors import ConfigError, NotFound
from mge.review.confidence import score_run
from mge.review.suggestions import atom_suggestions, previous_diff, project_findings

__all__ = [
    "OPEN_STATUSES",
    "ReviewSettings",
    "claim_expires_at",
    "get_item",
    "item_view",
    "list_queue",
    "queue_doubtful",
    "run_of",
    "summary_view",
]

OPEN_STATUSES = (ReviewStatus.PENDING, ReviewStatus.IN_REVIEW, ReviewStatus.REJECTED)

FAILED_PRIORITY = 100
BLAMED_PRIORITY = 80
DOUBTFUL_PRIORITY = 50


@dataclass(frozen=True)
class ReviewSettings:
    """How much to queue and how fast it must be handled."""

    bottom_share: float = 0.15
    threshold: float | None = None
    claim_minutes: float = 30.0
    sla_hours: dict[str, float] = field(
        default_factory=lambda: {"critical": 4.0, "high": 24.0, "normal": 72.0}
    )

    def __post_init__(self) -> None:
        if not 0.0 <= self.bottom_share <= 1.0:
            raise ConfigError("review bottom share must be between 0 and 1")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ConfigError("review threshold must be between 0 and 1")
        if self.claim_minutes <= 0:
            raise ConfigError("a claim must last more than 0 minutes")


def run_of(session: Session, run_id: str | uuid.UUID) -> GenerationRun:
    try:
        key = run_id if isinstance(run_id, uuid.UUID) else uuid.UUID(str(run_id))
    except ValueError:
        raise NotFound(f"no run {run_id!r}") from None
    run = session.get(GenerationRun, key)
    if run is None:
        raise NotFound(f"no run {run_id}")
    return run


def _tier(priority: int) -> str:
    if priority >= FAILED_PRIORITY:
        return "critical"
    if priority >= BLAMED_PRIORITY:
        return "high"
    return "normal"


def _base_priority(item: HumanReviewQueue, atom: AtomicUnit) -> int:
    if atom.status is AtomStatus.FAILED:
        return FAILED_PRIORITY
    if item.evidence.get("level") or item.evidence.get("blame"):
        return BLAMED_PRIORITY
    return DOUBTFUL_PRIORITY


def _blocked_behind(session: Session, atom: AtomicUnit) -> int:
    """How many blocked atoms wait, directly or not, on this one."""
    seen: set[uuid.UUID] = set()
    queue = deque([atom.id])
    while queue:
        current = queue.popleft()
        for edge in session.scalars(
            select(AtomDependency).where(AtomDependency.from_atom_id == current)
        ):
            if edge.to_atom_id not in seen:
                seen.add(edge.to_atom_id)
                queue.append(edge.to_atom_id)
    if not seen:
        return 0
    return len(
        list(
            session.scalars(
                select(AtomicUnit.id).where(
                    AtomicUnit.id.in_(seen), AtomicUnit.status == AtomStatus.BLOCKED
                )
            )
        )
    )


def _rank_item(session: Session, item: HumanReviewQueue, atom: AtomicUnit) -> None:
    blocked = _blocked_behind(session, atom)
    confidence = atom.confidence_score if atom.confidence_score is not None else 0.0
    item.confidence_score = confidence
    priority = _base_priority(item, atom) + min(10, blocked) + round(5 * (1.0 - confidence))
    if item.status is ReviewStatus.REJECTED:
        priority += 5
    item.priority = priority
    item.evidence = {**item.evidence, "blocked_dependents": blocked}


def queue_doubtful(
    session: Session, *, run_id: str | uuid.UUID, settings: ReviewSettings | None = None
) -> list[HumanReviewQueue]:
    """Score the run's atoms, queue the doubtful ones, rank every open item.

    Called at the end of a run (the engine's `_finish`) and by `mge review list
    --refresh`; safe to call again: an atom already queued is updated, not repeated.
    Returns the open items. Flushes; the caller commits.
    """
    settings = settings or ReviewSettings()
    run = run_of(session, run_id)
    masterplan_id = run.masterplan_id
    scores = score_run(session, masterplan_id=masterplan_id)
    atoms = {
        atom.id: atom
        for atom in session.scalars(
            select(AtomicUnit).where(AtomicUnit.masterplan_id == masterplan_id)
        )
    }
    for atom_id in scores:
        if atoms[atom_id].status is AtomStatus.FAILED:
            atoms[atom_id].confidence_score = 0.0
    existing = {
        item.atom_id: item
        for item in session.scalars(
            select(HumanReviewQueue).where(HumanReviewQueue.masterplan_id == masterplan_id)
        )
    }
    completed = sorted(
        (a for a in atoms.values() if a.status is AtomStatus.COMPLETED),
        key=lambda a: (a.confidence_score or 0.0, a.atom_number),
    )
    cut = round(settings.bottom_share * len(completed))
    doubtful = set(a.id for a in completed[:cut])
    if settings.threshold is not None:
        doubtful |= {a.id for a in completed if (a.confidence_score or 0.0) < settings.threshold}
    for atom_id in doubtful:
        atom = atoms[atom_id]
        if atom_id in existing:
            continue
        atom.needs_review = True
        item = HumanReviewQueue(
            atom_id=atom.id,
            masterplan_id=masterplan_id,
            confidence_score=atom.confidence_score or 0.0,
            priority=DOUBTFUL_PRIORITY,
            reason=f"low confidence ({atom.confidence_score:.2f})",
            original_code=atom.code,
            evidence={},
            status=ReviewStatus.PENDING,
        )
        session.add(item)
        existing[atom_id] = item
    opened: list[HumanReviewQueue] = []
    findings = project_findings(session, masterplan_id=masterplan_id)
    order = {"error": 0, "warning": 1, "info": 2}
    for atom_id, item in existing.items():
        atom = atoms[atom_id]
        item.evidence = {
            **item.evidence,
            "run_id": str(run.id),
            "confidence": scores[atom_id].to_dict() if atom_id in scores else None,
        }
        if item.status in OPEN_STATUSES:
            _rank_item(session, item, atom)
            shown = sorted(
                findings.get(atom.atom_key, []), key=lambda f: (order.get(f.severity, 3), f.line)
            )
            item.ai_suggestions = [f.to_dict() for f in shown]
            opened.append(item)
    session.flush()
    return opened


def claim_expires_at(item: HumanReviewQueue, settings: ReviewSettings) -> datetime | None:
    if item.assigned_to is None or item.claimed_at is None:
        return None
    return item.claimed_at + timedelta(minutes=settings.claim_minutes)


def _due_at(item: HumanReviewQueue, settings: ReviewSettings) -> datetime:
    hours = settings.sla_hours.get(_tier(item.priority), 72.0)
    return item.created_at + timedelta(hours=hours)


def list_queue(
    session: Session,
    *,
    run_id: str | uuid.UUID | None = None,
    statuses: tuple[ReviewStatus, ...] = OPEN_STATUSES,
    limit: int | None = None,
) -> list[HumanReviewQueue]:
    """Items most urgent first: priority, then lowest confidence, then oldest."""
    query = select(HumanReviewQueue).where(HumanReviewQueue.status.in_(statuses))
    if run_id is not None:
        query = query.where(HumanReviewQueue.masterplan_id == run_of(session, run_id).masterplan_id)
    query = query.order_by(
        HumanReviewQueue.priority.desc(),
        HumanReviewQueue.confidence_score.asc(),
        HumanReviewQueue.created_at.asc(),
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def get_item(
    session: Session, *, review_id: str | uuid.UUID, lock: bool = False
) -> HumanReviewQueue:
    try:
        key = review_id if isinstance(review_id, uuid.UUID) else uuid.UUID(str(review_id))
    except ValueError:
        raise NotFound(f"no review item {review_id!r}") from None
    query = select(HumanReviewQueue).where(HumanReviewQueue.id == key)
    if lock:
        query = query.with_for_update()
    item = session.scalar(query)
    if item is None:
        raise NotFound(f"no review item {review_id}")
    return item


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def summary_view(
    item: HumanReviewQueue, *, rank: int | None = None, settings: ReviewSettings | None = None
) -> dict[str, Any]:
    """What a queue listing shows of one item."""
    settings = settings or ReviewSettings()
    atom = item.atom
    return {
        "id": str(item.id),
        "rank": rank,
        "atom": atom.atom_key,
        "file": atom.file_path,
        "kind": atom.kind,
        "atom_status": atom.status.value,
        "status": item.status.value,
        "resolution": item.resolution.value if item.resolution else None,
        "priority": item.priority,
        "tier": _tier(item.priority),
        "confidence": round(item.confidence_score, 4),
        "reason": item.reason,
        "assigned_to": item.assigned_to,
        "claim_expires_at": _iso(claim_expires_at(item, settings)),
        "due_at": _iso(_due_at(item, settings)),
        "run_id": item.evidence.get("run_id"),
    }


def item_view(
    session: Session, item: HumanReviewQueue, *, settings: ReviewSettings | None = None
) -> dict[str, Any]:
    """Everything a reviewer needs to decide: code, context, evidence, suggestions, diff."""
    atom = item.atom
    view = summary_view(item, settings=settings)
    view.update(
        {
            "code": atom.code,
            "original_code": item.original_code,
            "edited_code": item.edited_code,
            "review_notes": item.review_notes,
            "reviewer": item.reviewer,
            "context": {
                "signature": atom.signature,
                "preconditions": atom.context_preconditions,
                "postconditions": atom.context_postconditions,
                "callees": atom.context_callees,
                "imports": atom.context_imports,
                "completeness": atom.context_completeness,
            },
            "attempts": atom.attempts,
            "last_error": atom.last_error,
            "evidence": item.evidence,
            "suggestions": item.ai_suggestions
            or [s.to_dict() for s in atom_suggestions(session, atom)],
            "diff_previous": previous_diff(session, atom),
            "events": [
                {
                    "actor": event.actor,
                    "action": event.action,
                    "from_status": event.from_status,
                    "to_status": event.to_status,
                    "at": _iso(event.created_at),
                    "note": event.details.get("note"),
                }
                for event in item.events
            ],
        }
    )
    return view
