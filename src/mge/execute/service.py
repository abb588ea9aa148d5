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
from mge.db.models import AtomicUnit, AtomStatus, GenerationRun, RunStatus
from mge.errors import ConfigError, Conflict, NotFound
from mge.execute._engine import Runner
from mge.execute._output import check_out_dir
from mge.execute.progress import ProgressSink
from mge.execute.report import build_report, get_run
from mge.execute.settings import RunSettings
from mge.llm import Model, make_model
from mge.plan import load_plan
from mge.store.plans import import_plan
from mge.validate import AtomVerdict

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
        seed=settings.seed,
        latency_ms=settings.latency_ms,
    )
    simulated = model.simulated
    asyncio.run(model.aclose())
    return simulated


def create_run(
    engine: Engine,
    plan_path: Path,
    settings: RunSettings,
    *,
    force: bool = False,
    model: Model | None = None,
) -> uuid.UUID:
    """Check the request and store a pending run. `model`, when given, is the model
    the run will be executed with (`execute_run(..., model=...)`): it is not built
    from the settings, and the plan needs no `reference:` even for replay."""
    plan = load_plan(plan_path)
    reference = (plan_path.parent / plan.reference).resolve() if plan.reference else None
    atomization = AtomizeConfig(**plan.atomization.model_dump())
    simulated = (
        model.simulated if model is not None else probe_model(settings, reference, atomization)
    )
    check_out_dir(settings.out_path, force=force)
    # Stored absolute: a resume may run from another working directory.
    settings = settings.model_copy(update={"out_dir": str(settings.out_path)})
    with Session(engine) as session:
        masterplan = import_plan(session, plan, plan_path=plan_path)
        run = GenerationRun(
            masterplan=masterplan,
            model=settings.model,
            simulated=simulated,
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


# -- for human review (mge.review) ---------------------------------------------------


class _NoModel:
    """Stands in for the model where a Runner only validates: it is never asked."""

    name = "none"
    simulated = False

    async def complete(self, request: Any) -> Any:
        raise ConfigError("this operation does not call a model")

    async def aclose(self) -> None:
        return None


def validate_atom_code(engine: Engine, run_id: uuid.UUID, atom_key: str, code: str) -> AtomVerdict:
    """Atomic (L1) validation of a reviewer's code for one atom, in the same assembly
    the engine would use (its completed prerequisites in view)."""
    runner = Runner(engine, run_id, model=_NoModel())
    try:
        runner._load_states()
        if atom_key not in runner.states:
            raise NotFound(f"run {run_id} has no atom {atom_key}")
        return runner._validate(atom_key, code)
    finally:
        runner.close()


async def regenerate_for_review(
    engine: Engine, run_id: uuid.UUID, atom_key: str, *, feedback: str
) -> bool:
    """One more attempt at an atom with a reviewer's feedback, stored like any attempt.

    The attempt limit is raised by one so an atom that used all its attempts can still
    be asked again. A failed atom stays failed (with the new candidate stored) when
    the attempt does not pass; a completed one keeps its code (`Runner.regenerate`).
    Returns whether the new code passed atomic validation.
    """
    runner = Runner(engine, run_id)
    try:
        runner._load_states()
        state = runner.states.get(atom_key)
        if state is None:
            raise NotFound(f"run {run_id} has no atom {atom_key}")
        runner.settings = runner.settings.model_copy(update={"max_attempts": state.attempts + 1})
        if state.status is AtomStatus.COMPLETED:
            passed = await runner.regenerate(atom_key, feedback=feedback, trigger="review")
        else:
            passed = await runner._generate(atom_key, feedback=feedback, trigger="review")
            if not passed:
                row = runner.session.get_one(AtomicUnit, state.row_id)
                row.status = AtomStatus.FAILED
                state.status = AtomStatus.FAILED
        runner.commit()  # the attempt may still wait for the group commit
        return passed
    finally:
        await runner.model.aclose()
        runner.close()
