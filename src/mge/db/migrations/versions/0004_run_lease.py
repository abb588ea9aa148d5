"""One owner per run, and what a resumed run needs to decide as an uninterrupted one.

- `lease_*`: the process executing the run (owner id, host, pid), until when its
  lease holds, and a generation number bumped at every take-over, which fences a
  process that lost the run out of every later write.
- `resume_state`: blame rounds in progress and the model's prompt-cache state, so
  a run killed during hierarchical validation resumes with the same decisions.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)


def upgrade() -> None:
    with op.batch_alter_table("generation_runs") as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_host", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("lease_pid", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("lease_generation", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("resume_state", JSON_TYPE, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("generation_runs") as batch_op:
        batch_op.drop_column("resume_state")
        batch_op.drop_column("lease_generation")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("lease_pid")
        batch_op.drop_column("lease_host")
        batch_op.drop_column("lease_owner")
