"""The review queue: which atoms a person should look at, in what order, by when.

The engine queues the atoms it could not make pass (failed after every attempt)
and the ones the levels above kept blaming. After a run `queue_doubtful` scores
every atom and adds the completed ones in the bottom share of confidence (or under
a threshold), then sets the priority of every open item: 1 is the most urgent, 5
the least (`priority_of`), from what failed, what waits on it and how sure the
score is. Listings sort by priority, then by more blocked dependents, lower
confidence, older; the due time comes from a per-priority SLA.
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
from mge.store.review_items import priority_of

__all__ = [
    "DEFAULT_SLA_HOURS",
    "OPEN_STATUSES",
    "PRIORITIES",
    "ReviewSettings",
    "claim_expires_at",
    "effective_priority",
    "get_item",
    "item_view",
    "list_queue",
    "priority_of",
    "queue_doubtful",
    "rank_after_run",
    "run_of",
    "summary_view",
]

OPEN_STATUSES = (ReviewStatus.PENDING, ReviewStatus.IN_REVIEW, ReviewStatus.REJECTED)
#: `source` of the findings a model review stored beside the static ones.
MODEL_SOURCE = "model"

#: Priorities from the most urgent (1) to the least (5).
PRIORITIES = (1, 2, 3, 4, 5)
#: Hours from queueing to the due time, per priority.
DEFAULT_SLA_HOURS: dict[int, float] = {1: 4.0, 2: 8.0, 3: 24.0, 4: 72.0, 5: 168.0}


@dataclass(frozen=True)
class ReviewSettings:
    """How much to queue, how fast each priority must be handled, and which model
    reviews the code (`model`: a spec such as `anthropic:NAME`; None = the run's)."""

    bottom_share: float = 0.15
    threshold: float | None = None
    claim_minutes: float = 30.0
    sla_hours: dict[int, float] = field(default_factory=lambda: dict(DEFAULT_SLA_HOURS))
    model: str | None = None
    model_base_url: str | None = None
    model_timeout_seconds: float = 120.0
    model_retries: int = 2

    def __post_init__(self) -> None:
        if not 0.0 <= self.bottom_share <= 1.0:
            raise ConfigError("review bottom share must be between 0 and 1")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ConfigError("review threshold must be between 0 and 1")
        if self.claim_minutes <= 0:
            raise ConfigError("a claim must last more than 0 minutes")
        if set(self.sla_hours) != set(PRIORITIES) or any(h <= 0 for h in self.sla_hours.values()):
            raise ConfigError("review SLA hours need a positive value for each priority 1 to 5")
        if self.model_timeout_seconds <= 0 or self.model_retries < 0:
            raise ConfigError("the review model needs a timeout > 0 and retries >= 0")


def run_of(session: Session, run_id: str | uuid.UUID) -> GenerationRun:
    try:
        key = run_id if isinstance(run_id, uuid.UUID) else uuid.UUID(str(run_id))
    except ValueError:
        raise NotFound(f"no run {run_id!r}") from None
    run = session.get(GenerationRun, key)
    if run is None:
        raise NotFound(f"no run {run_id}")
    return run


def effective_priority(stored: int) -> int:
    """The priority an item is listed under.

    The engine queues failed atoms with 100 and blamed ones with 80 while a run is
    going; `queue_doubtful` at the end of the run turns them into 1-5. Until then (a
    run interrupted before its end) those values still sort as 1 and 2.
    """
    if stored in PRIORITIES:
        return stored
    if stored >= 100:
        return 1
    return 2 if stored > PRIORITIES[-1] else 3


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
    """Set the item's priority; a rejected item moves one step more urgent.

    Only an atom that is not completed holds anything up: a completed one may sit
    upstream of blocked atoms, but they wait on something else."""
    blocked = 0 if atom.status is AtomStatus.COMPLETED else _blocked_behind(session, atom)
    confidence = atom.confidence_score if atom.confidence_score is not None else 0.0
    item.confidence_score = confidence
    priority = priority_of(
        failed=atom.status is AtomStatus.FAILED,
        blamed=bool(item.evidence.get("level") or item.evidence.get("blame")),
        blocked=blocked,
        confidence=confidence,
    )
    if item.status is ReviewStatus.REJECTED:
        priority = max(1, priority - 1)
    item.priority = priority
    item.evidence = {**item.evidence, "blocked_dependents": blocked}


def rank_after_run(session: Session, run_id: uuid.UUID) -> None:
    """The step after a run: score its atoms, queue the doubtful, rank every open
    item. The CLI and the API hand it to `execute_run(after_run=...)`."""
    queue_doubtful(session, run_id=run_id)


def queue_doubtful(
    session: Session, *, run_id: str | uuid.UUID, settings: ReviewSettings | None = None
) -> list[HumanReviewQueue]:
    """Score the run's atoms, queue the doubtful ones, rank every open item.

    Called by the step after a run (the `after_run` of `execute_run`, as the CLI
    and the API run it) and by `mge review list --refresh`; safe to call again: an
    atom already queued is updated, not repeated.
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
            priority=PRIORITIES[-1],
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
            # a model review of the same code is kept: it was paid for
            kept = [s for s in item.ai_suggestions or [] if s.get("source") == MODEL_SOURCE]
            item.ai_suggestions = [f.to_dict() for f in shown] + kept
            opened.append(item)
    session.flush()
    return opened


def claim_expires_at(item: HumanReviewQueue, settings: ReviewSettings) -> datetime | None:
    if item.assigned_to is None or item.claimed_at is None:
        return None
    return item.claimed_at + timedelta(minutes=settings.claim_minutes)


def _due_at(item: HumanReviewQueue, settings: ReviewSettings) -> datetime:
    hours = settings.sla_hours[effective_priority(item.priority)]
    return item.created_at + timedelta(hours=hours)


def _blocked(item: HumanReviewQueue) -> int:
    value = item.evidence.get("blocked_dependents") if item.evidence else None
    return value if isinstance(value, int) else 0


def _order(item: HumanReviewQueue) -> tuple[int, int, float, datetime, str]:
    return (
        effective_priority(item.priority),
        -_blocked(item),
        item.confidence_score,
        item.created_at,
        str(item.id),
    )


def list_queue(
    session: Session,
    *,
    run_id: str | uuid.UUID | None = None,
    statuses: tuple[ReviewStatus, ...] = OPEN_STATUSES,
    limit: int | None = None,
) -> list[HumanReviewQueue]:
    """Items most urgent first: priority 1 first; within a priority more blocked
    dependents, then lower confidence, then older (then the id, so the order is
    total). Sorted here because the blocked count lives in the evidence JSON; a
    queue holds a share of one plan's atoms, so reading it whole is cheap."""
    query = select(HumanReviewQueue).where(HumanReviewQueue.status.in_(statuses))
    if run_id is not None:
        query = query.where(HumanReviewQueue.masterplan_id == run_of(session, run_id).masterplan_id)
    items = sorted(session.scalars(query), key=_order)
    return items if limit is None else items[:limit]


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
    item: HumanReviewQueue, *, settings: ReviewSettings | None = None
) -> dict[str, Any]:
    """What a queue listing shows of one item."""
    settings = settings or ReviewSettings()
    atom = item.atom
    return {
        "id": str(item.id),
        "atom": atom.atom_key,
        "file": atom.file_path,
        "kind": atom.kind,
        "atom_status": atom.status.value,
        "status": item.status.value,
        "resolution": item.resolution.value if item.resolution else None,
        "priority": effective_priority(item.priority),
        "blocked_dependents": _blocked(item),
        "confidence": round(item.confidence_score, 4),
        "reason": item.reason,
        "assigned_to": item.assigned_to,
        "claim_expires_at": _iso(claim_expires_at(item, settings)),
        "due_at": _iso(_due_at(item, settings)),
        "run_id": item.evidence.get("run_id"),
    }


def _suggestions(session: Session, item: HumanReviewQueue) -> list[dict[str, Any]]:
    """The static findings stored at queueing (or computed now for an item the engine
    queued and nobody refreshed), then the model's findings on the current code."""
    stored = list(item.ai_suggestions or [])
    static = [s for s in stored if s.get("source") != MODEL_SOURCE]
    if not static:
        static = [s.to_dict() for s in atom_suggestions(session, item.atom)]
    from mge.review.model_review import model_review_view

    current = model_review_view(session, item).get("current", False)
    model = [s for s in stored if s.get("source") == MODEL_SOURCE] if current else []
    return static + model


def item_view(
    session: Session, item: HumanReviewQueue, *, settings: ReviewSettings | None = None
) -> dict[str, Any]:
    """Everything a reviewer needs to decide: code, context, evidence, suggestions, diff.

    Shows the stored model review (or why there is none) but never asks a model:
    `mge.review.model_review.ensure_model_review` does that first where wanted.
    `lines` are the atom's lines in its file as the atoms hold it now; each
    suggestion keeps `line` (in the atom, 0 when unknown) and gets `file_line`, its
    line in that file (None when unknown).
    """
    from mge.review.file_view import file_view
    from mge.review.model_review import model_review_view

    atom = item.atom
    view = summary_view(item, settings=settings)
    lines = file_view(session, atom)
    suggestions = [
        {**suggestion, "file_line": lines.file_line(int(suggestion.get("line") or 0))}
        for suggestion in _suggestions(session, item)
    ]
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
            "language": atom.language,
            "lines": {"first": lines.first_line, "last": lines.last_line},
            "suggestions": suggestions,
            "model_review": model_review_view(session, item, settings),
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
