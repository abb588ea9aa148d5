"""Queue selection and priorities on a run with known wrong atoms."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.review.conftest import DISCOUNT, WITH_TAX, ShopRun

from mge.db import make_engine, session_scope
from mge.db.models import AtomicUnit, AtomStatus, HumanReviewQueue
from mge.review import ReviewSettings, item_view, list_queue, queue_doubtful, summary_view


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


def test_priority_counts_blocked_dependents_and_the_tier_sets_the_due_time(
    shop: ShopRun,
) -> None:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        queue_doubtful(session, run_id=shop.run_id, settings=ReviewSettings(bottom_share=0.25))
        items = list_queue(session, run_id=shop.run_id)
        failed, doubtful = items
        assert failed.evidence["blocked_dependents"] == 2  # total and label wait on it
        assert failed.priority == 100 + 2 + 5
        assert 50 <= doubtful.priority < 80
        first, second = (summary_view(i, rank=n) for n, i in enumerate(items, 1))
    assert (first["rank"], first["tier"]) == (1, "critical")
    assert second["tier"] == "normal"
    assert first["due_at"] < second["due_at"]  # 4 h for critical, 72 h for normal
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
