"""Queue selection and priorities on a run with known wrong atoms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.review.conftest import DISCOUNT, WITH_TAX, ShopRun

from mge.db import make_engine, session_scope
from mge.db.models import AtomicUnit, AtomStatus, HumanReviewQueue
from mge.errors import ConfigError
from mge.review import (
    ReviewSettings,
    effective_priority,
    item_view,
    list_queue,
    priority_of,
    queue_doubtful,
    reject,
    summary_view,
)


def _keys(session: Session, run: ShopRun) -> list[str]:
    return [item.atom.atom_key for item in list_queue(session, run_id=run.run_id)]


def test_the_engine_queues_the_failed_atom_and_queue_doubtful_adds_the_doubtful(
    shop: ShopRun,
) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        assert _keys(session, shop) == [WITH_TAX]
        opened = queue_doubtful(
            session, run_id=shop.run_id, settings=ReviewSettings(bottom_share=0.25)
        )
        completed = session.scalars(
            select(AtomicUnit).where(AtomicUnit.status == AtomStatus.COMPLETED)
        ).all()
        # every completed atom now has a score, stored with its components
        assert all(atom.confidence_score is not None for atom in completed)
        assert all("confidence" in atom.extra for atom in completed)
        keys = _keys(session, shop)
    # the failed atom first; one doubtful completed atom (25% of 3 completed)
    assert keys[0] == WITH_TAX
    assert len(opened) == len(keys) == 2
    engine.dispose()


def test_priority_one_is_the_failed_atom_blocking_others_and_sets_the_earliest_due_time(
    shop: ShopRun,
) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        queue_doubtful(session, run_id=shop.run_id, settings=ReviewSettings(bottom_share=0.25))
        items = list_queue(session, run_id=shop.run_id)
        failed, doubtful = items
        assert failed.atom.atom_key == WITH_TAX
        assert failed.evidence["blocked_dependents"] == 2  # total and label wait on it
        assert failed.priority == 1
        assert doubtful.priority in (3, 4, 5)  # completed, queued for its low confidence
        first, second = (summary_view(i) for i in items)
    assert (first["priority"], first["blocked_dependents"]) == (1, 2)
    assert second["priority"] == doubtful_priority(second["confidence"])
    assert "rank" not in first and "tier" not in first
    # SLA per priority: 4 h for 1, at least 24 h for 3-5
    assert first["due_at"] < second["due_at"]
    engine.dispose()


def doubtful_priority(confidence: float) -> int:
    return priority_of(failed=False, blamed=False, blocked=0, confidence=confidence)


@pytest.mark.parametrize(
    ("failed", "blamed", "blocked", "confidence", "expected"),
    [
        (True, False, 3, 0.0, 1),
        (True, False, 0, 0.0, 2),
        (True, True, 0, 0.9, 2),
        (False, True, 0, 0.3, 2),
        (False, True, 5, 0.7, 3),
        (False, False, 0, 0.1, 3),
        (False, False, 0, 0.6, 4),
        (False, False, 0, 0.95, 5),
    ],
)
def test_priority_tiers(
    failed: bool, blamed: bool, blocked: int, confidence: float, expected: int
) -> None:
    assert (
        priority_of(failed=failed, blamed=blamed, blocked=blocked, confidence=confidence)
        == expected
    )


def test_the_engine_s_provisional_values_sort_as_the_most_urgent() -> None:
    """While a run is going the engine stores 100 (failed) and 80 (blamed)."""
    assert [effective_priority(v) for v in (100, 80, 1, 3, 5, 0)] == [1, 2, 1, 3, 5, 3]


def test_within_a_priority_more_blocked_then_lower_confidence_then_older_first(
    shop: ShopRun,
) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        queue_doubtful(session, run_id=shop.run_id, settings=ReviewSettings(threshold=1.0))
        items = list_queue(session, run_id=shop.run_id)
        assert len(items) == 4
        # force one priority for all, then set the tie-breakers by hand
        for n, item in enumerate(items):
            item.priority = 3
            item.evidence = {**item.evidence, "blocked_dependents": 0}
            item.confidence_score = 0.5
            item.created_at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n)
        a, b, c, d = items
        d.evidence = {**d.evidence, "blocked_dependents": 4}  # most blocked: first
        c.confidence_score = 0.2  # lowest confidence among the rest: next
        b.created_at = datetime(2025, 1, 1, tzinfo=UTC)  # then the oldest
        session.flush()
        order = [i.id for i in list_queue(session, run_id=shop.run_id)]
        assert order == [d.id, c.id, b.id, a.id]
        a.priority = 2  # a lower number wins over every tie-breaker
        assert list_queue(session, run_id=shop.run_id, limit=1)[0].id == a.id
    engine.dispose()


def test_a_rejected_doubtful_item_moves_one_priority_up_and_stays_there(shop: ShopRun) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        queue_doubtful(session, run_id=shop.run_id, settings=ReviewSettings(bottom_share=0.25))
        doubtful = list_queue(session, run_id=shop.run_id)[1]
        before = doubtful.priority
        assert before > 1
        reject(session, review_id=doubtful.id, actor="ana", note="looks off")
        assert doubtful.priority == before - 1
        queue_doubtful(session, run_id=shop.run_id, settings=ReviewSettings(bottom_share=0.25))
        assert doubtful.priority == before - 1
    engine.dispose()


def test_sla_hours_are_set_per_priority(shop: ShopRun) -> None:
    engine = make_engine(shop.url)
    fast = ReviewSettings(sla_hours={1: 1.0, 2: 2.0, 3: 3.0, 4: 4.0, 5: 5.0})
    with session_scope(engine) as session:
        queue_doubtful(session, run_id=shop.run_id)
        item = list_queue(session, run_id=shop.run_id)[0]
        due = datetime.fromisoformat(summary_view(item, settings=fast)["due_at"])
        assert due - item.created_at.astimezone(UTC) == timedelta(hours=1)
    with pytest.raises(ConfigError, match="each priority"):
        ReviewSettings(sla_hours={1: 4.0})
    engine.dispose()


def test_queueing_again_updates_rather_than_repeats(shop: ShopRun) -> None:
    engine = make_engine(shop.url)
    settings = ReviewSettings(bottom_share=0.25)
    with session_scope(engine) as session:
        queue_doubtful(session, run_id=shop.run_id, settings=settings)
    with session_scope(engine) as session:
        queue_doubtful(session, run_id=shop.run_id, settings=settings)
        assert len(session.scalars(select(HumanReviewQueue)).all()) == 2
    engine.dispose()


def test_a_threshold_queues_every_atom_under_it(shop: ShopRun) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        queue_doubtful(
            session, run_id=shop.run_id, settings=ReviewSettings(bottom_share=0.0, threshold=1.0)
        )
        # all three completed atoms score under 1.0, plus the failed one
        assert len(list_queue(session, run_id=shop.run_id)) == 4
    engine.dispose()


def test_the_item_view_has_code_evidence_suggestions_and_the_previous_candidate(
    shop: ShopRun,
) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        queue_doubtful(session, run_id=shop.run_id)
        failed = list_queue(session, run_id=shop.run_id)[0]
        view = item_view(session, failed)
    assert view["atom"] == WITH_TAX
    assert "RATE // 100 +" in view["code"]
    assert view["context"]["signature"].startswith("def with_tax")
    assert any(s["message"] == "the code does not parse on its own" for s in view["suggestions"])
    assert view["evidence"]["attempts"] == 3
    assert view["evidence"]["run_id"] == str(shop.run_id)
    engine.dispose()


def test_the_silent_fault_scores_below_the_correct_atoms_beside_it(shop: ShopRun) -> None:
    """discount was wrong on its first attempt and blamed nowhere (no test covers it):
    only its evidence can rank it, and here nothing distinguishes it, which this test
    pins so a change in the score that starts using the reference would show."""
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        queue_doubtful(session, run_id=shop.run_id)
        atom = session.scalars(select(AtomicUnit).where(AtomicUnit.atom_key == DISCOUNT)).one()
        components = atom.extra["confidence"]["components"]
    assert "retries" not in components  # it passed on its first attempt
    assert "static_errors" not in components
    engine.dispose()
