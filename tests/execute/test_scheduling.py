"""Scheduling: the dependency graph the engine obeys, what runs first, and
validation handed to worker processes without changing any verdict."""

from __future__ import annotations

import uuid
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.execute.conftest import InstrumentedModel, replay_model, run_plan, verdict_rows

from mge.db import make_engine
from mge.db.models import AtomRetryHistory, GenerationRun
from mge.execute._engine import Runner

# A namespace package (the plan lists no `__init__.py`): imports must still
# resolve to the plan's files. `pkg/flat.py` comes first in the plan and has no
# dependencies; the chain base -> b's header -> mid -> c's header -> top -> top2
# crosses three files.
SOURCES = {
    "pkg/flat.py": "def one(x):\n    return x\n\n\ndef two(x):\n    return x + 2\n",
    "pkg/a.py": "def base(x):\n    return x + 1\n\n\ndef other(x):\n    return x * 2\n",
    "pkg/b.py": (
        "from pkg.a import base\n\n\ndef mid(x):\n    return base(x) + 1\n\n\n"
        "def side(x):\n    return x\n"
    ),
    "pkg/c.py": (
        "from pkg.b import mid\n\n\ndef top(x):\n    return mid(x) * 3\n\n\n"
        "def top2(x):\n    return top(x) + 1\n"
    ),
}


def _plan(root: Path) -> Path:
    for file, text in SOURCES.items():
        target = root / "reference" / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    tasks = [
        {"id": Path(file).stem, "name": file, "files": [file], "depends_on": []} for file in SOURCES
    ]
    plan = {
        "version": 1,
        "name": "namespace-chain",
        "language": "python",
        "reference": "reference",
        "phases": [{"name": "All", "milestones": [{"name": "All", "tasks": tasks}]}],
    }
    path = root / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return path


def test_imports_between_plan_files_are_dependencies_without_an_init(
    sqlite_url: str, tmp_path: Path
) -> None:
    plan = _plan(tmp_path)
    run_id = run_plan(sqlite_url, plan, tmp_path / "out", levels="atomic", run_tests=False)
    engine = make_engine(sqlite_url)
    try:
        runner = Runner(engine, run_id)
        runner._load_states()
        states = runner.states
        assert "pkg/a.py::base#0" in states["pkg/b.py::mid#0"].prerequisites
        assert "pkg/b.py::mid#0" in states["pkg/c.py::top#0"].prerequisites
        # The same-file search an attempt's view uses agrees with the full closure.
        checked = 0
        for key, state in states.items():
            closure = runner._closure(key)
            same_file = {k for k in closure if states[k].planned.file == state.planned.file}
            assert runner._file_ancestors(key) == same_file, key
            checked += bool(same_file)
        assert checked >= 3
        runner.close()
    finally:
        engine.dispose()


def test_eager_starts_the_longest_chain_first(sqlite_url: str, tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    model = InstrumentedModel(replay_model(plan))
    run_plan(
        sqlite_url,
        plan,
        tmp_path / "out",
        model=model,
        concurrency=1,
        levels="atomic",
        run_tests=False,
    )
    # In plan order `pkg/flat.py::one` would come first; the chain's head has five
    # atoms waiting on it.
    assert model.atoms[0] == "pkg/a.py::base#0"


def _verdicts(url: str, run_id: uuid.UUID) -> list[tuple[str, int, str, bool, str | None]]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            attempts = session.scalars(
                select(AtomRetryHistory.generated_code).where(AtomRetryHistory.run_id == run_id)
            ).all()
            assert attempts
    finally:
        engine.dispose()
    return verdict_rows(url, run_id)


def test_validation_workers_change_no_verdict_and_no_output(
    sqlite_url: str, example_plan: Path, tmp_path: Path
) -> None:
    common = {"fault_rate": 0.2, "seed": 5, "levels": "atomic", "run_tests": False}
    alone = run_plan(sqlite_url, example_plan, tmp_path / "alone", validation_workers=0, **common)
    # Latency keeps the run going long enough for the worker to start and take over.
    pooled = run_plan(
        sqlite_url,
        example_plan,
        tmp_path / "pooled",
        validation_workers=1,
        latency_ms=150,
        **common,
    )
    assert _verdicts(sqlite_url, alone) == _verdicts(sqlite_url, pooled)
    files = sorted(p.relative_to(tmp_path / "alone") for p in (tmp_path / "alone").rglob("*.py"))
    assert files
    for file in files:
        assert (tmp_path / "alone" / file).read_bytes() == (tmp_path / "pooled" / file).read_bytes()
    engine = make_engine(sqlite_url)
    try:
        with Session(engine) as session:
            stored = {run.id: run.report or {} for run in session.scalars(select(GenerationRun))}
    finally:
        engine.dispose()
    assert "validation_workers" not in stored[alone]
    workers = stored[pooled]["validation_workers"]
    assert isinstance(workers, dict) and workers["workers"] == 1
    assert workers["remote"] > 0 and workers["cpu_seconds"] > 0, workers
