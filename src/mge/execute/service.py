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
from mge.db.models import GenerationRun, MasterPlan, RunStatus
from mge.errors import ConfigError, Conflict
from mge.execute._engine import Runner
from mge.execute._lease import check_lease_free
from mge.execute._output import check_copied, check_out_dir
from mge.execute._run_state import AfterRun
from mge.execute.executor import check_executor_database
from mge.execute.progress import ProgressSink
from mge.execute.report import build_report, get_run
from mge.execute.settings import RunSettings, validated_settings
from mge.llm import Model, make_model
from mge.plan import load_plan
from mge.store.plans import export_plan, import_plan

RESUMABLE = frozenset(
    {
        RunStatus.PENDING,
        RunStatus.RUNNING,
        RunStatus.INTERRUPTED,
        RunStatus.BUDGET_EXHAUSTED,
        RunStatus.FAILED,
    }
)


def probe_model(
    settings: RunSettings, reference_dir: Path | None, atomization: AtomizeConfig
) -> bool:
    """Build (and close) the run's model once, so a bad model spec fails before any
    row is written; returns whether the model is simulated (the model says so, no
    one parses its name). The CLI and the API both start runs through this."""
    model = make_model(
        settings.model,
        base_url=settings.base_url,
        reference_dir=reference_dir,
        atomization=atomization,
        fault_rate=settings.fault_rate,
        fault_kinds=settings.fault_kinds,
        fault_profile=settings.fault_profile,
        seed=settings.seed,
        latency_ms=settings.latency_ms,
    )
    simulated = model.simulated
    asyncio.run(model.aclose())
    return simulated


def store_run(
    session: Session,
    masterplan: MasterPlan,
    settings: RunSettings,
    *,
    plan_path: str | None,
    force: bool = False,
    model: Model | None = None,
) -> uuid.UUID:
    """The one way a run is created, from the CLI (`create_run`) or the API: the
    model is probed and the output directory checked before the run row is written,
    in the caller's transaction (committed here). `model`, when given, is the model
    the run will be executed with (`execute_run(..., model=...)`): it is not built
    from the settings, and the plan needs no `reference:` even for replay."""
    if settings.executor == "ray":
        check_executor_database(settings.executor, str(session.get_bind().engine.url))
    reference = Path(masterplan.reference_path) if masterplan.reference_path else None
    atomization = AtomizeConfig(**(masterplan.atomization_config or {}))
    simulated = (
        model.simulated if model is not None else probe_model(settings, reference, atomization)
    )
    check_out_dir(settings.out_path, force=force)
    for source in (reference, Path(settings.tests_dir) if settings.tests_dir else None):
        if source is not None and settings.out_path.resolve() == source.resolve():
            raise ConfigError(
                f"--out {settings.out_dir} is the plan's own {source}; choose another directory"
            )
    inputs = settings.tests_dir or masterplan.reference_path
    check_copied(Path(inputs) if inputs else None, export_plan(masterplan))
    # Stored absolute: a resume may run from another working directory.
    settings = settings.model_copy(update={"out_dir": str(settings.out_path.resolve())})
    run = GenerationRun(
        masterplan=masterplan,
        model=settings.model,
        simulated=simulated,
        settings=settings.model_dump(mode="json"),
        plan_path=plan_path,
        out_dir=settings.out_dir,
    )
    session.add(run)
    session.commit()
    return run.id


def create_run(
    engine: Engine,
    plan_path: Path,
    settings: RunSettings,
    *,
    force: bool = False,
    model: Model | None = None,
) -> uuid.UUID:
    """Load a plan file, store its masterplan and a pending run (see `store_run`)."""
    plan = load_plan(plan_path)
    with Session(engine) as session:
        masterplan = import_plan(session, plan, plan_path=plan_path)
        return store_run(
            session,
            masterplan,
            settings,
            plan_path=str(plan_path.resolve()),
            force=force,
            model=model,
        )


def prepare_resume(
    engine: Engine, run_id: str, *, budget_usd: float | None = None, concurrency: int | None = None
) -> uuid.UUID:
    """Check a run can be resumed and apply the settings a resume may change."""
    with Session(engine) as session:
        run = get_run(session, run_id)
        if run.status not in RESUMABLE:
            raise Conflict(f"run {run.id} is {run.status.value}; there is nothing to resume")
        # Said at once (the API answers 409); `Runner.run` takes the lease atomically.
        check_lease_free(session.connection(), run.id)
        settings = RunSettings.model_validate(run.settings)
        changes: dict[str, Any] = {}
        if budget_usd is not None:
            changes["budget_usd"] = budget_usd
        if concurrency is not None:
            changes["concurrency"] = concurrency
        if changes:
            updated = validated_settings({**settings.model_dump(), **changes})
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
    after_run: AfterRun | None = None,
) -> RunStatus:
    """Execute (or resume) a stored run. `after_run` is the step run at its end,
    inside its last transaction: the CLI and the API rank the review queue there."""
    runner = Runner(engine, run_id, progress=progress, stop=stop, model=model, after_run=after_run)
    try:
        return await runner.run()
    finally:
        runner.close()


def run_report(engine: Engine, run_id: str | uuid.UUID) -> dict[str, Any]:
    with Session(engine) as session:
        return build_report(session, get_run(session, run_id))
