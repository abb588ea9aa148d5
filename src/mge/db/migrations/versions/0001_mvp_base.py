"""MVP base: masterplans, phases, milestones, tasks and subtasks.

Revision ID: 0001
Revises: None
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "masterplans",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "ready",
                "in_progress",
                "completed",
                "failed",
                name="masterplan_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("language", sa.String(length=32), nullable=True),
        sa.Column("plan_document", JSON_TYPE, nullable=True),
        sa.Column("source_path", sa.Text(), nullable=True),
        sa.Column("reference_path", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_masterplans")),
    )
    with op.batch_alter_table("masterplans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_masterplans_status"), ["status"], unique=False)

    op.create_table(
        "masterplan_phases",
        sa.Column("masterplan_id", sa.Uuid(), nullable=False),
        sa.Column("phase_number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["masterplan_id"],
            ["masterplans.id"],
            name=op.f("fk_masterplan_phases_masterplan_id_masterplans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_masterplan_phases")),
        sa.UniqueConstraint(
            "masterplan_id",
            "phase_number",
            name=op.f("uq_masterplan_phases_masterplan_id_phase_number"),
        ),
    )
    with op.batch_alter_table("masterplan_phases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_masterplan_phases_masterplan_id"), ["masterplan_id"], unique=False
        )

    op.create_table(
        "masterplan_milestones",
        sa.Column("phase_id", sa.Uuid(), nullable=False),
        sa.Column("milestone_number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tests", JSON_TYPE, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["masterplan_phases.id"],
            name=op.f("fk_masterplan_milestones_phase_id_masterplan_phases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_masterplan_milestones")),
        sa.UniqueConstraint(
            "phase_id",
            "milestone_number",
            name=op.f("uq_masterplan_milestones_phase_id_milestone_number"),
        ),
    )
    with op.batch_alter_table("masterplan_milestones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_masterplan_milestones_phase_id"), ["phase_id"], unique=False
        )

    op.create_table(
        "masterplan_tasks",
        sa.Column("masterplan_id", sa.Uuid(), nullable=False),
        sa.Column("milestone_id", sa.Uuid(), nullable=False),
        sa.Column("task_number", sa.Integer(), nullable=False),
        sa.Column("task_key", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "complexity",
            sa.Enum(
                "low",
                "medium",
                "high",
                "critical",
                name="task_complexity",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "in_progress",
                "completed",
                "failed",
                "blocked",
                "skipped",
                name="task_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("target_files", JSON_TYPE, nullable=False),
        sa.Column("depends_on", JSON_TYPE, nullable=False),
        sa.Column("tests", JSON_TYPE, nullable=False),
        sa.Column("generated_code", sa.Text(), nullable=True),
        sa.Column("llm_response", sa.Text(), nullable=True),
        sa.Column("llm_model", sa.String(length=120), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Double(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["masterplan_id"],
            ["masterplans.id"],
            name=op.f("fk_masterplan_tasks_masterplan_id_masterplans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["masterplan_milestones.id"],
            name=op.f("fk_masterplan_tasks_milestone_id_masterplan_milestones"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_masterplan_tasks")),
        sa.UniqueConstraint(
            "masterplan_id", "task_key", name=op.f("uq_masterplan_tasks_masterplan_id_task_key")
        ),
    )
    with op.batch_alter_table("masterplan_tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_masterplan_tasks_masterplan_id"), ["masterplan_id"], unique=False
        )
        batch_op.create_index(
            "ix_masterplan_tasks_masterplan_status", ["masterplan_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_masterplan_tasks_milestone_id"), ["milestone_id"], unique=False
        )

    op.create_table(
        "masterplan_subtasks",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("subtask_number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "in_progress",
                "completed",
                "failed",
                "blocked",
                "skipped",
                name="subtask_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["masterplan_tasks.id"],
            name=op.f("fk_masterplan_subtasks_task_id_masterplan_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_masterplan_subtasks")),
        sa.UniqueConstraint(
            "task_id", "subtask_number", name=op.f("uq_masterplan_subtasks_task_id_subtask_number")
        ),
    )
    with op.batch_alter_table("masterplan_subtasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_masterplan_subtasks_task_id"), ["task_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("masterplan_subtasks")
    op.drop_table("masterplan_tasks")
    op.drop_table("masterplan_milestones")
    op.drop_table("masterplan_phases")
    op.drop_table("masterplans")
