"""One generation attempt of an atom: what was asked, what came back, what failed.

Every attempt is stored, the first included, so cost and first-try success are
computed from rows, and a retry's feedback can always be traced to its cause.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mge.db.base import Base, SequentialPrimaryKey, Timestamps

if TYPE_CHECKING:
    from mge.db.models.atomic_unit import AtomicUnit
    from mge.db.models.run import GenerationRun


class AtomRetryHistory(SequentialPrimaryKey, Timestamps, Base):
    __tablename__ = "atom_retry_history"
    __table_args__ = (UniqueConstraint("atom_id", "attempt_number"),)

    atom_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("atomic_units.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("generation_runs.id", ondelete="CASCADE"), index=True
    )
    attempt_number: Mapped[int]
    temperature: Mapped[float]
    model: Mapped[str | None] = mapped_column(String(120))
    trigger: Mapped[str] = mapped_column(String(32), default="generation")
    prompt: Mapped[str | None] = mapped_column(Text)
    generated_code: Mapped[str | None] = mapped_column(Text)
    succeeded: Mapped[bool] = mapped_column(default=False)
    error_type: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_analysis: Mapped[dict[str, Any]] = mapped_column(default=dict)
    feedback: Mapped[str | None] = mapped_column(Text)
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)
    cached_tokens: Mapped[int] = mapped_column(default=0)
    cost_usd: Mapped[float] = mapped_column(default=0.0)
    duration_seconds: Mapped[float] = mapped_column(default=0.0)

    atom: Mapped[AtomicUnit] = relationship(back_populates="retry_history")
    run: Mapped[GenerationRun | None] = relationship(back_populates="attempts")
