"""A generation run: one execution of a masterplan, with its settings and totals.

The run row is the resume point: its status and settings say how to continue,
and its totals are recomputed from attempts so a killed run reports truthfully.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mge.db.base import Base, Timestamps, UUIDPrimaryKey, str_enum

if TYPE_CHECKING:
    from mge.db.models.atom_retry import AtomRetryHistory
    from mge.db.models.masterplan import MasterPlan
    from mge.db.models.validation_result import ValidationResult


class RunStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    BUDGET_EXHAUSTED = "budget_exhausted"


class GenerationRun(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "generation_runs"

    masterplan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplans.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[RunStatus] = mapped_column(
        str_enum(RunStatus, "run_status"), default=RunStatus.PENDING, index=True
    )
    model: Mapped[str] = mapped_column(String(120))
    simulated: Mapped[bool] = mapped_column(default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    plan_path: Mapped[str | None] = mapped_column(Text)
    out_dir: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    duration_seconds: Mapped[float] = mapped_column(default=0.0)
    atoms_total: Mapped[int] = mapped_column(default=0)
    atoms_completed: Mapped[int] = mapped_column(default=0)
    atoms_failed: Mapped[int] = mapped_column(default=0)
    attempts_total: Mapped[int] = mapped_column(default=0)
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)
    cached_tokens: Mapped[int] = mapped_column(default=0)
    cost_usd: Mapped[float] = mapped_column(default=0.0)
    precision_percent: Mapped[float | None]
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    # The version of a drafted plan (`mge plan new`) this run executed, if any.
    plan_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("plan_versions.id", ondelete="SET NULL"), index=True
    )
    # The lease (see `mge.execute._lease`): who executes the run and until when;
    # the generation is bumped at each take-over and fences the previous owner.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_host: Mapped[str | None] = mapped_column(String(255))
    lease_pid: Mapped[int | None]
    lease_expires_at: Mapped[datetime | None]
    lease_generation: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # What a resume needs to decide as the uninterrupted run would: blame rounds
    # in progress and the model's prompt-cache state.
    resume_state: Mapped[dict[str, Any] | None]

    masterplan: Mapped[MasterPlan] = relationship(back_populates="runs")
    attempts: Mapped[list[AtomRetryHistory]] = relationship(
        back_populates="run", passive_deletes=True
    )
    validation_results: Mapped[list[ValidationResult]] = relationship(
        back_populates="run", passive_deletes=True
    )
