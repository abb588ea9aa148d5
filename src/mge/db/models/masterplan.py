"""The MVP planning hierarchy (masterplan → phase → milestone → task → subtask),
plus the columns MGE V2 adds to `masterplans`.

Tasks keep everything the MVP stored about a generation (code, raw LLM answer,
tokens, cost) because the tasks→atoms migration must carry all of it over.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mge.db.base import Base, Timestamps, UUIDPrimaryKey, str_enum

if TYPE_CHECKING:
    from mge.db.models.atomic_unit import AtomicUnit
    from mge.db.models.dependency_graph import DependencyGraph
    from mge.db.models.execution_wave import ExecutionWave
    from mge.db.models.human_review import HumanReviewQueue
    from mge.db.models.run import GenerationRun
    from mge.db.models.validation_result import ValidationResult


class MasterPlanStatus(enum.StrEnum):
    DRAFT = "draft"
    READY = "ready"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


class TaskComplexity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class TaskStatus(enum.StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"


class MasterPlan(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "masterplans"

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[MasterPlanStatus] = mapped_column(
        str_enum(MasterPlanStatus, "masterplan_status"), default=MasterPlanStatus.DRAFT, index=True
    )
    language: Mapped[str | None] = mapped_column(String(32))
    plan_document: Mapped[dict[str, Any] | None]
    source_path: Mapped[str | None] = mapped_column(Text)
    reference_path: Mapped[str | None] = mapped_column(Text)

    # MGE V2 (revision 0002)
    v2_mode: Mapped[bool] = mapped_column(default=False, server_default=false())
    atomization_config: Mapped[dict[str, Any] | None]
    graph_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dependency_graphs.id", ondelete="SET NULL", use_alter=True), index=True
    )
    total_atoms: Mapped[int | None]
    total_waves: Mapped[int | None]
    max_parallelism: Mapped[int | None]
    precision_percent: Mapped[float | None]

    phases: Mapped[list[MasterPlanPhase]] = relationship(
        back_populates="masterplan",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MasterPlanPhase.phase_number",
    )
    tasks: Mapped[list[MasterPlanTask]] = relationship(
        back_populates="masterplan",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MasterPlanTask.task_number",
        overlaps="milestone,tasks",
    )
    graph: Mapped[DependencyGraph | None] = relationship(foreign_keys=[graph_id], post_update=True)
    graphs: Mapped[list[DependencyGraph]] = relationship(
        back_populates="masterplan",
        foreign_keys="DependencyGraph.masterplan_id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    atoms: Mapped[list[AtomicUnit]] = relationship(
        back_populates="masterplan",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="AtomicUnit.atom_number",
    )
    waves: Mapped[list[ExecutionWave]] = relationship(
        back_populates="masterplan",
        cascade="all, delete-orphan",
        passive_deletes=True,
        overlaps="waves",
    )
    validation_results: Mapped[list[ValidationResult]] = relationship(
        back_populates="masterplan", cascade="all, delete-orphan", passive_deletes=True
    )
    reviews: Mapped[list[HumanReviewQueue]] = relationship(
        back_populates="masterplan", cascade="all, delete-orphan", passive_deletes=True
    )
    runs: Mapped[list[GenerationRun]] = relationship(
        back_populates="masterplan", cascade="all, delete-orphan", passive_deletes=True
    )


class MasterPlanPhase(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "masterplan_phases"
    __table_args__ = (UniqueConstraint("masterplan_id", "phase_number"),)

    masterplan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplans.id", ondelete="CASCADE"), index=True
    )
    phase_number: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)

    masterplan: Mapped[MasterPlan] = relationship(back_populates="phases")
    milestones: Mapped[list[MasterPlanMilestone]] = relationship(
        back_populates="phase",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MasterPlanMilestone.milestone_number",
    )


class MasterPlanMilestone(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "masterplan_milestones"
    __table_args__ = (UniqueConstraint("phase_id", "milestone_number"),)

    phase_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplan_phases.id", ondelete="CASCADE"), index=True
    )
    milestone_number: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    tests: Mapped[list[Any] | None]

    phase: Mapped[MasterPlanPhase] = relationship(back_populates="milestones")
    tasks: Mapped[list[MasterPlanTask]] = relationship(
        back_populates="milestone",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MasterPlanTask.task_number",
        overlaps="masterplan,tasks",
    )


class MasterPlanTask(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "masterplan_tasks"
    __table_args__ = (
        UniqueConstraint("masterplan_id", "task_key"),
        Index("ix_masterplan_tasks_masterplan_status", "masterplan_id", "status"),
    )

    masterplan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplans.id", ondelete="CASCADE"), index=True
    )
    milestone_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplan_milestones.id", ondelete="CASCADE"), index=True
    )
    task_number: Mapped[int]
    task_key: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    complexity: Mapped[TaskComplexity] = mapped_column(
        str_enum(TaskComplexity, "task_complexity"), default=TaskComplexity.MEDIUM
    )
    status: Mapped[TaskStatus] = mapped_column(
        str_enum(TaskStatus, "task_status"), default=TaskStatus.PENDING
    )
    target_files: Mapped[list[Any]] = mapped_column(default=list)
    depends_on: Mapped[list[Any]] = mapped_column(default=list)
    tests: Mapped[list[Any]] = mapped_column(default=list)
    generated_code: Mapped[str | None] = mapped_column(Text)
    llm_response: Mapped[str | None] = mapped_column(Text)
    llm_model: Mapped[str | None] = mapped_column(String(120))
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)
    cached_tokens: Mapped[int] = mapped_column(default=0)
    cost_usd: Mapped[float] = mapped_column(default=0.0)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]

    masterplan: Mapped[MasterPlan] = relationship(back_populates="tasks", overlaps="tasks")
    milestone: Mapped[MasterPlanMilestone] = relationship(back_populates="tasks", overlaps="tasks")
    subtasks: Mapped[list[MasterPlanSubtask]] = relationship(
        back_populates="task",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MasterPlanSubtask.subtask_number",
    )
    atoms: Mapped[list[AtomicUnit]] = relationship(
        back_populates="task", passive_deletes=True, order_by="AtomicUnit.atom_number"
    )


class MasterPlanSubtask(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "masterplan_subtasks"
    __table_args__ = (UniqueConstraint("task_id", "subtask_number"),)

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplan_tasks.id", ondelete="CASCADE"), index=True
    )
    subtask_number: Mapped[int]
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[TaskStatus] = mapped_column(
        str_enum(TaskStatus, "subtask_status"), default=TaskStatus.PENDING
    )
    code: Mapped[str | None] = mapped_column(Text)

    task: Mapped[MasterPlanTask] = relationship(back_populates="subtasks")
