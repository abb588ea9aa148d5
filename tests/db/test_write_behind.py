"""`WriteBehind` on the real PostgreSQL server (and SQLite): jobs commit in the
order given, each whole or not at all, and an error reaches the caller once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from mge.db.write_behind import WriteBehind


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("create table log (n integer not null, note text)"))
    yield engine
    engine.dispose()


def _rows(engine: Engine) -> list[tuple[int, str | None]]:
    with engine.connect() as connection:
        return [(r.n, r.note) for r in connection.execute(text("select n, note from log"))]


def _insert(n: int, note: str | None = None) -> Callable[[Connection], None]:
    def job(connection: Connection) -> None:
        connection.execute(text("insert into log values (:n, :note)"), {"n": n, "note": note})

    return job


def test_jobs_commit_in_the_order_given(engine: Engine) -> None:
    behind = WriteBehind(engine)

    def append_after_max(connection: Connection) -> None:
        # Each job sees every earlier job committed: the next number follows on.
        top = connection.execute(text("select coalesce(max(n), 0) from log")).scalar_one()
        connection.execute(text("insert into log values (:n, null)"), {"n": top + 1})

    for _ in range(50):
        behind.submit(append_after_max)
    behind.drain()
    assert [n for n, _ in _rows(engine)] == list(range(1, 51))
    behind.close()


def test_a_failed_job_writes_nothing_and_ends_the_writing(engine: Engine) -> None:
    behind = WriteBehind(engine)
    behind.submit(_insert(1))

    def half_then_fail(connection: Connection) -> None:
        connection.execute(text("insert into log values (2, 'half')"))
        raise ValueError("the second statement failed")

    behind.submit(half_then_fail)
    behind.submit(_insert(3))
    with pytest.raises(ValueError, match="the second statement failed"):
        behind.drain()
    # What is stored is the jobs up to the failure: never a later one alone.
    assert _rows(engine) == [(1, None)]
    with pytest.raises(ValueError):
        behind.submit(_insert(4))
    with pytest.raises(ValueError):
        behind.close()
    assert _rows(engine) == [(1, None)]


def test_close_commits_what_was_given_and_the_caller_does_not_wait_meanwhile(
    engine: Engine,
) -> None:
    behind = WriteBehind(engine)
    gate = threading.Event()

    def held(connection: Connection) -> None:
        gate.wait(timeout=30)
        connection.execute(text("insert into log values (1, 'held')"))

    behind.submit(held)
    behind.submit(_insert(2))
    # Both jobs are queued behind the held one: submitting did not wait for them.
    assert _rows(engine) == []
    gate.set()
    behind.close()
    assert sorted(_rows(engine)) == [(1, "held"), (2, None)]
    with pytest.raises(RuntimeError, match="closed"):
        behind.submit(_insert(3))


def test_check_reports_a_failure_once_it_happened(engine: Engine) -> None:
    behind = WriteBehind(engine)
    failed, gate = threading.Event(), threading.Event()

    def fail(_connection: Connection) -> None:
        failed.set()
        raise KeyError("lost")

    def held(_connection: Connection) -> None:
        gate.wait(timeout=30)

    behind.submit(held)
    behind.submit(fail)
    gate.set()
    assert failed.wait(timeout=30)
    for _ in range(500):
        try:
            behind.check()
        except KeyError:
            break
        time.sleep(0.01)
    else:
        pytest.fail("check never raised the failed job's error")
    with pytest.raises(KeyError):
        behind.check()  # and again: the writing has ended
