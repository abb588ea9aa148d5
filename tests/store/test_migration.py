"""Stored MVP masterplans migrated to atoms, on SQLite and PostgreSQL.

The fixture is a realistic MVP database: the bundled inventory plan with its
reference code stored as generated code, a TypeScript/TSX/JavaScript shop, and a
legacy masterplan full of broken rows (code that does not parse, an unknown
extension, blank and null fields, dependencies on missing tasks, shared files).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import Session

from mge.atomize import AtomizeConfig, atomize_source
from mge.db import make_engine, migrate, session_scope
from mge.db.base import Base
from mge.db.models import (
    AtomDependency,
    AtomicUnit,
    AtomStatus,
    ExecutionWave,
    MasterPlan,
    MasterPlanMilestone,
    MasterPlanPhase,
    MasterPlanStatus,
    MasterPlanSubtask,
    MasterPlanTask,
    TaskComplexity,
    TaskStatus,
)
from mge.errors import AtomizeError, Conflict, NotFound
from mge.plan import load_plan
from mge.store import migration
from mge.store.migration import (
    PLACEHOLDER_KIND,
    STATUS_MAP,
    check_integrity,
    estimate_placeholder,
    map_status,
    migrate_tasks,
    revert_masterplan,
)
from mge.store.plans import import_plan

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory"

TS_SOURCES = {
    "src/money.ts": """export type Cents = number;

export function add(a: Cents, b: Cents): Cents {
  return a + b;
}

export function format(amount: Cents): string {
  const sign = amount < 0 ? "-" : "";
  const abs = Math.abs(amount);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}
""",
    "src/cart.ts": """import { add, Cents } from "./money";

export interface Line {
  sku: string;
  price: Cents;
  quantity: number;
}

export class Cart {
  private lines: Line[] = [];

  addLine(line: Line): void {
    if (line.quantity <= 0) {
      throw new Error("quantity must be positive");
    }
    this.lines.push(line);
  }

  total(): Cents {
    let sum = 0;
    for (const line of this.lines) {
      sum = add(sum, line.price * line.quantity);
    }
    return sum;
  }
}
""",
    "src/CartView.tsx": """import { Cart } from "./cart";
import { format } from "./money";

export function CartView({ cart }: { cart: Cart }) {
  return <div className="total">{format(cart.total())}</div>;
}
""",
    "src/server.js": """const http = require("http");

function handler(request, response) {
  response.writeHead(200, { "Content-Type": "text/plain" });
  response.end("ok\\n");
}

module.exports = { start: (port) => http.createServer(handler).listen(port) };
""",
}

BROKEN_PYTHON = "def broken(:\n    return 1 +\n\nclass Half\n"
GO_SOURCE = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hi")\n}\n'
UTILS = (
    '"""Small helpers."""\n\n\n'
    "def clamp(x: int, low: int, high: int) -> int:\n    return max(low, min(x, high))\n"
)


def _masterplan(session: Session, name: str, language: str) -> tuple[MasterPlan, Any]:
    masterplan = MasterPlan(name=name, status=MasterPlanStatus.IN_PROGRESS, language=language)
    phase = MasterPlanPhase(masterplan=masterplan, phase_number=1, name="Build")
    milestone = MasterPlanMilestone(phase=phase, milestone_number=1, name="All", tests=[])
    return masterplan, milestone


def _task(masterplan: MasterPlan, milestone: Any, number: int, key: str, **fields: Any) -> Any:
    fields.setdefault("name", f"Task {key}")
    fields.setdefault("target_files", [])
    fields.setdefault("depends_on", [])
    fields.setdefault("tests", [])
    return MasterPlanTask(
        masterplan=masterplan, milestone=milestone, task_number=number, task_key=key, **fields
    )


def _inventory(session: Session) -> MasterPlan:
    """The bundled plan as the MVP stored it: the first tasks generated (their code is
    the reference implementation), the rest still pending."""
    plan_path = EXAMPLE / "plan.yaml"
    masterplan = import_plan(session, load_plan(plan_path), plan_path=plan_path)
    for task in masterplan.tasks[:7]:
        task.generated_code = (EXAMPLE / "reference" / task.target_files[0]).read_text()
        task.status = TaskStatus.COMPLETED
        task.llm_model = "claude-mvp"
        task.input_tokens, task.output_tokens, task.cost_usd = 1200, 800, 0.02
        task.completed_at = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    masterplan.tasks[7].status = TaskStatus.FAILED
    masterplan.tasks[8].status = TaskStatus.IN_PROGRESS
    return masterplan


def _shop(session: Session) -> MasterPlan:
    masterplan, milestone = _masterplan(session, "shop", "typescript")
    number = 0
    for path, code in TS_SOURCES.items():
        number += 1
        _task(
            masterplan,
            milestone,
            number,
            f"code-{number}",
            target_files=[path],
            generated_code=code,
            status=TaskStatus.COMPLETED,
            complexity=TaskComplexity.MEDIUM,
        )
    complexities = list(TaskComplexity)
    statuses = [TaskStatus.PENDING, TaskStatus.BLOCKED, TaskStatus.SKIPPED, TaskStatus.FAILED]
    for index in range(16):
        number += 1
        _task(
            masterplan,
            milestone,
            number,
            f"todo-{index}",
            description="Build the checkout step. " * (index * 3),
            target_files=[f"src/step{index}.ts", f"src/step{index}.test.ts"][: 1 + index % 2],
            depends_on=["code-2"] if index % 3 == 0 else [f"todo-{index - 1}"] if index else [],
            complexity=complexities[index % 4],
            status=statuses[index % 4],
        )
    session.add(masterplan)
    return masterplan


def _legacy(session: Session) -> MasterPlan:
    masterplan, milestone = _masterplan(session, "legacy", "python")
    rows: list[dict[str, Any]] = [
        {"target_files": ["app/utils.py"], "generated_code": UTILS},
        {"target_files": ["app/broken.py"], "generated_code": BROKEN_PYTHON},
        {"target_files": ["cmd/main.go"], "generated_code": GO_SOURCE},
        {"target_files": [], "generated_code": "VALUE = 42\n"},
        {"target_files": ["app/utils.py"], "generated_code": "def again() -> None:\n    pass\n"},
        {"target_files": ["app/a.py", "app/b.py"], "generated_code": "A = 1\nB = 2\n"},
        {"target_files": ["app/blank.py"], "generated_code": "   \n"},
        {"target_files": ["app/empty.py"], "generated_code": ""},
        {"target_files": ["docs/notes.md"], "description": None},
        {"target_files": ["", 7, "app/odd.py"]},
        {"target_files": ["app/x.py"], "depends_on": ["no-such-task", "legacy-1"]},
        {"target_files": ["app/self.py"], "depends_on": ["legacy-12"]},
        {"target_files": ["app/done.py"], "status": TaskStatus.COMPLETED},
    ]
    for index in range(7):
        rows.append({"target_files": [f"app/mod{index}.py"], "description": "x" * (150 * index)})
    for number, fields in enumerate(rows, 1):
        task = _task(masterplan, milestone, number, f"legacy-{number}", **fields)
        if number == 1:
            MasterPlanSubtask(task=task, subtask_number=1, name="write clamp", code=UTILS)
    session.add(masterplan)
    return masterplan


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def mvp(engine: Engine) -> dict[str, uuid.UUID]:
    with session_scope(engine) as session:
        plans = {"inventory": _inventory(session), "shop": _shop(session)}
        plans["legacy"] = _legacy(session)
        session.flush()
        return {name: row.id for name, row in plans.items()}


def dump(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table as the driver returns it, each column cast to text.

    Not through SQLAlchemy's column types: those read JSON `null` and SQL NULL alike
    as None, which is exactly the difference a row-for-row check must see."""
    tables: dict[str, list[str]] = {}
    with engine.connect() as connection:
        quote = connection.dialect.identifier_preparer.quote
        for table in Base.metadata.sorted_tables:
            columns = ", ".join(f"CAST({quote(c.name)} AS TEXT)" for c in table.columns)
            rows = connection.exec_driver_sql(f"SELECT {columns} FROM {quote(table.name)}")
            tables[table.name] = sorted(json.dumps(list(row)) for row in rows)
    return tables


def _by_name(report: migration.MigrationReport) -> dict[str, migration.MasterplanReport]:
    return {row.name: row for row in report.masterplans}


def test_the_fixture_is_realistic(engine: Engine, mvp: dict[str, uuid.UUID]) -> None:
    with session_scope(engine) as session:
        tasks = session.scalars(select(MasterPlanTask)).all()
    assert len(mvp) == 3 and len(tasks) >= 50
    assert sum(1 for task in tasks if task.generated_code) >= 10


def test_dry_run_writes_nothing_and_predicts_production(
    engine: Engine, mvp: dict[str, uuid.UUID]
) -> None:
    before = dump(engine)
    dry = migrate_tasks(engine, production=False)
    assert dump(engine) == before
    assert dry.ok and {row.outcome for row in dry.masterplans} == {"would_migrate"}
    production = migrate_tasks(engine, production=True)
    assert production.ok and {row.outcome for row in production.masterplans} == {"migrated"}
    for name, predicted in _by_name(dry).items():
        done = _by_name(production)[name]
        assert predicted.to_dict() | {"outcome": "migrated"} == done.to_dict()
    assert production.totals()["tasks"] == dry.totals()["tasks"] >= 50


def test_production_atoms_reproduce_code_and_keep_the_task(
    engine: Engine, mvp: dict[str, uuid.UUID]
) -> None:
    report = migrate_tasks(engine, production=True)
    assert report.ok
    with session_scope(engine) as session:
        for masterplan_id in mvp.values():
            masterplan = session.get(MasterPlan, masterplan_id)
            assert masterplan is not None and masterplan.v2_mode
            assert check_integrity(session, masterplan_id) == []
            assert masterplan.total_atoms == len(masterplan.atoms)
            assert masterplan.atomization_config is not None
            assert masterplan.atomization_config["target_loc"] == AtomizeConfig().target_loc
            for task in masterplan.tasks:
                atoms = sorted(task.atoms, key=lambda atom: atom.atom_number)
                assert atoms, task.task_key
                assert atoms[0].extra["task"]["task_key"] == task.task_key
                assert atoms[0].extra["task"]["cost_usd"] == task.cost_usd
                if task.generated_code and task.generated_code.strip():
                    assert "".join(atom.code or "" for atom in atoms) == task.generated_code
                    assert PLACEHOLDER_KIND not in {atom.kind for atom in atoms}
                    assert {atom.status for atom in atoms} == {STATUS_MAP[task.status]}
                else:
                    (placeholder,) = atoms
                    assert placeholder.kind == PLACEHOLDER_KIND and placeholder.code is None
                    size = estimate_placeholder(
                        task.complexity,
                        task.description,
                        len([f for f in task.target_files if isinstance(f, str) and f.strip()]),
                    )
                    assert placeholder.loc == size.loc
                    assert placeholder.extra["estimated_atoms"] == size.atoms
                    assert placeholder.description == task.description
                    assert placeholder.status == map_status(task.status, has_code=False)
        shop = session.get(MasterPlan, mvp["shop"])
        assert shop is not None
        languages = {atom.file_path: atom.language for atom in shop.atoms if atom.code}
        assert languages["src/cart.ts"] == "typescript"
        assert languages["src/CartView.tsx"] == "tsx"
        assert languages["src/server.js"] == "javascript"
        placeholder_languages = {atom.language for atom in shop.atoms if atom.code is None}
        assert placeholder_languages == {"typescript"}
        cart_atoms = {atom.id for atom in shop.atoms if atom.file_path == "src/cart.ts"}
        money_atoms = {atom.id for atom in shop.atoms if atom.file_path == "src/money.ts"}
        edges = session.scalars(select(AtomDependency)).all()
        assert any(e.from_atom_id in money_atoms and e.to_atom_id in cart_atoms for e in edges)
        waves = session.scalars(
            select(ExecutionWave).where(ExecutionWave.masterplan_id == mvp["shop"])
        ).all()
        assert shop.total_waves == len(waves) and shop.max_parallelism == max(
            wave.total_atoms for wave in waves
        )


def test_broken_rows_are_handled_and_reported_per_task(
    engine: Engine, mvp: dict[str, uuid.UUID]
) -> None:
    report = _by_name(migrate_tasks(engine, production=True))["legacy"]
    assert report.outcome == "migrated"
    tasks = {row.task_key: row for row in report.task_reports}
    assert tasks["legacy-1"].conversion == "atomized"
    assert tasks["legacy-2"].conversion == "atomized"
    assert any("does not parse" in text for text in tasks["legacy-2"].warnings)
    assert tasks["legacy-3"].conversion == "opaque" and tasks["legacy-3"].language == "go"
    assert tasks["legacy-4"].file == "legacy-4.py"
    assert tasks["legacy-5"].file == "tasks/legacy-5/app/utils.py"
    assert any("2 target files" in text for text in tasks["legacy-6"].warnings)
    assert tasks["legacy-7"].conversion == "placeholder"
    assert any("blank" in text for text in tasks["legacy-7"].warnings)
    assert tasks["legacy-8"].conversion == "placeholder"
    assert tasks["legacy-9"].language == "md"
    assert any("non-text" in text for text in tasks["legacy-10"].warnings)
    assert any("'no-such-task'" in text for text in tasks["legacy-11"].warnings)
    assert any("itself" in text for text in tasks["legacy-12"].warnings)
    assert tasks["legacy-13"].status == AtomStatus.PENDING.value
    with session_scope(engine) as session:
        go = session.scalars(select(AtomicUnit).where(AtomicUnit.file_path == "cmd/main.go")).one()
        assert go.code == GO_SOURCE and "unsupported_language" in go.atomicity_violations


def test_rerun_is_a_no_op(engine: Engine, mvp: dict[str, uuid.UUID]) -> None:
    migrate_tasks(engine, production=True)
    after_first = dump(engine)
    again = migrate_tasks(engine, production=True)
    assert dump(engine) == after_first
    assert again.ok and {row.outcome for row in again.masterplans} == {"skipped"}


def test_revert_restores_the_database(engine: Engine, mvp: dict[str, uuid.UUID]) -> None:
    before = dump(engine)
    migrate_tasks(engine, production=True)
    for masterplan_id in mvp.values():
        reverted = revert_masterplan(engine, str(masterplan_id))
        assert reverted.masterplans[0].outcome == "reverted"
        assert reverted.masterplans[0].atoms > 0
    assert dump(engine) == before
    with pytest.raises(Conflict, match="not migrated"):
        revert_masterplan(engine, str(mvp["shop"]))


def test_an_integrity_failure_rolls_back_only_that_masterplan(
    engine: Engine, mvp: dict[str, uuid.UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure is injected inside the transaction (one atom's stored code is
    corrupted after the flush); the real validator must catch it."""
    real_check = migration.check_integrity

    def corrupting_check(session: Session, masterplan_id: Any) -> list[str]:
        if masterplan_id == mvp["shop"]:
            victim = session.scalars(
                select(AtomicUnit.id).where(
                    AtomicUnit.masterplan_id == masterplan_id, AtomicUnit.code.is_not(None)
                )
            ).first()
            session.execute(update(AtomicUnit).where(AtomicUnit.id == victim).values(code="x"))
        return real_check(session, masterplan_id)

    before = dump(engine)
    monkeypatch.setattr(migration, "check_integrity", corrupting_check)
    report = migrate_tasks(engine, production=True)
    assert not report.ok
    rows = _by_name(report)
    assert rows["shop"].outcome == "failed"
    assert any("do not reproduce its code" in error for error in rows["shop"].errors)
    assert rows["inventory"].outcome == rows["legacy"].outcome == "migrated"
    with session_scope(engine) as session:
        shop = session.get(MasterPlan, mvp["shop"])
        assert shop is not None and not shop.v2_mode and shop.atoms == []
    after = dump(engine)
    for table in ("masterplan_tasks", "masterplan_subtasks", "masterplan_milestones"):
        assert after[table] == before[table]
    monkeypatch.undo()
    retry = _by_name(migrate_tasks(engine, production=True))
    assert retry["shop"].outcome == "migrated" and retry["legacy"].outcome == "skipped"


def test_an_error_mid_masterplan_rolls_back_only_that_masterplan(
    engine: Engine, mvp: dict[str, uuid.UUID], monkeypatch: pytest.MonkeyPatch
) -> None:

    def failing_atomize(source: bytes, path: str, **kwargs: Any) -> Any:
        if path == "app/broken.py":
            raise AtomizeError(f"{path}: parser crashed")
        return atomize_source(source, path, **kwargs)

    monkeypatch.setattr("mge.atomize._api.atomize_source", failing_atomize)
    report = migrate_tasks(engine, production=True)
    rows = _by_name(report)
    assert rows["legacy"].outcome == "failed"
    assert rows["legacy"].errors == ["AtomizeError: app/broken.py: parser crashed"]
    assert rows["shop"].outcome == rows["inventory"].outcome == "migrated"
    with session_scope(engine) as session:
        legacy = session.get(MasterPlan, mvp["legacy"])
        assert legacy is not None and not legacy.v2_mode and legacy.atoms == []


def test_one_masterplan_by_id_prefix(engine: Engine, mvp: dict[str, uuid.UUID]) -> None:
    report = migrate_tasks(engine, production=True, masterplan_id=mvp["shop"].hex[:10])
    assert [row.name for row in report.masterplans] == ["shop"]
    with session_scope(engine) as session:
        flags = {row.name: row.v2_mode for row in session.scalars(select(MasterPlan))}
    assert flags == {"inventory": False, "shop": True, "legacy": False}
    with pytest.raises(NotFound, match="no masterplan"):
        migrate_tasks(engine, production=False, masterplan_id="ffffffff")


@pytest.mark.parametrize(
    ("complexity", "description", "files", "loc", "cyclomatic", "atoms"),
    [
        (TaskComplexity.LOW, None, 0, 10, 1.0, 1),
        (TaskComplexity.MEDIUM, "", 1, 25, 2.0, 3),
        (TaskComplexity.HIGH, "d" * 250, 2, 104, 3.0, 11),
        (TaskComplexity.CRITICAL, "d" * 600, 1, 92, 4.5, 10),
        (TaskComplexity.LOW, "d" * 5000, 1, 50, 1.5, 5),
    ],
)
def test_placeholder_estimate(
    complexity: TaskComplexity,
    description: str | None,
    files: int,
    loc: int,
    cyclomatic: float,
    atoms: int,
) -> None:
    size = estimate_placeholder(complexity, description, files)
    assert (size.loc, size.complexity, size.atoms) == (loc, cyclomatic, atoms)


@pytest.mark.parametrize(
    ("status", "has_code", "expected"),
    [
        (TaskStatus.PENDING, False, AtomStatus.PENDING),
        (TaskStatus.IN_PROGRESS, True, AtomStatus.PENDING),
        (TaskStatus.COMPLETED, True, AtomStatus.COMPLETED),
        (TaskStatus.COMPLETED, False, AtomStatus.PENDING),
        (TaskStatus.FAILED, True, AtomStatus.FAILED),
        (TaskStatus.BLOCKED, False, AtomStatus.BLOCKED),
        (TaskStatus.SKIPPED, False, AtomStatus.SKIPPED),
    ],
)
def test_status_mapping(status: TaskStatus, has_code: bool, expected: AtomStatus) -> None:
    assert map_status(status, has_code=has_code) is expected


def test_a_masterplan_without_tasks(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(MasterPlan(name="empty", language="python"))
    (row,) = migrate_tasks(engine, production=True).masterplans
    assert (row.outcome, row.atoms, row.waves) == ("migrated", 0, 0)
    assert row.warnings == ["no tasks; marked V2 with no atoms"]
    with session_scope(engine) as session:
        assert check_integrity(session, uuid.UUID(row.masterplan_id)) == []


def test_model_responses_are_noted_in_the_snapshot_and_never_loaded(
    engine: Engine, mvp: dict[str, uuid.UUID]
) -> None:
    """A task's `llm_response` is often the largest column of an MVP database: the
    migration records only whether it exists, and no statement reads its text."""
    with session_scope(engine) as session:
        tasks = session.scalars(
            select(MasterPlanTask)
            .where(MasterPlanTask.masterplan_id == mvp["shop"])
            .order_by(MasterPlanTask.task_number)
        ).all()
        answered = tasks[0].task_key
        tasks[0].llm_response = "the model's whole answer " * 1000
        for task in tasks[1:]:
            task.llm_response = None
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        report = migrate_tasks(engine, production=True, masterplan_id=str(mvp["shop"]))
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert _by_name(report)["shop"].outcome == "migrated"
    with session_scope(engine) as session:
        snapshots = {
            unit.extra["task"]["task_key"]: unit.extra["task"]["has_llm_response"]
            for unit in session.scalars(
                select(AtomicUnit).where(AtomicUnit.masterplan_id == mvp["shop"])
            )
            if "task" in unit.extra
        }
    assert snapshots[answered] is True
    assert len(snapshots) == len(tasks) and sum(snapshots.values()) == 1
    read = [text for text in statements if "llm_response AS" in text]
    assert read == [] and any("llm_response IS NOT NULL" in text for text in statements)
