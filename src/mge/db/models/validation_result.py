"""One check of generated code at one of the four levels.

Atomic results belong to an atom; module, component and system results may
name a scope (a file, a milestone, the project) instead, so `atom_id` is optional.
"""

from __future__ import annotations

import enum
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mge.db.base import Base, SequentialPrimaryKey, Timestamps, str_enum

if TYPE_CHECKING:
    from mge.db.models.atomic_unit import AtomicUnit
    from mge.db.models.masterplan import MasterPlan
    from mge.db.models.run import GenerationRun


class ValidationLevel(enum.StrEnum):
    ATOMIC = "atomic"
    MODULE = "module"
    COMPONENT = "component"
    SYSTEM = "system"


class TestType(enum.StrEnum):
    __test__ = False  # a seed name, not a pytest test class

    SYNTAX = "syntax"
    TYPES = "types"
    UNIT = "unit"
    INTEGRATION = "integration"
    E2E = "e2e"
    ACCEPTANCE = "acceptance"


class ValidationResult(SequentialPrimaryKey, Timestamps, Base):
    __tablename__ = "validation_results"
    __table_args__ = (
        Index("ix_validation_results_atom_level", "atom_id", "level"),
        Index("ix_validation_results_masterplan_level", "masterplan_id", "level"),
    )

    masterplan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplans.id", ondelete="CASCADE")
    )
    atom_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("atomic_units.id", ondelete="CASCADE")
    )
    run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("generation_runs.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[ValidationLevel] = mapped_column(str_enum(ValidationLevel, "validation_level"))
    test_type: Mapped[TestType] = mapped_column(str_enum(TestType, "test_type"))
    check_name: Mapped[str | None] = mapped_column(String(120))
    scope: Mapped[str | None] = mapped_column(Text)
    attempt_number: Mapped[int | None]
    passed: Mapped[bool]
    score: Mapped[float | None]
    output: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    duration_seconds: Mapped[float] = mapped_column(default=0.0)

    masterplan: Mapped[MasterPlan] = relationship(back_populates="validation_results")
    atom: Mapped[AtomicUnit | None] = relationship(back_populates="validation_results")
    run: Mapped[GenerationRun | None] = relationship(back_populates="validation_results")
