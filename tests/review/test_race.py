"""Two reviewers acting on one item at the same moment: one wins, the other gets a
Conflict, even when both read the item before either wrote (real PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.review.conftest import run_shop

import mge.review
from mge.db import make_engine
from mge.db.models import ReviewAuditEvent
from mge.errors import Conflict
from mge.review import approve, claim, list_queue


def test_interleaved_claims_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    run_shop(postgres_url, tmp_path / "out")
    engine = make_engine(postgres_url)
    with Session(engine) as first, Session(engine) as second:
        item_id = list_queue(first)[0].id
        list_queue(second)  # both have read the pending, unclaimed item
        claim(first, review_id=item_id, actor="ana")
        first.commit()
        with pytest.raises(Conflict):
            approve(second, review_id=item_id, actor="bo")
        second.rollback()
        events = [e.action for e in first.scalars(select(ReviewAuditEvent))]
    engine.dispose()
    assert events == ["claim"]


def test_the_public_names() -> None:
    assert set(mge.review.__all__) == {
        "OPEN_STATUSES",
        "ActionResult",
        "AtomEvidence",
        "Confidence",
        "ReviewSettings",
        "Suggestion",
        "approve",
        "atom_suggestions",
        "bulk_approve",
        "claim",
        "edit",
        "effective_priority",
        "ensure_model_review",
        "gather_evidence",
        "get_item",
        "item_view",
        "list_queue",
        "model_review_view",
        "priority_of",
        "queue_doubtful",
        "rank_after_run",
        "regenerate",
        "reject",
        "release",
        "score",
        "score_run",
        "skip",
        "summary_view",
        "unified_diff",
    }
