"""Starting, resuming and reading runs: what the CLI and the API call.

Everything that can be wrong with a request (the plan, the model, the budget, the
output directory) is checked in `create_run` before any row is written.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mge.atomize import AtomizeConfig
from mge.db.models import GenerationRun, RunStatus
from mge.errors import ConfigError, Conflict
from mge.execute._engine import Runner
from mge.execute._output import check_out_dir
from mge.execute._reference import PlanReference
from mge.execute.progress import ProgressSink
from mge.execute.report import build_report, get_run
from mge.execute.settings import RunSettings
from mge.llm import Model, make_model
from mge.plan import load_plan
from mge.store.plans import import_plan

RESUMABLE = frozenset(
    {
        RunStatus.PENDING,
        RunStatus.RUNNING,
        RunStatus.INTERRUPTED,
        RunStatus.BUDGET_EXHAUSTED,
        RunStatus.FAILED,
    }
)


def _probe_model(settings: RunSettings, reference: PlanReference | None) -> None:
    """Build (and close) the model once, so a bad model spec fails before any write."""
    model = make_model(
        settings.model,
        base_url=settings.base_url,
        reference=reference,
        fault_rate=settings.fault_rate,
        fault_kinds=settings.fault_kinds,
        seed=settings.seed,
        latency_ms=settings.latency_ms,
    )
    asyncio.run(model.aclose())


def create_run(
    engine: Engine, plan_path: Path, settings: RunSettings, *, force: bool = False
) -> uuid.UUID:
    plan = load_plan(plan_path)
    reference = None
    if plan.reference is not None:
        root = (plan_path.parent / plan.reference).resolve()
        reference = PlanReference(root, AtomizeConfig(**plan.atomization.model_dump()))
    if settings.model.split(":", 1)[0] == "replay" and reference is None:
        raise ConfigError(f"{plan_path}: the replay model needs a plan with `reference:` code")
    _probe_model(settings, reference)
    check_out_dir(settings.out_path, force=force)
    # Stored absolute: a resume may run from another working directory.
    settings = settings.model_copy(update={"out_dir": str(settings.out_path)})
    with Session(engine) as session:
        masterplan = import_plan(session, plan, plan_path=plan_path)
        run = GenerationRun(
            masterplan=masterplan,
            model=settings.model,
            simulated=settings.model.split(":", 1)[0] == "replay",
            settings=settings.model_dump(mode="json"),
            plan_path=str(plan_path.resolve()),
            out_dir=str(settings.out_path.resolve()),
        )
        session.add(run)
        session.commit()
        return run.id


def prepare_resume(
    engine: Engine, run_id: str, *, budget_usd: float | None = None, concurrency: int | None = None
) -> uuid.UUID:
    """Check a run can be resumed and apply the settings a resume may change."""
    with Session(engine) as session:
        run = get_run(session, run_id)
        if run.status not in RESUMABLE:
            raise Conflict(f"run {run.id} is {run.status.value}; there is nothing to resume")
        settings = RunSettings.model_validate(run.settings)
        changes: dict[str, Any] = {}
        if budget_usd is not None:
            changes["budget_usd"] = budget_usd
        if concurrency is not None:
            changes["concurrency"] = concurrency
        if changes:
            updated = RunSettings.model_validate({**settings.model_dump(), **changes})
            run.settings = updated.model_dump(mode="json")
        session.commit()
        return run.id


async def execute_run(
    engine: Engine,
    run_id: uuid.UUID,
    *,
    progress: ProgressSink | None = None,
    stop: asyncio.Event | None = None,
    model: Model | None = None,
) -> RunStatus:
    runner = Runner(engine, run_id, progress=progress, stop=stop, model=model)
    try:
        return await runner.run()
    finally:
        runner.close()


def run_report(engine: Engine, run_id: str | uuid.UUID) -> dict[str, Any]:
    with Session(engine) as session:
        return build_report(session, get_run(session, run_id))
