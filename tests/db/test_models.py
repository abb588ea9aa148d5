"""Every table filled with related rows, every relationship walked both ways,
cascades and constraints checked, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import JSON, Engine, func, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from mge.db.base import Base
from mge.db.models import (
    AtomDependency,
    AtomicUnit,
    AtomRetryHistory,
    AtomStatus,
    DependencyGraph,
    DependencyType,
    ExecutionWave,
    GenerationRun,
    HumanReviewQueue,
    MasterPlan,
    MasterPlanMilestone,
    MasterPlanPhase,
    MasterPlanSubtask,
    MasterPlanTask,
    PlanDraft,
    PlanVersion,
    ReviewAuditEvent,
    ReviewResolution,
    ReviewStatus,
    RunStatus,
    TaskComplexity,
    TestType,
    ValidationLevel,
    ValidationResult,
    WaveStatus,
)


def _build(session: Session) -> MasterPlan:
    plan = MasterPlan(name="shop", v2_mode=True, atomization_config={"target_loc": 10})
    phase = MasterPlanPhase(phase_number=1, name="Core", masterplan=plan)
    milestone = MasterPlanMilestone(milestone_number=1, name="Models", phase=phase)
    task = MasterPlanTask(
        task_number=1,
        task_key="models",
        name="Models",
        complexity=TaskComplexity.HIGH,
        target_files=["shop/models.py"],
        depends_on=[],
        masterplan=plan,
        milestone=milestone,
    )
    MasterPlanSubtask(subtask_number=1, name="Item", task=task)
    graph = DependencyGraph(masterplan=plan, total_atoms=2, has_cycles=False)
    plan.graph = graph
    header = AtomicUnit(
        masterplan=plan,
        task=task,
        graph=graph,
        atom_key="shop/models.py::<module>#0",
        atom_number=1,
        name="<module>",
        kind="module_header",
        file_path="shop/models.py",
        language="python",
        code="import dataclasses\n",
        context_imports=["dataclasses"],
    )
    item = AtomicUnit(
        masterplan=plan,
        task=task,
        graph=graph,
        atom_key="shop/models.py::Item#0",
        atom_number=2,
        name="Item",
        kind="class_header",
        file_path="shop/models.py",
        language="python",
        status=AtomStatus.COMPLETED,
        confidence_score=0.42,
        needs_review=True,
    )
    AtomDependency(
        graph=graph,
        prerequisite=header,
        dependent=item,
        dependency_type=DependencyType.IMPORT,
        edge_metadata={"names": ["dataclasses"]},
    )
    ExecutionWave(graph=graph, masterplan=plan, wave_number=1, atom_ids=[header.atom_key])
    ExecutionWave(graph=graph, masterplan=plan, wave_number=2, status=WaveStatus.RUNNING)
    draft = PlanDraft(name="inventory", request="Track stock.", model="replay")
    version = PlanVersion(
        id=uuid.uuid4(), draft=draft, number=1, author="ana", plan={"name": "inventory"}
    )
    session.add(draft)
    run = GenerationRun(
        masterplan=plan,
        model="replay",
        simulated=True,
        status=RunStatus.RUNNING,
        plan_version_id=version.id,
    )
    AtomRetryHistory(atom=item, run=run, attempt_number=1, temperature=0.7, succeeded=False)
    AtomRetryHistory(atom=item, run=run, attempt_number=2, temperature=0.5, succeeded=True)
    ValidationResult(
        masterplan=plan,
        atom=item,
        run=run,
        level=ValidationLevel.ATOMIC,
        test_type=TestType.SYNTAX,
        passed=True,
    )
    ValidationResult(
        masterplan=plan, level=ValidationLevel.SYSTEM, test_type=TestType.ACCEPTANCE, passed=False
    )
    review = HumanReviewQueue(atom=item, masterplan=plan, confidence_score=0.42, priority=90)
    ReviewAuditEvent(review=review, actor="ana", action="claim", to_status="in_review")
    session.add(plan)
    return plan


def _count(session: Session, model: type[Base]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_every_table_holds_related_rows(migrated_engine: Engine) -> None:
    with Session(migrated_engine) as session:
        _build(session)
        session.commit()
    with Session(migrated_engine) as session:
        for table in Base.metadata.sorted_tables:
            rows = session.execute(select(func.count()).select_from(table)).scalar_one()
            assert rows > 0, f"{table.name} is empty"


def test_relationships_navigate_both_ways(migrated_engine: Engine) -> None:
    with Session(migrated_engine) as session:
        _build(session)
        session.commit()
    with Session(migrated_engine) as session:
        plan = session.scalars(select(MasterPlan)).one()
        assert plan.graph is not None and plan.graph in plan.graphs
        assert plan.graph.masterplan is plan
        phase = plan.phases[0]
        assert phase.masterplan is plan
        milestone = phase.milestones[0]
        assert milestone.phase is phase
        task = milestone.tasks[0]
        assert task.milestone is milestone and task.masterplan is plan and task in plan.tasks
        assert task.subtasks[0].task is task

        header, item = plan.atoms
        assert [atom.task for atom in task.atoms] == [task, task]
        assert header.graph is plan.graph and item in plan.graph.atoms
        edge = item.dependencies[0]
        assert edge.prerequisite is header and edge.dependent is item
        assert header.dependents == [edge] and plan.graph.edges == [edge]
        assert edge.dependency_type is DependencyType.IMPORT
        assert edge.edge_metadata == {"names": ["dataclasses"]}

        assert [wave.wave_number for wave in plan.graph.waves] == [1, 2]
        assert all(wave.masterplan is plan for wave in plan.waves)

        assert [attempt.attempt_number for attempt in item.retry_history] == [1, 2]
        run = plan.runs[0]
        assert run.masterplan is plan and set(run.attempts) == set(item.retry_history)
        assert item.validation_results[0].atom is item
        assert item.validation_results[0].run is run
        assert len(plan.validation_results) == 2 and run.validation_results[0].atom is item

        review = item.review
        assert review is not None and review.atom is item and review.masterplan is plan
        assert plan.reviews == [review]
        assert review.events[0].review is review
        assert review.status is ReviewStatus.PENDING and review.resolution is None


def test_values_round_trip_with_types(migrated_engine: Engine) -> None:
    with Session(migrated_engine) as session:
        _build(session)
        session.commit()
    with Session(migrated_engine) as session:
        plan = session.scalars(select(MasterPlan)).one()
        assert plan.v2_mode is True
        assert plan.atomization_config == {"target_loc": 10}
        assert plan.created_at.tzinfo is not None
        assert plan.created_at.utcoffset() == UTC.utcoffset(None)
        atom = session.scalars(select(AtomicUnit).where(AtomicUnit.kind == "class_header")).one()
        assert atom.status is AtomStatus.COMPLETED
        assert atom.needs_review is True and atom.confidence_score == pytest.approx(0.42)
        review = atom.review
        assert review is not None
        review.status = ReviewStatus.APPROVED
        review.resolution = ReviewResolution.APPROVE
        review.review_completed_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        session.commit()
    with Session(migrated_engine) as session:
        review = session.scalars(select(HumanReviewQueue)).one()
        assert review.resolution is ReviewResolution.APPROVE
        assert review.review_completed_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _nullable_json_columns() -> list[str]:
    return sorted(
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.nullable and isinstance(column.type, JSON)
    )


def test_none_in_a_nullable_json_column_is_sql_null(migrated_engine: Engine) -> None:
    """Python None must be stored as SQL NULL, not as the JSON text `null`: the two
    read back alike through the ORM, but `IS NULL` and a raw dump tell them apart."""
    assert _nullable_json_columns() == [
        "generation_runs.resume_state",
        "masterplan_milestones.tests",
        "masterplans.atomization_config",
        "masterplans.plan_document",
        "plan_drafts.discovery",
        "plan_versions.plan",
    ]
    # Every one of them is the shared JSON type that stores None as SQL NULL; the
    # masterplan columns below are written and read back to show it.
    assert all(
        column.type.none_as_null
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.nullable and isinstance(column.type, JSON)
    )
    with Session(migrated_engine) as session:
        plan = MasterPlan(name="nulls", plan_document=None, atomization_config=None)
        phase = MasterPlanPhase(phase_number=1, name="Core", masterplan=plan)
        MasterPlanMilestone(milestone_number=1, name="M", phase=phase, tests=None)
        session.add(plan)
        session.commit()
        plan.atomization_config = {"target_loc": 10}
        session.commit()
        plan.atomization_config = None  # set back, as a revert does
        session.commit()
    with migrated_engine.connect() as connection:
        counts = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM masterplans WHERE plan_document IS NULL"
                " AND atomization_config IS NULL),"
                " (SELECT count(*) FROM masterplan_milestones WHERE tests IS NULL)"
            )
        ).one()
    assert tuple(counts) == (1, 1)


def test_deleting_a_masterplan_cascades_to_everything(migrated_engine: Engine) -> None:
    with Session(migrated_engine) as session:
        _build(session)
        session.commit()
    with migrated_engine.begin() as connection:
        connection.execute(text("DELETE FROM masterplans"))
    # Drafts are not a masterplan's: a draft and its versions outlive the plans
    # and runs made from them (a run's version link is set to NULL instead).
    outlive = {"plan_drafts", "plan_versions"}
    with Session(migrated_engine) as session:
        for table in Base.metadata.sorted_tables:
            rows = session.execute(select(func.count()).select_from(table)).scalar_one()
            assert (rows == 1) if table.name in outlive else (rows == 0), (
                f"{table.name} kept {rows} rows"
            )


def test_deleting_an_atom_cascades_to_its_own_rows_only(migrated_engine: Engine) -> None:
    with Session(migrated_engine) as session:
        _build(session)
        session.commit()
    with migrated_engine.begin() as connection:
        connection.execute(text("DELETE FROM atomic_units WHERE kind = 'class_header'"))
    with Session(migrated_engine) as session:
        assert _count(session, AtomicUnit) == 1
        for model in (
            AtomDependency,
            AtomRetryHistory,
            HumanReviewQueue,
            ReviewAuditEvent,
        ):
            assert _count(session, model) == 0, model.__tablename__
        assert _count(session, ValidationResult) == 1  # the system-level result stays
        assert _count(session, MasterPlanTask) == 1 and _count(session, GenerationRun) == 1


def test_deleting_the_graph_unlinks_the_masterplan(migrated_engine: Engine) -> None:
    with Session(migrated_engine) as session:
        _build(session)
        session.commit()
    with migrated_engine.begin() as connection:
        connection.execute(text("DELETE FROM dependency_graphs"))
    with Session(migrated_engine) as session:
        plan = session.scalars(select(MasterPlan)).one()
        assert plan.graph_id is None
        assert _count(session, AtomDependency) == 0 and _count(session, ExecutionWave) == 0
        assert all(atom.graph_id is None for atom in plan.atoms) and len(plan.atoms) == 2


def _duplicate_edge(session: Session, plan: MasterPlan) -> None:
    header, item = plan.atoms
    assert plan.graph is not None
    session.add(
        AtomDependency(
            graph=plan.graph,
            prerequisite=header,
            dependent=item,
            dependency_type=DependencyType.TEMPORAL,
        )
    )


def _duplicate_wave(session: Session, plan: MasterPlan) -> None:
    assert plan.graph is not None
    session.add(ExecutionWave(graph=plan.graph, masterplan=plan, wave_number=1))


def _duplicate_review(session: Session, plan: MasterPlan) -> None:
    session.add(HumanReviewQueue(atom=plan.atoms[1], masterplan=plan, confidence_score=0.1))


def _duplicate_atom_key(session: Session, plan: MasterPlan) -> None:
    session.add(
        AtomicUnit(
            masterplan=plan,
            atom_key=plan.atoms[0].atom_key,
            atom_number=3,
            name="again",
            kind="statement",
            file_path="shop/models.py",
            language="python",
        )
    )


def _duplicate_attempt(session: Session, plan: MasterPlan) -> None:
    session.add(AtomRetryHistory(atom=plan.atoms[1], attempt_number=1, temperature=0.3))


def _self_edge(session: Session, plan: MasterPlan) -> None:
    assert plan.graph is not None
    atom = plan.atoms[0]
    session.add(
        AtomDependency(
            graph=plan.graph, prerequisite=atom, dependent=atom, dependency_type=DependencyType.TYPE
        )
    )


@pytest.mark.parametrize(
    "violation",
    [
        _duplicate_edge,
        _duplicate_wave,
        _duplicate_review,
        _duplicate_atom_key,
        _duplicate_attempt,
        _self_edge,
    ],
)
def test_constraints_reject_duplicates(migrated_engine: Engine, violation: object) -> None:
    with Session(migrated_engine) as session:
        _build(session)
        session.commit()
    with Session(migrated_engine) as session:
        plan = session.scalars(select(MasterPlan)).one()
        assert callable(violation)
        violation(session, plan)
        with pytest.raises(IntegrityError):
            session.commit()


def test_enum_columns_reject_unknown_values(migrated_engine: Engine) -> None:
    with Session(migrated_engine) as session:
        _build(session)
        session.commit()
    with pytest.raises(IntegrityError), migrated_engine.begin() as connection:
        connection.execute(text("UPDATE atomic_units SET status = 'exploded'"))
    with Session(migrated_engine) as session:
        atom = session.scalars(select(AtomicUnit)).first()
        assert atom is not None
        atom.status = "exploded"  # type: ignore[assignment]
        with pytest.raises(StatementError):
            session.commit()


def test_naive_timestamps_are_refused(migrated_engine: Engine) -> None:
    with Session(migrated_engine) as session:
        session.add(MasterPlan(name="naive", created_at=datetime(2026, 1, 1)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.commit()
