"""The dependency graph of a masterplan's atoms and its typed edges.

Direction: an edge runs prerequisite → dependent (`from_atom_id` must be
generated before `to_atom_id`), so a topological order of the stored edges is an
execution order and waves come out forwards.
"""

from __future__ import annotations

import enum
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mge.db.base import Base, Timestamps, UUIDPrimaryKey, str_enum

if TYPE_CHECKING:
    from mge.db.models.atomic_unit import AtomicUnit
    from mge.db.models.execution_wave import ExecutionWave
    from mge.db.models.masterplan import MasterPlan


class DependencyType(enum.StrEnum):
    IMPORT = "import"
    DATA_FLOW = "data_flow"
    FUNCTION_CALL = "function_call"
    TYPE = "type"
    TEMPORAL = "temporal"


class DependencyGraph(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "dependency_graphs"

    masterplan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplans.id", ondelete="CASCADE"), index=True
    )
    total_atoms: Mapped[int] = mapped_column(default=0)
    total_dependencies: Mapped[int] = mapped_column(default=0)
    has_cycles: Mapped[bool] = mapped_column(default=False)
    cycle_info: Mapped[list[Any]] = mapped_column(default=list)
    total_waves: Mapped[int] = mapped_column(default=0)
    max_parallelism: Mapped[int] = mapped_column(default=0)
    critical_path: Mapped[list[Any]] = mapped_column(default=list)
    critical_path_length: Mapped[int] = mapped_column(default=0)
    critical_path_loc: Mapped[int] = mapped_column(default=0)
    graph_data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    masterplan: Mapped[MasterPlan] = relationship(
        back_populates="graphs", foreign_keys=[masterplan_id]
    )
    atoms: Mapped[list[AtomicUnit]] = relationship(back_populates="graph")
    edges: Mapped[list[AtomDependency]] = relationship(
        back_populates="graph", cascade="all, delete-orphan", passive_deletes=True
    )
    waves: Mapped[list[ExecutionWave]] = relationship(
        back_populates="graph",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ExecutionWave.wave_number",
        overlaps="waves",
    )


class AtomDependency(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "atom_dependencies"
    __table_args__ = (
        UniqueConstraint("from_atom_id", "to_atom_id"),
        CheckConstraint("from_atom_id <> to_atom_id", name="no_self_edge"),
    )

    graph_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("dependency_graphs.id", ondelete="CASCADE"), index=True
    )
    from_atom_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("atomic_units.id", ondelete="CASCADE"), index=True
    )
    to_atom_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("atomic_units.id", ondelete="CASCADE"), index=True
    )
    dependency_type: Mapped[DependencyType] = mapped_column(
        str_enum(DependencyType, "dependency_type")
    )
    strength: Mapped[float] = mapped_column(default=1.0)
    is_broken: Mapped[bool] = mapped_column(default=False)
    edge_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)

    graph: Mapped[DependencyGraph] = relationship(back_populates="edges")
    prerequisite: Mapped[AtomicUnit] = relationship(
        back_populates="dependents", foreign_keys=[from_atom_id]
    )
    dependent: Mapped[AtomicUnit] = relationship(
        back_populates="dependencies", foreign_keys=[to_atom_id]
    )
