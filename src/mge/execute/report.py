"""The run report of the contract (docs/EXECUTION.md, "The run report"), computed from rows.

Everything here is read back from the database, so `mge status` on a finished,
interrupted or crashed run reports the same figures the run itself printed.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mge.db.models import (
    AtomicUnit,
    AtomRetryHistory,
    AtomStatus,
    GenerationRun,
    HumanReviewQueue,
    ReviewStatus,
)
from mge.errors import NotFound


def get_run(session: Session, run_id: str | uuid.UUID) -> GenerationRun:
    """A run by id: the full UUID, or an unambiguous prefix of its hex form."""
    if isinstance(run_id, uuid.UUID):
        found = session.get(GenerationRun, run_id)
    else:
        found = None
        text = run_id.strip().lower()
        try:
            found = session.get(GenerationRun, uuid.UUID(text))
        except ValueError:
            prefix = text.replace("-", "")
            if len(prefix) >= 4 and all(c in "0123456789abcdef" for c in prefix):
                matches = [
                    run
                    for run in session.scalars(select(GenerationRun))
                    if run.id.hex.startswith(prefix)
                ]
                found = matches[0] if len(matches) == 1 else None
    if found is None:
        raise NotFound(f"no run {run_id}")
    return found


def build_report(session: Session, run: GenerationRun) -> dict[str, Any]:
    masterplan = run.masterplan
    counts = dict(
        session.execute(
            select(AtomicUnit.status, func.count())
            .where(AtomicUnit.masterplan_id == masterplan.id)
            .group_by(AtomicUnit.status)
        ).all()
    )
    total = sum(counts.values())
    in_review = session.scalar(
        select(func.count())
        .select_from(HumanReviewQueue)
        .where(
            HumanReviewQueue.masterplan_id == masterplan.id,
            HumanReviewQueue.status.in_([ReviewStatus.PENDING, ReviewStatus.IN_REVIEW]),
        )
    )
    first_attempts = (
        session.execute(
            select(AtomRetryHistory.succeeded)
            .join(AtomicUnit, AtomicUnit.id == AtomRetryHistory.atom_id)
            .where(AtomicUnit.masterplan_id == masterplan.id, AtomRetryHistory.attempt_number == 1)
        )
        .scalars()
        .all()
    )
    first_try = (
        round(sum(1 for ok in first_attempts if ok) / len(first_attempts), 4)
        if first_attempts
        else None
    )
    attempts = session.scalar(
        select(func.count())
        .select_from(AtomRetryHistory)
        .join(AtomicUnit, AtomicUnit.id == AtomRetryHistory.atom_id)
        .where(AtomicUnit.masterplan_id == masterplan.id)
    )
    graph = masterplan.graph
    report = run.report or {}
    tests = report.get("tests", {"total": 0, "passed": 0, "failed": 0})
    return {
        "run_id": str(run.id),
        "status": run.status.value,
        "plan": masterplan.name,
        "masterplan_id": str(masterplan.id),
        "atoms": {
            "total": total,
            "completed": counts.get(AtomStatus.COMPLETED, 0),
            "failed": counts.get(AtomStatus.FAILED, 0),
            "blocked": counts.get(AtomStatus.BLOCKED, 0),
            "pending": counts.get(AtomStatus.PENDING, 0) + counts.get(AtomStatus.READY, 0),
            "skipped": counts.get(AtomStatus.SKIPPED, 0),
            "in_review": in_review or 0,
        },
        "waves": graph.total_waves if graph else 0,
        "max_parallelism": graph.max_parallelism if graph else 0,
        "critical_path": graph.critical_path_length if graph else 0,
        "max_in_flight": report.get("max_in_flight", 0),
        # Where validation and the test runs were done, and the executor's figures.
        "executor": report.get("executor")
        or {"name": str((run.settings or {}).get("executor", "local"))},
        "attempts": attempts or 0,
        "first_try_success_rate": first_try,
        "tests": tests,
        "precision_percent": run.precision_percent,
        "reference_match_percent": report.get("reference_match_percent"),
        "tokens": {
            "input": run.input_tokens,
            "output": run.output_tokens,
            "cached": run.cached_tokens,
        },
        "cost_usd": round(run.cost_usd, 6),
        "duration_seconds": round(run.duration_seconds, 3),
        "model": run.model,
        "simulated": run.simulated,
        "plan_version_id": str(run.plan_version_id) if run.plan_version_id else None,
        "out_dir": run.out_dir,
        "error": run.error,
    }
