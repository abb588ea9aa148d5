"""An atom: a ~10-line span of one file, MGE's unit of generation, validation,
review and cost. Its byte span makes the atoms of a file a partition of it."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mge.db.base import Base, Timestamps, UUIDPrimaryKey, str_enum

if TYPE_CHECKING:
    from mge.db.models.atom_retry import AtomRetryHistory
    from mge.db.models.dependency_graph import AtomDependency, DependencyGraph
    from mge.db.models.human_review import HumanReviewQueue
    from mge.db.models.masterplan import MasterPlan, MasterPlanTask
    from mge.db.models.validation_result import ValidationResult


class AtomStatus(enum.StrEnum):
    PENDING = "pending"
    READY = "ready"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"


class AtomicUnit(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "atomic_units"
    __table_args__ = (
        UniqueConstraint("masterplan_id", "atom_key"),
        Index("ix_atomic_units_masterplan_status", "masterplan_id", "status"),
        Index("ix_atomic_units_masterplan_wave", "masterplan_id", "wave_number"),
    )

    masterplan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplans.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("masterplan_tasks.id", ondelete="CASCADE"), index=True
    )
    graph_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dependency_graphs.id", ondelete="SET NULL"), index=True
    )
    atom_key: Mapped[str] = mapped_column(String(500))
    atom_number: Mapped[int]
    name: Mapped[str] = mapped_column(String(300))
    qualname: Mapped[str | None] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)

    file_path: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(32))
    start_byte: Mapped[int | None]
    end_byte: Mapped[int | None]
    start_line: Mapped[int | None]
    end_line: Mapped[int | None]
    code: Mapped[str | None] = mapped_column(Text)
    reference_code: Mapped[str | None] = mapped_column(Text)

    loc: Mapped[int] = mapped_column(default=0)
    complexity: Mapped[float] = mapped_column(default=0.0)
    status: Mapped[AtomStatus] = mapped_column(
        str_enum(AtomStatus, "atom_status"), default=AtomStatus.PENDING, index=True
    )

    signature: Mapped[str | None] = mapped_column(Text)
    context_imports: Mapped[list[Any]] = mapped_column(default=list)
    context_types: Mapped[list[Any]] = mapped_column(default=list)
    context_preconditions: Mapped[list[Any]] = mapped_column(default=list)
    context_postconditions: Mapped[list[Any]] = mapped_column(default=list)
    context_callees: Mapped[list[Any]] = mapped_column(default=list)
    context_completeness: Mapped[float] = mapped_column(default=0.0)

    atomicity_score: Mapped[float] = mapped_column(default=0.0)
    atomicity_violations: Mapped[list[Any]] = mapped_column(default=list)
    is_atomic: Mapped[bool] = mapped_column(default=False)

    confidence_score: Mapped[float | None] = mapped_column(index=True)
    needs_review: Mapped[bool] = mapped_column(default=False, index=True)
    wave_number: Mapped[int | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    last_error: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    generated_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]

    masterplan: Mapped[MasterPlan] = relationship(back_populates="atoms")
    task: Mapped[MasterPlanTask | None] = relationship(back_populates="atoms")
    graph: Mapped[DependencyGraph | None] = relationship(back_populates="atoms")
    dependencies: Mapped[list[AtomDependency]] = relationship(
        back_populates="dependent",
        foreign_keys="AtomDependency.to_atom_id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    dependents: Mapped[list[AtomDependency]] = relationship(
        back_populates="prerequisite",
        foreign_keys="AtomDependency.from_atom_id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    validation_results: Mapped[list[ValidationResult]] = relationship(
        back_populates="atom", cascade="all, delete-orphan", passive_deletes=True
    )
    retry_history: Mapped[list[AtomRetryHistory]] = relationship(
        back_populates="atom",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="AtomRetryHistory.attempt_number",
    )
    review: Mapped[HumanReviewQueue | None] = relationship(
        back_populates="atom", cascade="all, delete-orphan", passive_deletes=True
    )
