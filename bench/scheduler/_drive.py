"""Drive the real engine on a synthetic plan and time its generation stage."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from mge.db import make_engine
from mge.db.migrate import upgrade
from mge.db.models import GenerationRun, ValidationLevel, ValidationResult
from mge.execute import RunSettings, create_run, execute_run, run_report


@dataclass
class StageClock:
    """A progress sink that notes when each stage starts (wall clock)."""

    marks: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    attempts: int = 0

    def event(self, kind: str, **data: Any) -> None:
        if kind == "stage":
            self.marks.setdefault(str(data.get("name")), time.perf_counter())
            self.cpu.setdefault(str(data.get("name")), time.process_time())
        elif kind == "attempt":
            self.attempts += 1


@dataclass(frozen=True)
class EngineRun:
    status: str
    atoms: int
    completed: int
    attempts: int
    generate_seconds: float
    total_seconds: float
    generate_cpu_seconds: float
    max_in_flight: int
    validation_seconds: float
    # CPU time the validation workers (`mge.execute._judge_pool`) spent judging,
    # from taking the layouts to being stopped, as they report it (their start-up
    # is left out); the engine process's own CPU time does not include it. And how
    # many attempts they judged of all.
    worker_cpu_seconds: float = 0.0
    judged_by_workers: int = 0


def run_engine(
    plan: Path,
    workdir: Path,
    *,
    schedule: str,
    latency_ms: float,
    concurrency: int = 100,
) -> EngineRun:
    """One run of `plan` on a fresh SQLite database under `workdir`, set up exactly
    as `mge.db.make_engine` sets it up (WAL, synchronous=NORMAL)."""
    workdir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{workdir / 'mge.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        settings = RunSettings(
            model="replay",
            latency_ms=latency_ms,
            levels="atomic",
            run_tests=False,
            concurrency=concurrency,
            schedule="eager" if schedule == "eager" else "waves",
            out_dir=str(workdir / "out"),
        )
        run_id = create_run(engine, plan, settings)
        clock = StageClock()
        began, began_cpu = time.perf_counter(), time.process_time()
        status = asyncio.run(execute_run(engine, run_id, progress=clock))
        ended, ended_cpu = time.perf_counter(), time.process_time()
        report = run_report(engine, run_id)
        with engine.connect() as connection:
            validation = connection.scalar(
                select(func.coalesce(func.sum(ValidationResult.duration_seconds), 0.0)).where(
                    ValidationResult.run_id == run_id,
                    ValidationResult.level == ValidationLevel.ATOMIC,
                )
            )
            stored = connection.scalar(
                select(GenerationRun.report).where(GenerationRun.id == run_id)
            )
    finally:
        engine.dispose()
    generate = clock.marks.get("validate", ended) - clock.marks.get("generate", began)
    atoms = report.get("atoms", {})
    workers = (stored or {}).get("validation_workers") or {}
    return EngineRun(
        status=status.value,
        atoms=int(atoms.get("total", 0)),
        completed=int(atoms.get("completed", 0)),
        attempts=clock.attempts,
        generate_seconds=generate,
        total_seconds=ended - began,
        generate_cpu_seconds=clock.cpu.get("validate", ended_cpu)
        - clock.cpu.get("generate", began_cpu),
        max_in_flight=int(report.get("max_in_flight", 0) or 0),
        validation_seconds=float(validation or 0.0),
        worker_cpu_seconds=float(workers.get("cpu_seconds", 0.0)),
        judged_by_workers=int(workers.get("remote", 0)),
    )
