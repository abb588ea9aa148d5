"""Plan drafts (issue 21): plans drafted from a request, their versions, and the
version a run executed.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "plan_drafts",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("discovery", JSON_TYPE, nullable=True),
        sa.Column("tests", JSON_TYPE, nullable=False),
        sa.Column("cost", JSON_TYPE, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("plan_path", sa.Text(), nullable=True),
        sa.Column("tests_dir", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_drafts")),
    )
    op.create_index(op.f("ix_plan_drafts_status"), "plan_drafts", ["status"], unique=False)
    op.create_table(
        "plan_versions",
        sa.Column("draft_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("plan", JSON_TYPE, nullable=True),
        sa.Column("plan_hash", sa.String(length=64), nullable=True),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["plan_drafts.id"],
            name=op.f("fk_plan_versions_draft_id_plan_drafts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_versions")),
        sa.UniqueConstraint("draft_id", "number", name=op.f("uq_plan_versions_draft_id_number")),
    )
    op.create_index(op.f("ix_plan_versions_draft_id"), "plan_versions", ["draft_id"])
    op.create_index(op.f("ix_plan_versions_plan_hash"), "plan_versions", ["plan_hash"])
    with op.batch_alter_table("generation_runs") as batch_op:
        batch_op.add_column(sa.Column("plan_version_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_generation_runs_plan_version_id"), ["plan_version_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_generation_runs_plan_version_id_plan_versions"),
            "plan_versions",
            ["plan_version_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("generation_runs") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_generation_runs_plan_version_id_plan_versions"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_generation_runs_plan_version_id"))
        batch_op.drop_column("plan_version_id")
    op.drop_table("plan_versions")
    op.drop_table("plan_drafts")
