"""The group commit on the real PostgreSQL server, where it hands its transactions
to a thread (`WriteBehind`) while atoms are generated: the run stores exactly what
the same run stores on SQLite, where the session commits them itself."""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session
from tests.execute.conftest import run_plan

from mge.db import make_engine, migrate
from mge.db.models import (
    AtomicUnit,
    AtomRetryHistory,
    GenerationRun,
    RunStatus,
    ValidationResult,
)
from mge.db.write_behind import WriteBehind
from mge.execute import _recording, build_settings, create_run, execute_run, prepare_resume

SETTINGS: dict[str, Any] = {"fault_rate": 0.2, "seed": 11, "levels": "atomic"}


def _stored(url: str, run_id: uuid.UUID) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            run = session.get_one(GenerationRun, run_id)
            key = {a.id: a.atom_key for a in session.scalars(select(AtomicUnit))}
            attempts = session.scalars(select(AtomRetryHistory)).all()
            return {
                "totals": (
                    run.attempts_total,
                    run.input_tokens,
                    run.output_tokens,
                    run.cached_tokens,
                    round(run.cost_usd, 9),
                ),
                "attempt_sums": (
                    len(attempts),
                    round(sum(a.cost_usd for a in attempts), 9),
                ),
                "attempts": sorted(
                    (key[a.atom_id], a.attempt_number, a.succeeded, a.generated_code)
                    for a in attempts
                ),
                "atoms": sorted(
                    (a.atom_key, a.status.value, a.attempts, a.code, a.loc)
                    for a in session.scalars(select(AtomicUnit))
                ),
                "checks": len(session.scalars(select(ValidationResult.id)).all()),
            }
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Databases:
    """The same plan on both databases: SQLite, where the session commits, and the
    real PostgreSQL server, where the group commits go to the thread."""

    sqlite_url: str
    postgres_url: str
    plan: Path
    tmp_path: Path


@pytest.fixture
def dbs(sqlite_url: str, postgres_url: str, example_plan: Path, tmp_path: Path) -> Databases:
    return Databases(sqlite_url, postgres_url, example_plan, tmp_path)


def test_committing_behind_stores_what_the_session_commits(
    dbs: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed: list[int] = []
    submit = WriteBehind.submit

    def counted(self: WriteBehind, job: Any) -> None:
        handed.append(1)
        submit(self, job)

    monkeypatch.setattr(WriteBehind, "submit", counted)
    on_sqlite = run_plan(dbs.sqlite_url, dbs.plan, dbs.tmp_path / "sqlite", **SETTINGS)
    assert not handed  # SQLite: the session commits everything itself
    on_postgres = run_plan(dbs.postgres_url, dbs.plan, dbs.tmp_path / "postgres", **SETTINGS)
    assert len(handed) > 1, "the PostgreSQL run handed its group commits to the thread"

    sqlite, postgres = _stored(dbs.sqlite_url, on_sqlite), _stored(dbs.postgres_url, on_postgres)
    assert postgres == sqlite
    # The run's totals are the increments of every attempt, none lost or doubled.
    attempts_total, *_, cost = postgres["totals"]
    stored_attempts, attempts_cost = postgres["attempt_sums"]
    assert stored_attempts == attempts_total > len(postgres["atoms"])
    assert 0 < attempts_cost <= cost  # the skeletons' calls are billed to the run too


def test_a_failed_group_commit_stops_the_run_whole_and_resume_finishes_it(
    dbs: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    write = _recording._write_batch

    def fails_once(connection: Connection, batch: Any, run_id: uuid.UUID) -> None:
        if threading.current_thread().name == "mge-write-behind":
            calls.append(1)
            if len(calls) == 3:  # the server refuses the third handed to the thread
                connection.execute(text("select 1 / 0"))
        write(connection, batch, run_id)

    monkeypatch.setattr(_recording, "_write_batch", fails_once)
    migrate.upgrade(dbs.postgres_url)
    engine = make_engine(dbs.postgres_url)
    try:
        run_id = create_run(
            engine, dbs.plan, build_settings(out_dir=str(dbs.tmp_path / "out"), **SETTINGS)
        )
        status = asyncio.run(execute_run(engine, run_id))
        assert status is RunStatus.FAILED
        with Session(engine) as session:
            run = session.get_one(GenerationRun, run_id)
            assert run.error is not None and "the database refused a write" in run.error
            assert "division by zero" in run.error and "\n" not in run.error
        # What is stored holds together: the run's totals count exactly the stored
        # attempts (the failed group commit and everything after it were dropped).
        stopped = _stored(dbs.postgres_url, run_id)
        assert stopped["attempt_sums"][0] == stopped["totals"][0] > 0

        monkeypatch.setattr(_recording, "_write_batch", write)
        prepare_resume(engine, str(run_id))
        assert asyncio.run(execute_run(engine, run_id)) is RunStatus.COMPLETED
    finally:
        engine.dispose()
    # The resumed run ends where an uninterrupted one does.
    resumed = _stored(dbs.postgres_url, run_id)
    whole = _stored(
        dbs.sqlite_url, run_plan(dbs.sqlite_url, dbs.plan, dbs.tmp_path / "s", **SETTINGS)
    )
    assert resumed["atoms"] == whole["atoms"]
    assert resumed["attempt_sums"][0] == resumed["totals"][0]
