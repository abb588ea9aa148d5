"""A wave: one topological generation of the graph, atoms that may run at once."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mge.db.base import Base, Timestamps, UUIDPrimaryKey, str_enum

if TYPE_CHECKING:
    from mge.db.models.dependency_graph import DependencyGraph
    from mge.db.models.masterplan import MasterPlan


class WaveStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    PARTIAL = "partial"


class ExecutionWave(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "execution_waves"
    __table_args__ = (UniqueConstraint("graph_id", "wave_number"),)

    graph_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("dependency_graphs.id", ondelete="CASCADE"), index=True
    )
    masterplan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplans.id", ondelete="CASCADE"), index=True
    )
    wave_number: Mapped[int]
    status: Mapped[WaveStatus] = mapped_column(
        str_enum(WaveStatus, "wave_status"), default=WaveStatus.PENDING, index=True
    )
    atom_ids: Mapped[list[Any]] = mapped_column(default=list)
    total_atoms: Mapped[int] = mapped_column(default=0)
    atoms_completed: Mapped[int] = mapped_column(default=0)
    atoms_failed: Mapped[int] = mapped_column(default=0)
    estimated_loc: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    duration_seconds: Mapped[float | None]

    graph: Mapped[DependencyGraph] = relationship(back_populates="waves", overlaps="waves")
    masterplan: Mapped[MasterPlan] = relationship(back_populates="waves", overlaps="waves")

    @property
    def progress(self) -> float:
        """Share of the wave's atoms that have finished, either way."""
        if self.total_atoms == 0:
            return 1.0
        return (self.atoms_completed + self.atoms_failed) / self.total_atoms
