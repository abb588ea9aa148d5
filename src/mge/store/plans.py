"""A masterplan file as rows (`masterplans` → phases → milestones → tasks) and back.

The rows are the authority once imported: `export_plan` rebuilds the plan from
them, so what a reviewer or the execution engine changed in the database is what
comes out. `plan_document` keeps the document as imported, for provenance.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import cast

from sqlalchemy.orm import Session

from mge.db.models import (
    MasterPlan,
    MasterPlanMilestone,
    MasterPlanPhase,
    MasterPlanStatus,
    MasterPlanTask,
    TaskComplexity,
)
from mge.errors import NotFound
from mge.plan import Atomization, Language, Milestone, Phase, Plan, Task, TestRunner


def import_plan(session: Session, plan: Plan, *, plan_path: Path | None = None) -> MasterPlan:
    """Add the plan's rows to the session (not committed). The reference directory
    is stored resolved against the plan file, so later runs need no plan file."""
    reference: str | None = plan.reference
    if reference is not None and plan_path is not None:
        reference = str((plan_path.parent / reference).resolve())
    masterplan = MasterPlan(
        name=plan.name,
        description=plan.description or None,
        status=MasterPlanStatus.READY,
        language=plan.language,
        plan_document=plan.model_dump(mode="json"),
        source_path=str(plan_path.resolve()) if plan_path is not None else None,
        reference_path=reference,
        atomization_config=plan.atomization.model_dump(mode="json"),
    )
    number = 0
    for phase_number, phase in enumerate(plan.phases, 1):
        phase_row = MasterPlanPhase(
            masterplan=masterplan,
            phase_number=phase_number,
            name=phase.name,
            description=phase.description or None,
        )
        for milestone_number, milestone in enumerate(phase.milestones, 1):
            milestone_row = MasterPlanMilestone(
                phase=phase_row,
                milestone_number=milestone_number,
                name=milestone.name,
                description=milestone.description or None,
                tests=list(milestone.tests),
            )
            for task in milestone.tasks:
                number += 1
                MasterPlanTask(
                    masterplan=masterplan,
                    milestone=milestone_row,
                    task_number=number,
                    task_key=task.id,
                    name=task.name,
                    description=task.description or None,
                    complexity=TaskComplexity(task.complexity),
                    target_files=list(task.files),
                    depends_on=list(task.depends_on),
                    tests=list(task.tests),
                )
    session.add(masterplan)
    return masterplan


def export_plan(masterplan: MasterPlan) -> Plan:
    """The plan the rows describe, ready to dump as YAML."""
    document = masterplan.plan_document or {}
    phases = []
    for phase_row in masterplan.phases:
        milestones = []
        for milestone_row in phase_row.milestones:
            tasks = [
                Task(
                    id=task.task_key,
                    name=task.name,
                    description=task.description or "",
                    files=list(task.target_files),
                    depends_on=list(task.depends_on),
                    complexity=task.complexity.value,
                    tests=list(task.tests),
                )
                for task in milestone_row.tasks
            ]
            milestones.append(
                Milestone(
                    name=milestone_row.name,
                    description=milestone_row.description or "",
                    tasks=tasks,
                    tests=list(milestone_row.tests or []),
                )
            )
        phases.append(
            Phase(
                name=phase_row.name,
                description=phase_row.description or "",
                milestones=milestones,
            )
        )
    return Plan(
        name=masterplan.name,
        description=masterplan.description or "",
        language=cast(Language, masterplan.language or "python"),
        # Kept in the document only: a plan imported before runners has none.
        test_runner=cast(TestRunner, document.get("test_runner", "node")),
        atomization=Atomization.model_validate(masterplan.atomization_config or {}),
        reference=document.get("reference"),
        acceptance=list(document.get("acceptance", [])),
        support=list(document.get("support", [])),
        assets=list(document.get("assets", [])),
        phases=phases,
    )


def get_masterplan(session: Session, masterplan_id: str | uuid.UUID) -> MasterPlan:
    """A masterplan by id (full UUID or an unambiguous prefix of its hex form)."""
    if isinstance(masterplan_id, uuid.UUID):
        found = session.get(MasterPlan, masterplan_id)
    else:
        found = _by_prefix(session, masterplan_id)
    if found is None:
        raise NotFound(f"no masterplan {masterplan_id}")
    return found


def _by_prefix(session: Session, text: str) -> MasterPlan | None:
    try:
        return session.get(MasterPlan, uuid.UUID(text))
    except ValueError:
        pass
    prefix = text.replace("-", "").lower()
    if len(prefix) < 4 or any(c not in "0123456789abcdef" for c in prefix):
        return None
    matches = [row for row in session.query(MasterPlan) if row.id.hex.startswith(prefix)]
    return matches[0] if len(matches) == 1 else None
