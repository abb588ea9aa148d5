"""The bulk store of `migrate-tasks` writes the rows the ORM store wrote.

Two masterplans with the same 5,000 tasks (code that imports and calls earlier
tasks' code, placeholders, an unsupported language, completed and failed tasks,
task dependencies) on PostgreSQL: one migrated through the first, one-ORM-object-
per-row path (`_BULK_STORE = False`), one through the bulk path (COPY). Every
row they stored is read back as the server's text for each column; keys and
timestamps, which differ by construction, are replaced by the atom keys, task keys
and names they stand for, and the two sets of rows must then be equal.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from mge.db import make_engine, migrate, session_scope
from mge.db.models import (
    MasterPlan,
    MasterPlanMilestone,
    MasterPlanPhase,
    MasterPlanSubtask,
    MasterPlanTask,
    TaskComplexity,
    TaskStatus,
)
from mge.store import migration

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TASKS = 5000
CODE = '''"""Module {i}."""
from pkg.mod{j} import helper{j}

LIMIT_{i} = {i}


def helper{i}(x: int) -> int:
    """Args:
        x: a number.
    """
    if x > LIMIT_{i}:
        return helper{j}(x - 1)
    return x * 2


class Box{i}:
    def __init__(self, value: int) -> None:
        self.value = value

    def doubled(self) -> int:
        return helper{i}(self.value)
'''
STAMP = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _plan(name: str) -> MasterPlan:
    plan = MasterPlan(name=name, language="python", atomization_config={"target_loc": 8})
    phase = MasterPlanPhase(masterplan=plan, phase_number=1, name="core")
    milestone = MasterPlanMilestone(phase=phase, milestone_number=1, name="all", tests=[])
    for i in range(TASKS):
        kind = i % 10
        code: str | None = CODE.format(i=i, j=max(i - 1, 0))
        files = [f"pkg/mod{i}.py"]
        status = TaskStatus.COMPLETED
        if kind == 7:  # no code yet: a placeholder
            code, status = None, [TaskStatus.PENDING, TaskStatus.BLOCKED][i % 2]
        elif kind == 8:  # a language MGE does not atomize: one opaque atom
            code, files = f"package main\n\nfunc F{i}() int {{ return {i} }}\n", [f"go/f{i}.go"]
        elif kind == 9:
            status = TaskStatus.FAILED
        task = MasterPlanTask(
            masterplan=plan,
            milestone=milestone,
            task_number=i + 1,
            task_key=f"t{i}",
            name=f"task {i}",
            description="Build the thing carefully. " * (i % 30),
            complexity=list(TaskComplexity)[i % 4],
            target_files=files,
            depends_on=[f"t{i - 1}"] if i % 3 else [],
            status=status,
            generated_code=code,
            started_at=STAMP + timedelta(seconds=i) if status is TaskStatus.COMPLETED else None,
            completed_at=STAMP + timedelta(seconds=i + 1)
            if status is TaskStatus.COMPLETED
            else None,
            input_tokens=i,
            cost_usd=i / 1000,
        )
        if i % 50 == 0:
            MasterPlanSubtask(task=task, subtask_number=1, name="first step", code="x = 1\n")
    return plan


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    migrate.upgrade(postgres_url)
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


_TABLES = {
    "masterplans": "id = :plan",
    "dependency_graphs": "masterplan_id = :plan",
    "atomic_units": "masterplan_id = :plan",
    "execution_waves": "masterplan_id = :plan",
    "atom_dependencies": "graph_id IN (SELECT id FROM dependency_graphs "
    "WHERE masterplan_id = :plan)",
}
_DROPPED = {"id", "created_at", "updated_at"}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# When the migration ran, and when each masterplan was last updated before it (kept
# in the graph's migration marker): moments, not content.
_MOMENTS = re.compile(r'\\?"(migrated_at|updated_at)\\?": \\?"[^"\\]*\\?"')


def stored(engine: Engine, plan_id: uuid.UUID) -> dict[str, list[str]]:
    """The masterplan's rows as the server renders each column, with every key
    replaced by what it names (atom key, task key, `<graph>`, `<plan>`)."""
    names: dict[str, str] = {str(plan_id): "<plan>"}
    tables: dict[str, list[str]] = {}
    with engine.connect() as connection:
        for row in connection.execute(
            select(MasterPlanTask.id, MasterPlanTask.task_key).where(
                MasterPlanTask.masterplan_id == plan_id
            )
        ):
            names[str(row.id)] = f"<task {row.task_key}>"
        for row in connection.exec_driver_sql(
            "SELECT id, atom_key FROM atomic_units WHERE masterplan_id = %(plan)s",
            {"plan": plan_id},
        ):
            names[str(row.id)] = f"<atom {row.atom_key}>"
        for row in connection.exec_driver_sql(
            "SELECT id FROM dependency_graphs WHERE masterplan_id = %(plan)s", {"plan": plan_id}
        ):
            names[str(row.id)] = "<graph>"
        for table, where in _TABLES.items():
            columns = [
                name
                for (name,) in connection.exec_driver_sql(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = %(table)s ORDER BY column_name",
                    {"table": table},
                )
                if name not in _DROPPED and not (table == "masterplans" and name == "name")
            ]
            listed = ", ".join(f'CAST("{name}" AS TEXT)' for name in columns)
            sql = f"SELECT {listed} FROM {table} WHERE {where.replace(':plan', '%(plan)s')}"
            rendered = []
            for row in connection.exec_driver_sql(sql, {"plan": plan_id}):
                text = json.dumps(dict(zip(columns, row, strict=True)), sort_keys=True)
                text = _MOMENTS.sub(r'"\1": "<when>"', text)
                rendered.append(_UUID.sub(lambda match: names.get(match.group(0), "<?>"), text))
            tables[table] = sorted(rendered)
    return tables


def test_bulk_store_writes_the_rows_the_orm_store_wrote(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(engine) as session:
        plans = [_plan("orm"), _plan("bulk")]
        session.add_all(plans)
        session.flush()
        orm_id, bulk_id = (plan.id for plan in plans)

    monkeypatch.setattr(migration, "_BULK_STORE", False)
    by_orm = migration.migrate_tasks(engine, production=True, masterplan_id=str(orm_id))
    monkeypatch.setattr(migration, "_BULK_STORE", True)
    # The new path whole, as the CLI runs it: code atomized by two forked workers and
    # scanned for the graph as it arrives, rows written by COPY.
    by_bulk = migration.migrate_tasks(
        engine, production=True, masterplan_id=str(bulk_id), workers=2
    )
    assert [row.outcome for row in by_orm.masterplans + by_bulk.masterplans] == ["migrated"] * 2

    old, new = stored(engine, orm_id), stored(engine, bulk_id)
    # The comparison is not empty: real atoms, edges of several kinds, many waves,
    # placeholders and completed atoms with their timestamps.
    assert len(old["atomic_units"]) > 3 * TASKS
    assert len(old["atom_dependencies"]) > TASKS
    assert len(old["execution_waves"]) >= 3
    assert sum('"kind": "placeholder"' in row for row in old["atomic_units"]) == TASKS // 10
    assert sum('"generated_at": null' not in row for row in old["atomic_units"]) > TASKS
    for table in _TABLES:
        assert len(new[table]) == len(old[table]), table
        assert new[table] == old[table], table
