"""Plans drafted from a request (`mge plan new`), and every version of them.

A draft holds what the three planning stages produced (the discovery document, the
tests written first, what each stage cost) and its status; its plan lives in its
versions, one row per change with who made it, when, and the diff from the version
before. A run that executes a drafted plan records the version it executed.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mge.db.base import Base, Timestamps, UUIDPrimaryKey, utcnow


class DraftStatus(enum.StrEnum):
    DRAFT = "draft"  # complete, awaiting review
    INCOMPLETE = "incomplete"  # a stage failed; what it made so far is kept
    APPROVED = "approved"
    REJECTED = "rejected"


class PlanDraft(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "plan_drafts"

    name: Mapped[str] = mapped_column(String(200))
    request: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=DraftStatus.DRAFT.value, index=True)
    model: Mapped[str] = mapped_column(String(120))
    simulated: Mapped[bool] = mapped_column(default=False)
    discovery: Mapped[dict[str, Any] | None]
    tests: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cost: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    plan_path: Mapped[str | None] = mapped_column(Text)
    tests_dir: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decision_note: Mapped[str | None] = mapped_column(Text)

    versions: Mapped[list[PlanVersion]] = relationship(
        back_populates="draft",
        order_by="PlanVersion.number",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class PlanVersion(UUIDPrimaryKey, Base):
    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("draft_id", "number"),)

    draft_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("plan_drafts.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[dict[str, Any] | None]
    plan_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    diff: Mapped[str] = mapped_column(Text, default="")

    draft: Mapped[PlanDraft] = relationship(back_populates="versions")
