"""The human review queue: atoms whose confidence is too low to ship unseen,
and the audit trail of everything a reviewer did to them."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mge.db.base import Base, Timestamps, UUIDPrimaryKey, str_enum, utcnow

if TYPE_CHECKING:
    from mge.db.models.atomic_unit import AtomicUnit
    from mge.db.models.masterplan import MasterPlan


class ReviewStatus(enum.StrEnum):
    PENDING = "pending"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    EDITED = "edited"
    REGENERATED = "regenerated"


class ReviewResolution(enum.StrEnum):
    APPROVE = "approve"
    EDIT = "edit"
    REGENERATE = "regenerate"
    SKIP = "skip"


class HumanReviewQueue(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "human_review_queue"
    __table_args__ = (Index("ix_human_review_queue_status_priority", "status", "priority"),)

    atom_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("atomic_units.id", ondelete="CASCADE"), unique=True
    )
    masterplan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("masterplans.id", ondelete="CASCADE"), index=True
    )
    confidence_score: Mapped[float] = mapped_column(index=True)
    priority: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ReviewStatus] = mapped_column(
        str_enum(ReviewStatus, "review_status"), default=ReviewStatus.PENDING
    )
    resolution: Mapped[ReviewResolution | None] = mapped_column(
        str_enum(ReviewResolution, "review_resolution")
    )
    ai_suggestions: Mapped[list[Any]] = mapped_column(default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    assigned_to: Mapped[str | None] = mapped_column(String(120), index=True)
    reviewer: Mapped[str | None] = mapped_column(String(120))
    original_code: Mapped[str | None] = mapped_column(Text)
    edited_code: Mapped[str | None] = mapped_column(Text)
    review_notes: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None]
    review_started_at: Mapped[datetime | None]
    review_completed_at: Mapped[datetime | None]
    review_time_seconds: Mapped[float | None]

    atom: Mapped[AtomicUnit] = relationship(back_populates="review")
    masterplan: Mapped[MasterPlan] = relationship(back_populates="reviews")
    events: Mapped[list[ReviewAuditEvent]] = relationship(
        back_populates="review",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ReviewAuditEvent.created_at",
    )


class ReviewAuditEvent(UUIDPrimaryKey, Base):
    __tablename__ = "review_audit_events"

    review_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("human_review_queue.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    review: Mapped[HumanReviewQueue] = relationship(back_populates="events")
