"""Migration rate of `mge migrate-tasks`: tasks per second, dry run and production.

One masterplan of N tasks in a dependency chain, once with no code (placeholder
atoms) and once with a 19-line Python module per task (real atoms and edges), on
SQLite (a fresh file) and on the PostgreSQL server the tests use (a fresh database).
Wall time and this process's CPU time (the PostgreSQL server's own CPU is not in it).

    .venv/bin/python -m bench.migration [--tasks N] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import inspect
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from mge.db import make_engine, migrate, session_scope
from mge.db.models import (
    MasterPlan,
    MasterPlanMilestone,
    MasterPlanPhase,
    MasterPlanTask,
    TaskComplexity,
    TaskStatus,
)
from mge.store.migration import migrate_tasks

# As the CLI runs it: one atomizing process per available CPU (a checkout from
# before `workers` existed, the "before" of docs/BENCHMARKS.md, runs in one).
_WORKERS = (
    {"workers": len(os.sched_getaffinity(0))}
    if "workers" in inspect.signature(migrate_tasks).parameters
    else {}
)
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DB = "mge_migration_bench"

CODE = '''"""Module {i}."""
from pkg.mod{j} import helper{j}

LIMIT_{i} = {i}


def helper{i}(x: int) -> int:
    if x > LIMIT_{i}:
        return helper{j}(x - 1)
    return x * 2


class Box{i}:
    def __init__(self, value: int) -> None:
        self.value = value

    def doubled(self) -> int:
        return helper{i}(self.value)
'''


def _build(url: str, tasks: int, with_code: bool) -> str:
    engine = make_engine(url)
    name = f"bench-{'code' if with_code else 'nocode'}"
    with session_scope(engine) as session:
        plan = MasterPlan(name=name, language="python")
        phase = MasterPlanPhase(masterplan=plan, phase_number=1, name="p")
        milestone = MasterPlanMilestone(phase=phase, milestone_number=1, name="m", tests=[])
        for i in range(tasks):
            MasterPlanTask(
                masterplan=plan,
                milestone=milestone,
                task_number=i + 1,
                task_key=f"t{i}",
                name=f"task {i}",
                description="Do the thing. " * (i % 40),
                complexity=list(TaskComplexity)[i % 4],
                target_files=[f"pkg/mod{i}.py"],
                depends_on=[f"t{i - 1}"] if i else [],
                status=TaskStatus.COMPLETED if with_code else TaskStatus.PENDING,
                generated_code=CODE.format(i=i, j=max(i - 1, 0)) if with_code else None,
            )
        session.add(plan)
        session.flush()
        masterplan_id = str(plan.id)
    engine.dispose()
    return masterplan_id


def _measure(kind: str, url: str, tasks: int) -> list[str]:
    migrate.upgrade(url)
    rows = []
    for with_code in (False, True):
        masterplan_id = _build(url, tasks, with_code)
        engine = make_engine(url)
        started, cpu = time.perf_counter(), time.process_time()
        migrate_tasks(engine, production=False, masterplan_id=masterplan_id, **_WORKERS)
        dry, dry_cpu = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        report = migrate_tasks(engine, production=True, masterplan_id=masterplan_id, **_WORKERS)
        production = time.perf_counter() - started
        production_cpu = time.process_time() - cpu
        engine.dispose()
        result = report.masterplans[0]
        rows.append(
            f"| {kind} | {'with code' if with_code else 'without code'} | {tasks:,} | "
            f"{result.atoms:,} ({result.outcome}) | {dry:.1f} s ({tasks / dry:,.0f} tasks/s) "
            f"| {dry_cpu:.1f} s | {production:.1f} s ({tasks / production:,.0f} tasks/s) "
            f"| {production_cpu:.1f} s ({tasks / production_cpu:,.0f} tasks/CPU-s) |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.migration")
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--write-docs", action="store_true", help="accepted; prints only")
    args, _ = parser.parse_known_args(argv)
    print(
        "| database | tasks | count | atoms (outcome) | dry run (wall) | dry run (CPU) "
        "| production (wall) | production (CPU of this process) |"
    )
    print("|---|---|---:|---:|---|---|---|---|")
    for kind in args.databases.split(","):
        if kind == "sqlite":
            with tempfile.TemporaryDirectory() as scratch:
                url = f"sqlite:///{Path(scratch) / 'bench.db'}"
                for row in _measure(kind, url, args.tasks):
                    print(row, flush=True)
        else:
            admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{BENCH_DB}"'))
            try:
                url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{BENCH_DB}"
                for row in _measure(kind, url, args.tasks):
                    print(row, flush=True)
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
                admin.dispose()
    return 0
