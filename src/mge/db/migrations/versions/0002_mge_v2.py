"""MGE V2: the seven V2 tables, the new masterplans columns, runs and review audit.

The masterplans columns are added with batch operations so SQLite (which cannot
add a foreign key to an existing table) rebuilds the table and keeps its rows.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "dependency_graphs",
        sa.Column("masterplan_id", sa.Uuid(), nullable=False),
        sa.Column("total_atoms", sa.Integer(), nullable=False),
        sa.Column("total_dependencies", sa.Integer(), nullable=False),
        sa.Column("has_cycles", sa.Boolean(), nullable=False),
        sa.Column("cycle_info", JSON_TYPE, nullable=False),
        sa.Column("total_waves", sa.Integer(), nullable=False),
        sa.Column("max_parallelism", sa.Integer(), nullable=False),
        sa.Column("critical_path", JSON_TYPE, nullable=False),
        sa.Column("critical_path_length", sa.Integer(), nullable=False),
        sa.Column("critical_path_loc", sa.Integer(), nullable=False),
        sa.Column("graph_data", JSON_TYPE, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["masterplan_id"],
            ["masterplans.id"],
            name=op.f("fk_dependency_graphs_masterplan_id_masterplans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dependency_graphs")),
    )
    with op.batch_alter_table("dependency_graphs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dependency_graphs_masterplan_id"), ["masterplan_id"], unique=False
        )

    op.create_table(
        "generation_runs",
        sa.Column("masterplan_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "running",
                "completed",
                "failed",
                "cancelled",
                "interrupted",
                "budget_exhausted",
                name="run_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("settings", JSON_TYPE, nullable=False),
        sa.Column("plan_path", sa.Text(), nullable=True),
        sa.Column("out_dir", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Double(), nullable=False),
        sa.Column("atoms_total", sa.Integer(), nullable=False),
        sa.Column("atoms_completed", sa.Integer(), nullable=False),
        sa.Column("atoms_failed", sa.Integer(), nullable=False),
        sa.Column("attempts_total", sa.Integer(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Double(), nullable=False),
        sa.Column("precision_percent", sa.Double(), nullable=True),
        sa.Column("report", JSON_TYPE, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["masterplan_id"],
            ["masterplans.id"],
            name=op.f("fk_generation_runs_masterplan_id_masterplans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generation_runs")),
    )
    with op.batch_alter_table("generation_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_generation_runs_masterplan_id"), ["masterplan_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_generation_runs_status"), ["status"], unique=False)

    op.create_table(
        "execution_waves",
        sa.Column("graph_id", sa.Uuid(), nullable=False),
        sa.Column("masterplan_id", sa.Uuid(), nullable=False),
        sa.Column("wave_number", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "running",
                "completed",
                "failed",
                "partial",
                name="wave_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("atom_ids", JSON_TYPE, nullable=False),
        sa.Column("total_atoms", sa.Integer(), nullable=False),
        sa.Column("atoms_completed", sa.Integer(), nullable=False),
        sa.Column("atoms_failed", sa.Integer(), nullable=False),
        sa.Column("estimated_loc", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Double(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["graph_id"],
            ["dependency_graphs.id"],
            name=op.f("fk_execution_waves_graph_id_dependency_graphs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["masterplan_id"],
            ["masterplans.id"],
            name=op.f("fk_execution_waves_masterplan_id_masterplans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_execution_waves")),
        sa.UniqueConstraint(
            "graph_id", "wave_number", name=op.f("uq_execution_waves_graph_id_wave_number")
        ),
    )
    with op.batch_alter_table("execution_waves", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_execution_waves_graph_id"), ["graph_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_execution_waves_masterplan_id"), ["masterplan_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_execution_waves_status"), ["status"], unique=False)

    op.create_table(
        "atomic_units",
        sa.Column("masterplan_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("graph_id", sa.Uuid(), nullable=True),
        sa.Column("atom_key", sa.String(length=500), nullable=False),
        sa.Column("atom_number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("qualname", sa.String(length=500), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=32), nullable=False),
        sa.Column("start_byte", sa.Integer(), nullable=True),
        sa.Column("end_byte", sa.Integer(), nullable=True),
        sa.Column("start_line", sa.Integer(), nullable=True),
        sa.Column("end_line", sa.Integer(), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("reference_code", sa.Text(), nullable=True),
        sa.Column("loc", sa.Integer(), nullable=False),
        sa.Column("complexity", sa.Double(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "ready",
                "running",
                "completed",
                "failed",
                "blocked",
                "skipped",
                name="atom_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("signature", sa.Text(), nullable=True),
        sa.Column("context_imports", JSON_TYPE, nullable=False),
        sa.Column("context_types", JSON_TYPE, nullable=False),
        sa.Column("context_preconditions", JSON_TYPE, nullable=False),
        sa.Column("context_postconditions", JSON_TYPE, nullable=False),
        sa.Column("context_callees", JSON_TYPE, nullable=False),
        sa.Column("context_completeness", sa.Double(), nullable=False),
        sa.Column("atomicity_score", sa.Double(), nullable=False),
        sa.Column("atomicity_violations", JSON_TYPE, nullable=False),
        sa.Column("is_atomic", sa.Boolean(), nullable=False),
        sa.Column("confidence_score", sa.Double(), nullable=True),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("wave_number", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("extra", JSON_TYPE, nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["graph_id"],
            ["dependency_graphs.id"],
            name=op.f("fk_atomic_units_graph_id_dependency_graphs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["masterplan_id"],
            ["masterplans.id"],
            name=op.f("fk_atomic_units_masterplan_id_masterplans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["masterplan_tasks.id"],
            name=op.f("fk_atomic_units_task_id_masterplan_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_atomic_units")),
        sa.UniqueConstraint(
            "masterplan_id", "atom_key", name=op.f("uq_atomic_units_masterplan_id_atom_key")
        ),
    )
    with op.batch_alter_table("atomic_units", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_atomic_units_confidence_score"), ["confidence_score"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_atomic_units_graph_id"), ["graph_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_atomic_units_masterplan_id"), ["masterplan_id"], unique=False
        )
        batch_op.create_index(
            "ix_atomic_units_masterplan_status", ["masterplan_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_atomic_units_masterplan_wave", ["masterplan_id", "wave_number"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_atomic_units_needs_review"), ["needs_review"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_atomic_units_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_atomic_units_task_id"), ["task_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_atomic_units_wave_number"), ["wave_number"], unique=False
        )

    op.create_table(
        "atom_dependencies",
        sa.Column("graph_id", sa.Uuid(), nullable=False),
        sa.Column("from_atom_id", sa.Uuid(), nullable=False),
        sa.Column("to_atom_id", sa.Uuid(), nullable=False),
        sa.Column(
            "dependency_type",
            sa.Enum(
                "import",
                "data_flow",
                "function_call",
                "type",
                "temporal",
                name="dependency_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("strength", sa.Double(), nullable=False),
        sa.Column("is_broken", sa.Boolean(), nullable=False),
        sa.Column("metadata", JSON_TYPE, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "from_atom_id <> to_atom_id", name=op.f("ck_atom_dependencies_no_self_edge")
        ),
        sa.ForeignKeyConstraint(
            ["from_atom_id"],
            ["atomic_units.id"],
            name=op.f("fk_atom_dependencies_from_atom_id_atomic_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["graph_id"],
            ["dependency_graphs.id"],
            name=op.f("fk_atom_dependencies_graph_id_dependency_graphs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_atom_id"],
            ["atomic_units.id"],
            name=op.f("fk_atom_dependencies_to_atom_id_atomic_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_atom_dependencies")),
        sa.UniqueConstraint(
            "from_atom_id", "to_atom_id", name=op.f("uq_atom_dependencies_from_atom_id_to_atom_id")
        ),
    )
    with op.batch_alter_table("atom_dependencies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_atom_dependencies_from_atom_id"), ["from_atom_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_atom_dependencies_graph_id"), ["graph_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_atom_dependencies_to_atom_id"), ["to_atom_id"], unique=False
        )

    op.create_table(
        "atom_retry_history",
        sa.Column("atom_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("attempt_number", sa.Integer(), nullable=False),
        sa.Column("temperature", sa.Double(), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=True),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("generated_code", sa.Text(), nullable=True),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("error_type", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_analysis", JSON_TYPE, nullable=False),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Double(), nullable=False),
        sa.Column("duration_seconds", sa.Double(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["atom_id"],
            ["atomic_units.id"],
            name=op.f("fk_atom_retry_history_atom_id_atomic_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["generation_runs.id"],
            name=op.f("fk_atom_retry_history_run_id_generation_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_atom_retry_history")),
        sa.UniqueConstraint(
            "atom_id", "attempt_number", name=op.f("uq_atom_retry_history_atom_id_attempt_number")
        ),
    )
    with op.batch_alter_table("atom_retry_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_atom_retry_history_atom_id"), ["atom_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_atom_retry_history_run_id"), ["run_id"], unique=False)

    op.create_table(
        "human_review_queue",
        sa.Column("atom_id", sa.Uuid(), nullable=False),
        sa.Column("masterplan_id", sa.Uuid(), nullable=False),
        sa.Column("confidence_score", sa.Double(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "in_review",
                "approved",
                "rejected",
                "edited",
                "regenerated",
                name="review_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "resolution",
            sa.Enum(
                "approve",
                "edit",
                "regenerate",
                "skip",
                name="review_resolution",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("ai_suggestions", JSON_TYPE, nullable=False),
        sa.Column("evidence", JSON_TYPE, nullable=False),
        sa.Column("assigned_to", sa.String(length=120), nullable=True),
        sa.Column("reviewer", sa.String(length=120), nullable=True),
        sa.Column("original_code", sa.Text(), nullable=True),
        sa.Column("edited_code", sa.Text(), nullable=True),
        sa.Column("review_notes", sa.Text(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_time_seconds", sa.Double(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["atom_id"],
            ["atomic_units.id"],
            name=op.f("fk_human_review_queue_atom_id_atomic_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["masterplan_id"],
            ["masterplans.id"],
            name=op.f("fk_human_review_queue_masterplan_id_masterplans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_human_review_queue")),
        sa.UniqueConstraint("atom_id", name=op.f("uq_human_review_queue_atom_id")),
    )
    with op.batch_alter_table("human_review_queue", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_human_review_queue_assigned_to"), ["assigned_to"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_human_review_queue_confidence_score"), ["confidence_score"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_human_review_queue_masterplan_id"), ["masterplan_id"], unique=False
        )
        batch_op.create_index(
            "ix_human_review_queue_status_priority", ["status", "priority"], unique=False
        )

    op.create_table(
        "validation_results",
        sa.Column("masterplan_id", sa.Uuid(), nullable=False),
        sa.Column("atom_id", sa.Uuid(), nullable=True),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column(
            "level",
            sa.Enum(
                "atomic",
                "module",
                "component",
                "system",
                name="validation_level",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "test_type",
            sa.Enum(
                "syntax",
                "types",
                "unit",
                "integration",
                "e2e",
                "acceptance",
                name="test_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("check_name", sa.String(length=120), nullable=True),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("attempt_number", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("details", JSON_TYPE, nullable=False),
        sa.Column("duration_seconds", sa.Double(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["atom_id"],
            ["atomic_units.id"],
            name=op.f("fk_validation_results_atom_id_atomic_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["masterplan_id"],
            ["masterplans.id"],
            name=op.f("fk_validation_results_masterplan_id_masterplans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["generation_runs.id"],
            name=op.f("fk_validation_results_run_id_generation_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_results")),
    )
    with op.batch_alter_table("validation_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_validation_results_atom_level", ["atom_id", "level"], unique=False
        )
        batch_op.create_index(
            "ix_validation_results_masterplan_level", ["masterplan_id", "level"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_validation_results_run_id"), ["run_id"], unique=False)

    op.create_table(
        "review_audit_events",
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("details", JSON_TYPE, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["human_review_queue.id"],
            name=op.f("fk_review_audit_events_review_id_human_review_queue"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_audit_events")),
    )
    with op.batch_alter_table("review_audit_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_audit_events_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_review_audit_events_review_id"), ["review_id"], unique=False
        )

    with op.batch_alter_table("masterplans") as batch_op:
        batch_op.add_column(
            sa.Column("v2_mode", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("atomization_config", JSON_TYPE, nullable=True))
        batch_op.add_column(sa.Column("graph_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("total_atoms", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("total_waves", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_parallelism", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("precision_percent", sa.Double(), nullable=True))
        batch_op.create_index(batch_op.f("ix_masterplans_graph_id"), ["graph_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_masterplans_graph_id_dependency_graphs"),
            "dependency_graphs",
            ["graph_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("masterplans") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_masterplans_graph_id_dependency_graphs"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_masterplans_graph_id"))
        batch_op.drop_column("precision_percent")
        batch_op.drop_column("max_parallelism")
        batch_op.drop_column("total_waves")
        batch_op.drop_column("total_atoms")
        batch_op.drop_column("graph_id")
        batch_op.drop_column("atomization_config")
        batch_op.drop_column("v2_mode")
    op.drop_table("review_audit_events")
    op.drop_table("validation_results")
    op.drop_table("human_review_queue")
    op.drop_table("atom_retry_history")
    op.drop_table("atom_dependencies")
    op.drop_table("atomic_units")
    op.drop_table("execution_waves")
    op.drop_table("generation_runs")
    op.drop_table("dependency_graphs")
