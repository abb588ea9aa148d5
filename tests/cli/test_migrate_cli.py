"""`mge migrate-tasks` driven as a user drives it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mge.cli.app import app
from mge.db import make_engine, migrate, session_scope
from mge.db.base import Base
from mge.db.models import AtomicUnit, MasterPlan, TaskStatus
from mge.plan import load_plan
from mge.store import migration
from mge.store.plans import import_plan

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory"
TS_CODE = (
    'import { x } from "./x";\n\n'
    "export function twice(n: number): number {\n  return x(n) * 2;\n}\n"
)


def _mge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mge", *args], capture_output=True, text=True, timeout=300
    )


def _store_mvp(url: str) -> list[str]:
    """Two stored MVP masterplans: one with Python code for some tasks, one whose
    first task holds TypeScript code filed under a .ts target."""
    migrate.upgrade(url)
    engine = make_engine(url)
    plan_path = EXAMPLE / "plan.yaml"
    try:
        with session_scope(engine) as session:
            first = import_plan(session, load_plan(plan_path), plan_path=plan_path)
            for task in first.tasks[:3]:
                task.generated_code = (EXAMPLE / "reference" / task.target_files[0]).read_text()
                task.status = TaskStatus.COMPLETED
            second = import_plan(session, load_plan(plan_path), plan_path=plan_path)
            second.name = "inventory [ts]"
            second.tasks[0].target_files = ["web/twice.ts"]
            second.tasks[0].generated_code = TS_CODE
            session.flush()
            return [str(first.id), str(second.id)]
    finally:
        engine.dispose()


def _dump(url: str) -> dict[str, list[str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: sorted(
                    json.dumps(dict(row), sort_keys=True, default=str)
                    for row in connection.execute(select(table)).mappings()
                )
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _atoms_by_plan(url: str) -> dict[str, int]:
    engine: Engine = make_engine(url)
    try:
        with Session(engine) as session:
            return {
                str(row.id): len(row.atoms) for row in session.scalars(select(MasterPlan)).all()
            }
    finally:
        engine.dispose()


def test_dry_run_then_production_then_rerun_then_revert(db_url: str) -> None:
    ids = _store_mvp(db_url)
    before = _dump(db_url)
    dry = _mge("migrate-tasks", "--dry-run", "--db", db_url, "--json")
    assert dry.returncode == 0, dry.stderr
    assert _dump(db_url) == before
    predicted = json.loads(dry.stdout)
    assert predicted["mode"] == "dry-run" and predicted["ok"] is True
    assert [row["outcome"] for row in predicted["masterplans"]] == ["would_migrate"] * 2

    done = _mge("migrate-tasks", "--production", "--db", db_url, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [row["outcome"] for row in report["masterplans"]] == ["migrated"] * 2
    stored = _atoms_by_plan(db_url)
    for row in report["masterplans"]:
        assert stored[row["masterplan_id"]] == row["atoms"] > row["tasks"]
    assert report["masterplans"][1]["languages"]["typescript"] >= 1
    totals = dict(report["totals"])
    assert totals.pop("migrated") == 2
    assert totals == {k: v for k, v in predicted["totals"].items() if k != "would_migrate"}

    migrated = _dump(db_url)
    again = _mge("migrate-tasks", "--production", "--db", db_url)
    assert again.returncode == 0, again.stderr
    assert "already migrated" in again.stdout
    assert _dump(db_url) == migrated

    for masterplan_id in ids:
        reverted = _mge(
            "migrate-tasks", "--revert", "--masterplan", masterplan_id[:8], "--db", db_url
        )
        assert reverted.returncode == 0, reverted.stderr
    assert _dump(db_url) == before


def test_one_masterplan_human_output(sqlite_url: str) -> None:
    first, second = _store_mvp(sqlite_url)
    result = _mge("migrate-tasks", "--production", "--masterplan", second, "--db", sqlite_url)
    assert result.returncode == 0, result.stderr
    assert "migrate-tasks (production)" in result.stdout
    assert "inventory [ts]" in result.stdout and "migrated" in result.stdout
    assert result.stdout.rstrip().endswith(": ok")
    stored = _atoms_by_plan(sqlite_url)
    assert stored[first] == 0 and stored[second] > 0


def test_a_failed_masterplan_gives_exit_code_1(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _store_mvp(sqlite_url)

    def failing_check(session: Session, masterplan_id: Any) -> list[str]:
        return ["injected failure"] if masterplan_id == uuid.UUID(second) else []

    monkeypatch.setattr(migration, "check_integrity", failing_check)
    result = CliRunner().invoke(
        app, ["migrate-tasks", "--production", "--db", sqlite_url, "--json"]
    )
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    outcomes = {row["masterplan_id"]: row for row in report["masterplans"]}
    assert outcomes[first]["outcome"] == "migrated"
    assert outcomes[second]["outcome"] == "failed"
    assert outcomes[second]["errors"] == ["injected failure"]
    stored = _atoms_by_plan(sqlite_url)
    assert stored[first] > 0 and stored[second] == 0
    engine = make_engine(sqlite_url)
    try:
        with session_scope(engine) as session:
            assert session.scalars(select(AtomicUnit.masterplan_id).distinct()).all() == [
                uuid.UUID(first)
            ]
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ((), 2, "error: choose exactly one of --dry-run, --production or --revert"),
        (("--dry-run", "--production"), 2, "error: choose exactly one of"),
        (("--revert",), 2, "error: --revert needs --masterplan ID"),
        (("--dry-run", "--masterplan", "abcdef12"), 6, "error: no masterplan abcdef12"),
    ],
)
def test_bad_arguments(sqlite_url: str, args: tuple[str, ...], code: int, message: str) -> None:
    migrate.upgrade(sqlite_url)
    result = _mge("migrate-tasks", *args, "--db", sqlite_url)
    assert result.returncode == code
    assert result.stderr.strip().startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1


def test_revert_of_a_masterplan_never_migrated(sqlite_url: str) -> None:
    first, _ = _store_mvp(sqlite_url)
    result = _mge("migrate-tasks", "--revert", "--masterplan", first, "--db", sqlite_url)
    assert result.returncode == 7
    assert result.stderr.strip() == f"error: masterplan {first} is not migrated; nothing to revert"


def test_unreachable_or_unmigrated_database(tmp_path: Path) -> None:
    unreachable = _mge("migrate-tasks", "--dry-run", "--db", "postgresql://nobody@127.0.0.1:9/x")
    assert unreachable.returncode == 3
    assert unreachable.stderr.strip().startswith("error: database postgresql")
    assert len(unreachable.stderr.strip().splitlines()) == 1
    missing = tmp_path / "missing.db"
    absent = _mge("migrate-tasks", "--dry-run", "--db", f"sqlite:///{missing}")
    assert absent.returncode == 3
    assert absent.stderr.strip() == f"error: no database file {missing}; run `mge db upgrade` first"
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    unmigrated = _mge("migrate-tasks", "--dry-run", "--db", f"sqlite:///{empty}")
    assert unmigrated.returncode == 3
    assert unmigrated.stderr.strip() == (
        "error: the database has no MGE schema; run `mge db upgrade` first"
    )


def test_two_concurrent_runs_migrate_each_masterplan_once(postgres_url: str) -> None:
    ids = _store_mvp(postgres_url)
    command = [sys.executable, "-m", "mge", "migrate-tasks", "--production"]
    runs = [
        subprocess.Popen(
            [*command, "--db", postgres_url, "--json"], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    reports = [json.loads(run.communicate(timeout=300)[0]) for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    for masterplan_id in ids:
        outcomes = sorted(
            row["outcome"]
            for report in reports
            for row in report["masterplans"]
            if row["masterplan_id"] == masterplan_id
        )
        assert outcomes == ["migrated", "skipped"]
    engine = make_engine(postgres_url)
    try:
        with session_scope(engine) as session:
            for masterplan_id in ids:
                masterplan = session.get(MasterPlan, uuid.UUID(masterplan_id))
                assert masterplan is not None and len(masterplan.graphs) == 1
                assert migration.check_integrity(session, masterplan.id) == []
    finally:
        engine.dispose()
