"""Review items as the engine opens them during a run and the review queue ranks them.

The priority rule lives here, below both: the engine queues an atom that failed or
was blamed the moment it happens, and `mge.review` ranks every open item after the
run, by the same rule, without either importing the other.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mge.db.models import AtomicUnit, HumanReviewQueue

__all__ = ["HIGH_CONFIDENCE", "LOW_CONFIDENCE", "open_review_item", "priority_of"]

#: Under this confidence a blamed atom is priority 2 and a doubtful one priority 3.
LOW_CONFIDENCE = 0.5
#: From this confidence up a doubtful atom (queued only for its share) is priority 5.
HIGH_CONFIDENCE = 0.8


def priority_of(*, failed: bool, blamed: bool, blocked: int, confidence: float) -> int:
    """The priority of an open item, 1 (most urgent) to 5.

    1: the atom failed atomic validation and other atoms are blocked behind it.
    2: it failed with nothing waiting on it, or a level above (L2-L4) blamed it and
       its confidence is low.
    3: blamed with a fair confidence, or a completed atom with a low confidence.
    4: a completed atom with a middling confidence.
    5: a completed atom queued only because it is in the bottom share.
    """
    if failed:
        return 1 if blocked > 0 else 2
    if blamed:
        return 2 if confidence < LOW_CONFIDENCE else 3
    if confidence < LOW_CONFIDENCE:
        return 3
    return 4 if confidence < HIGH_CONFIDENCE else 5


def open_review_item(
    session: Session, row: AtomicUnit, *, masterplan_id: object, reason: str, priority: int
) -> None:
    """Queue the atom for a person, or add the new evidence to its open item."""
    existing = session.scalar(select(HumanReviewQueue).where(HumanReviewQueue.atom_id == row.id))
    evidence = {"last_errors": row.last_error, "attempts": row.attempts}
    if existing is None:
        session.add(
            HumanReviewQueue(
                atom_id=row.id,
                masterplan_id=masterplan_id,
                confidence_score=row.confidence_score or 0.0,
                priority=priority,
                reason=reason,
                original_code=row.code,
                evidence=evidence,
            )
        )
    else:
        existing.evidence = {**existing.evidence, **evidence}
