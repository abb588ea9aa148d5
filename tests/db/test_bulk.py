"""Bulk writes store exactly what SQLAlchemy's own executemany stores."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam, event, insert, select, update
from sqlalchemy.orm import Session

from mge.db import make_engine, migrate
from mge.db.base import sequential_id
from mge.db.bulk import BulkWrite
from mge.db.models import GenerationRun, MasterPlan, RunStatus, TestType, ValidationLevel
from mge.db.models import ValidationResult as Result

RESULTS = cast(Table, Result.__table__)


def _rows(plan: uuid.UUID, run: uuid.UUID, count: int) -> list[dict[str, Any]]:
    when = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    rows = []
    for index in range(count):
        # Objects repeat the way an attempt's rows repeat them (same timestamp
        # object, same run), and vary where they vary.
        if index % 3 == 0:
            when = when + timedelta(seconds=1)
        rows.append(
            {
                "id": sequential_id(),
                "created_at": when,
                "updated_at": when,
                "masterplan_id": plan,
                "atom_id": None,
                "run_id": run,
                "level": ValidationLevel.ATOMIC,
                "test_type": TestType.SYNTAX if index % 2 else TestType.TYPES,
                "check_name": f"check-{index}",
                "scope": "pkg/m.py",
                "attempt_number": index % 3 + 1,
                "passed": bool(index % 2),
                "output": None if index % 2 else f"line {index}: ünïcode",
                "error_message": None,
                "details": {"loc": index, "nested": [1, None, "x"]},
                "duration_seconds": index / 7,
            }
        )
    return rows


def _stored(connection: Any, run: uuid.UUID) -> list[dict[str, Any]]:
    """The run's rows as stored, without what differs between the two runs."""
    query = select(RESULTS).where(RESULTS.c.run_id == run).order_by(RESULTS.c.check_name)
    return [
        {k: v for k, v in row._mapping.items() if k not in ("id", "run_id")}
        for row in connection.execute(query)
    ]


def _plan_and_runs(engine: Engine) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    with Session(engine) as session:
        plan = MasterPlan(name="bulk")
        runs = [GenerationRun(masterplan=plan, model="replay", status=RunStatus.RUNNING)]
        runs.append(GenerationRun(masterplan=plan, model="replay", status=RunStatus.RUNNING))
        session.add_all([plan, *runs])
        session.commit()
        return plan.id, runs[0].id, runs[1].id


def test_bulk_rows_read_back_as_sqlalchemy_s_own(db_url: str) -> None:
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        plan, bulk, own = _plan_and_runs(engine)
        precompiled: list[bool] = []

        @event.listens_for(engine, "before_cursor_execute")
        def _seen(*args: Any) -> None:
            precompiled.append(args[4].compiled is None)  # the statement SQLAlchemy got

        with engine.begin() as connection:
            BulkWrite(insert(RESULTS)).execute(connection, _rows(plan, bulk, 12))
            # SQLite's driver takes positional parameters: the rows go to it as they
            # are; PostgreSQL's takes named ones, and SQLAlchemy's path does it.
            assert precompiled[-1] is (engine.dialect.name == "sqlite")
            connection.execute(insert(RESULTS), _rows(plan, own, 12))
            assert precompiled[-1] is False
        with engine.connect() as connection:
            assert len(_stored(connection, bulk)) == 12
            assert _stored(connection, bulk) == _stored(connection, own)

        change = (
            update(RESULTS)
            .where(RESULTS.c.check_name == bindparam("name"), RESULTS.c.run_id == bindparam("run"))
            .values(passed=bindparam("passed"), updated_at=bindparam("at"))
        )
        later = datetime(2026, 12, 1, tzinfo=UTC)

        def changes(run: uuid.UUID) -> list[dict[str, Any]]:
            return [
                {"name": f"check-{i}", "run": run, "passed": i < 4, "at": later} for i in range(6)
            ]

        with engine.begin() as connection:
            BulkWrite(change).execute(connection, changes(bulk))
            connection.execute(change, changes(own))
        with engine.connect() as connection:
            stored = _stored(connection, bulk)
            assert stored == _stored(connection, own)
            assert sum(row["updated_at"] == later for row in stored) == 6
    finally:
        engine.dispose()


def test_rows_that_leave_a_default_to_compute_take_sqlalchemy_s_path(sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        plan, run, _ = _plan_and_runs(engine)
        rows = _rows(plan, run, 3)
        for row in rows:
            del row["id"], row["created_at"]  # Python-side defaults, one per row
        with engine.begin() as connection:
            BulkWrite(insert(RESULTS)).execute(connection, rows)
        with engine.connect() as connection:
            ids = connection.execute(select(RESULTS.c.id).where(RESULTS.c.run_id == run))
            assert len({key for (key,) in ids}) == 3
    finally:
        engine.dispose()
