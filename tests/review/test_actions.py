"""Every review action on a real run: state changes, audit rows, conflicts, refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.review.conftest import FIXED_WITH_TAX, LABEL, TOTAL, WITH_TAX, ShopRun

from mge.db import make_engine, session_scope
from mge.db.models import (
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
from mge.errors import ConfigError, Conflict, NotFound, ValidationFailed
from mge.execute import prepare_resume
from mge.review import (
    ReviewSettings,
    approve,
    bulk_approve,
    claim,
    edit,
    list_queue,
    queue_doubtful,
    regenerate,
    reject,
    release,
    skip,
)


def _failed_item(session: Session) -> HumanReviewQueue:
    return session.scalars(
        select(HumanReviewQueue)
        .join(AtomicUnit, AtomicUnit.id == HumanReviewQueue.atom_id)
        .where(AtomicUnit.atom_key == WITH_TAX)
    ).one()


def _status(session: Session, key: str) -> AtomStatus:
    return session.scalars(select(AtomicUnit.status).where(AtomicUnit.atom_key == key)).one()


def _events(session: Session) -> list[tuple[str, str, str | None, str | None]]:
    rows = session.scalars(select(ReviewAuditEvent).order_by(ReviewAuditEvent.created_at))
    return [(e.actor, e.action, e.from_status, e.to_status) for e in rows]


def test_edit_of_a_failed_atom_unblocks_its_dependents_and_the_run_resumes(
    shop_any: ShopRun,
) -> None:
    engine = make_engine(shop_any.url)
    with session_scope(engine) as session:
        item_id = _failed_item(session).id
        claim(session, review_id=item_id, actor="ana")
    with session_scope(engine) as session:
        result = edit(session, review_id=item_id, actor="ana", code=FIXED_WITH_TAX, note="stray +")
    assert (result.status, result.atom_status, result.unblocked) == ("edited", "completed", 2)
    with session_scope(engine) as session:
        item = session.get_one(HumanReviewQueue, item_id)
        assert item.resolution is ReviewResolution.EDIT
        assert item.edited_code == FIXED_WITH_TAX
        assert item.reviewer == "ana" and item.assigned_to is None
        assert item.review_time_seconds is not None
        assert _status(session, TOTAL) is AtomStatus.PENDING
        assert _status(session, LABEL) is AtomStatus.PENDING
        history = session.scalars(
            select(AtomRetryHistory).where(AtomRetryHistory.atom_id == item.atom_id)
        ).all()
        assert [(h.attempt_number, h.trigger, h.succeeded) for h in history][-1] == (
            4,
            "review:edit",
            True,
        )
        assert session.get_one(GenerationRun, shop_any.run_id).status is RunStatus.PENDING
        assert _events(session) == [
            ("ana", "claim", "pending", "in_review"),
            ("ana", "edit", "in_review", "edited"),
        ]
        edit_event = session.scalars(
            select(ReviewAuditEvent).where(ReviewAuditEvent.action == "edit")
        ).one()
        assert edit_event.details["code_after"] == FIXED_WITH_TAX
        assert edit_event.details["evidence"]["attempts"] == 3
    assert prepare_resume(engine, str(shop_any.run_id)) == shop_any.run_id
    engine.dispose()


def test_a_second_reviewer_gets_a_conflict_and_nothing_changes(shop_any: ShopRun) -> None:
    engine = make_engine(shop_any.url)
    with session_scope(engine) as session:
        item_id = _failed_item(session).id
        claim(session, review_id=item_id, actor="ana")
    for action in (
        lambda s: claim(s, review_id=item_id, actor="bo"),
        lambda s: approve(s, review_id=item_id, actor="bo"),
        lambda s: skip(s, review_id=item_id, actor="bo"),
        lambda s: release(s, review_id=item_id, actor="bo"),
    ):
        with pytest.raises(Conflict, match=r"ana|not claimed by bo"), session_scope(engine) as s:
            action(s)
    with session_scope(engine) as session:
        item = session.get_one(HumanReviewQueue, item_id)
        assert (item.status, item.assigned_to) == (ReviewStatus.IN_REVIEW, "ana")
        assert [e[1] for e in _events(session)] == ["claim"]
    engine.dispose()


def test_a_closed_item_cannot_be_decided_twice(shop: ShopRun) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        item_id = _failed_item(session).id
        approve(session, review_id=item_id, actor="ana")
    with pytest.raises(Conflict, match="already approved"), session_scope(engine) as session:
        approve(session, review_id=item_id, actor="bo")
    engine.dispose()


def test_an_expired_reservation_is_refused_to_its_holder_and_free_for_others(
    shop: ShopRun,
) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        item = _failed_item(session)
        item_id = item.id
        claim(session, review_id=item_id, actor="ana")
    with session_scope(engine) as session:
        item = session.get_one(HumanReviewQueue, item_id)
        assert item.claimed_at is not None
        item.claimed_at = item.claimed_at - timedelta(minutes=31)
    with pytest.raises(Conflict, match="expired"), session_scope(engine) as session:
        approve(session, review_id=item_id, actor="ana")
    with session_scope(engine) as session:
        claim(session, review_id=item_id, actor="bo", settings=ReviewSettings(claim_minutes=30))
        assert session.get_one(HumanReviewQueue, item_id).assigned_to == "bo"
    engine.dispose()


def test_an_invalid_edit_is_refused_with_the_errors_and_changes_nothing(shop: ShopRun) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        item_id = _failed_item(session).id
    with pytest.raises(ValidationFailed, match="syntax"), session_scope(engine) as session:
        edit(session, review_id=item_id, actor="ana", code="def with_tax(net:\n")
    with (
        pytest.raises(ValidationFailed, match=r"signature|contract|with_tax"),
        session_scope(engine) as session,
    ):
        edit(session, review_id=item_id, actor="ana", code="def other() -> int:\n    return 1\n")
    with session_scope(engine) as session:
        item = session.get_one(HumanReviewQueue, item_id)
        assert item.status is ReviewStatus.PENDING and item.edited_code is None
        assert _status(session, WITH_TAX) is AtomStatus.FAILED
        assert _events(session) == []
    engine.dispose()


def test_approving_a_failed_atom_completes_it_and_audits_what_was_shown(shop: ShopRun) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        queue_doubtful(session, run_id=shop.run_id)
        item_id = _failed_item(session).id
        result = approve(session, review_id=item_id, actor="ana", note="fine by me")
    assert result.unblocked == 2
    with session_scope(engine) as session:
        assert _status(session, WITH_TAX) is AtomStatus.COMPLETED
        event = session.scalars(select(ReviewAuditEvent)).one()
        assert event.details["note"] == "fine by me"
        assert event.details["suggestions"]  # the static findings shown with the code
        assert event.details["confidence"] == 0.0
    engine.dispose()


def test_reject_sends_the_item_back_higher_and_skip_leaves_it_open(shop: ShopRun) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        item_id = _failed_item(session).id
        before = session.get_one(HumanReviewQueue, item_id).priority
        skip(session, review_id=item_id, actor="ana")
        item = session.get_one(HumanReviewQueue, item_id)
        assert (item.status, item.resolution) == (ReviewStatus.PENDING, ReviewResolution.SKIP)
        assert item.evidence["skipped_by"] == ["ana"]
    with pytest.raises(ConfigError, match="note"), session_scope(engine) as session:
        reject(session, review_id=item_id, actor="bo", note=" ")
    with session_scope(engine) as session:
        reject(session, review_id=item_id, actor="bo", note="wrong rounding")
        item = session.get_one(HumanReviewQueue, item_id)
        # already the most urgent (a failed atom blocking two): it stays priority 1
        assert before == 1
        assert item.status is ReviewStatus.REJECTED and item.priority == 1
        assert [i.id for i in list_queue(session)] == [item_id]  # still in the queue
        assert [e[1] for e in _events(session)] == ["skip", "reject"]
    engine.dispose()


def test_bulk_approve_records_each_decision_and_reports_each_refusal(shop: ShopRun) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        queue_doubtful(session, run_id=shop.run_id, settings=ReviewSettings(bottom_share=0.7))
        ids = [str(i.id) for i in list_queue(session)]
    assert len(ids) == 3
    with session_scope(engine) as session:
        claim(session, review_id=ids[1], actor="bo")
    with session_scope(engine) as session:
        outcomes = bulk_approve(session, review_ids=ids, actor="ana")
    assert [o["ok"] for o in outcomes] == [True, False, True]
    assert "claimed by bo" in outcomes[1]["error"]
    with session_scope(engine) as session:
        approved = [e for e in _events(session) if e[1] == "approve"]
        assert len(approved) == 2
    engine.dispose()


def test_regenerate_asks_the_model_again_and_stores_the_attempt(shop: ShopRun) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        item_id = _failed_item(session).id
    with session_scope(engine) as session:
        result = regenerate(session, review_id=item_id, actor="ana", feedback="drop the stray +")
    # the run's model is replay without faults: the new attempt is the reference
    assert (result.passed, result.status, result.atom_status) == (True, "regenerated", "completed")
    assert result.unblocked == 2
    with session_scope(engine) as session:
        history = session.scalars(
            select(AtomRetryHistory)
            .join(AtomicUnit, AtomicUnit.id == AtomRetryHistory.atom_id)
            .where(AtomicUnit.atom_key == WITH_TAX)
            .order_by(AtomRetryHistory.attempt_number)
        ).all()
        assert (history[-1].attempt_number, history[-1].trigger) == (4, "review")
        assert "drop the stray +" in (history[-1].prompt or "")
        event = session.scalars(select(ReviewAuditEvent)).one()
        assert event.details["passed"] is True
    engine.dispose()


def test_unknown_ids_and_bad_names_are_clear_errors(shop: ShopRun) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        with pytest.raises(NotFound, match="no review item"):
            claim(session, review_id="not-a-uuid", actor="ana")
        with pytest.raises(NotFound, match="no review item"):
            claim(session, review_id="6a1b58c1-a89c-4724-9027-f18d79492dc5", actor="ana")
        with pytest.raises(ConfigError, match="reviewer name"):
            claim(session, review_id=_failed_item(session).id, actor="  ")
    engine.dispose()
