"""Migrations up, down and up again, with data in place, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from mge.db import make_engine, migrate
from mge.errors import ConfigError, DatabaseError, MigrationError

MVP_TABLES = {
    "masterplans",
    "masterplan_phases",
    "masterplan_milestones",
    "masterplan_tasks",
    "masterplan_subtasks",
}
V2_TABLES = {
    "dependency_graphs",
    "atomic_units",
    "atom_dependencies",
    "validation_results",
    "execution_waves",
    "atom_retry_history",
    "human_review_queue",
    "generation_runs",
    "review_audit_events",
}
DRAFT_TABLES = {"plan_drafts", "plan_versions"}
V2_MASTERPLAN_COLUMNS = {
    "v2_mode",
    "atomization_config",
    "graph_id",
    "total_atoms",
    "total_waves",
    "max_parallelism",
    "precision_percent",
}


def _columns(url: str, table: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {column["name"] for column in inspect(connection).get_columns(table)}
    finally:
        engine.dispose()


def _insert_mvp_rows(url: str) -> uuid.UUID:
    """Rows written with plain SQL, as an MVP installation would have them."""
    plan_id, phase_id, milestone_id, task_id = (uuid.uuid4() for _ in range(4))
    now = datetime.now(UTC)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO masterplans (id, name, status, created_at, updated_at)"
                    " VALUES (:id, 'shop', 'ready', :now, :now)"
                ),
                {"id": _uuid_param(url, plan_id), "now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO masterplan_phases"
                    " (id, masterplan_id, phase_number, name, created_at, updated_at)"
                    " VALUES (:id, :plan, 1, 'Core', :now, :now)"
                ),
                {"id": _uuid_param(url, phase_id), "plan": _uuid_param(url, plan_id), "now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO masterplan_milestones"
                    " (id, phase_id, milestone_number, name, created_at, updated_at)"
                    " VALUES (:id, :phase, 1, 'Models', :now, :now)"
                ),
                {
                    "id": _uuid_param(url, milestone_id),
                    "phase": _uuid_param(url, phase_id),
                    "now": now,
                },
            )
            connection.execute(
                text(
                    "INSERT INTO masterplan_tasks (id, masterplan_id, milestone_id, task_number,"
                    " task_key, name, complexity, status, target_files, depends_on, tests,"
                    " generated_code, input_tokens, output_tokens, cached_tokens, cost_usd,"
                    " created_at, updated_at) VALUES (:id, :plan, :milestone, 1, 'models',"
                    " 'Models', 'medium', 'completed', '[\"shop/models.py\"]', '[]', '[]',"
                    " 'x = 1\n', 10, 20, 0, 0.5, :now, :now)"
                ),
                {
                    "id": _uuid_param(url, task_id),
                    "plan": _uuid_param(url, plan_id),
                    "milestone": _uuid_param(url, milestone_id),
                    "now": now,
                },
            )
    finally:
        engine.dispose()
    return plan_id


def _uuid_param(url: str, value: uuid.UUID) -> object:
    # SQLAlchemy's Uuid type stores 32 hex digits on SQLite and a native uuid on PostgreSQL.
    return value.hex if url.startswith("sqlite") else value


def test_upgrade_creates_every_table(db_url: str) -> None:
    outcome = migrate.upgrade(db_url)
    assert (outcome.before, outcome.after) == (None, migrate.head_revision())
    assert set(migrate.table_names(db_url)) == MVP_TABLES | V2_TABLES | DRAFT_TABLES | {
        "alembic_version"
    }
    assert _columns(db_url, "masterplans") >= V2_MASTERPLAN_COLUMNS
    assert migrate.current_revision(db_url) == "0004"
    assert {"lease_owner", "lease_generation", "resume_state"} <= _columns(
        db_url, "generation_runs"
    )


def test_upgrade_at_head_is_a_no_op(db_url: str) -> None:
    migrate.upgrade(db_url)
    again = migrate.upgrade(db_url)
    assert not again.changed
    assert again.after == "0004"


def test_models_and_migrations_do_not_drift(db_url: str) -> None:
    migrate.upgrade(db_url)
    assert migrate.schema_drift(db_url) == []


def test_drift_check_refuses_a_database_below_head(db_url: str) -> None:
    migrate.upgrade(db_url, "0001")
    with pytest.raises(MigrationError, match="not at head"):
        migrate.schema_drift(db_url)


def test_down_to_mvp_and_up_again_keeps_mvp_rows(db_url: str) -> None:
    migrate.upgrade(db_url, "0001")
    plan_id = _insert_mvp_rows(db_url)
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    with engine.connect() as connection:
        v2_mode = connection.execute(text("SELECT v2_mode FROM masterplans")).scalar_one()
    assert v2_mode in (False, 0)

    down = migrate.downgrade(db_url, "0001")
    assert (down.before, down.after) == ("0004", "0001")
    assert set(migrate.table_names(db_url)) == MVP_TABLES | {"alembic_version"}
    assert not V2_MASTERPLAN_COLUMNS & _columns(db_url, "masterplans")
    with engine.connect() as connection:
        names = connection.execute(text("SELECT name FROM masterplans")).scalars().all()
        code = connection.execute(text("SELECT generated_code FROM masterplan_tasks")).scalar()
        phases = connection.execute(text("SELECT count(*) FROM masterplan_phases")).scalar()
    assert names == ["shop"]
    assert code == "x = 1\n"
    assert phases == 1

    migrate.upgrade(db_url)
    assert migrate.schema_drift(db_url) == []
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT id FROM masterplans")).scalar_one()
    engine.dispose()
    assert uuid.UUID(str(stored)) == plan_id


def test_downgrade_to_base_empties_the_database(db_url: str) -> None:
    migrate.upgrade(db_url)
    migrate.downgrade(db_url, "base")
    assert migrate.current_revision(db_url) is None
    assert set(migrate.table_names(db_url)) <= {"alembic_version"}


def test_unknown_revision_is_a_one_line_error(db_url: str) -> None:
    with pytest.raises(
        MigrationError, match=r"unknown revision 'nope' \(known: 0001, 0002, 0003, 0004"
    ):
        migrate.upgrade(db_url, "nope")
    with pytest.raises(MigrationError, match="unknown revision"):
        migrate.downgrade(db_url, "9999")
    if db_url.startswith("sqlite"):
        # Nothing was created: the refused commands left no empty file behind.
        with pytest.raises(DatabaseError, match="no database at"):
            migrate.current_revision(db_url)
    else:
        assert migrate.current_revision(db_url) is None


def test_a_failing_migration_leaves_the_previous_revision(db_url: str, tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts)
    (scripts / "versions" / "0099_broken.py").write_text(
        '"""A revision that creates a table, then fails."""\n'
        "import sqlalchemy as sa\n"
        "from alembic import op\n\n"
        'revision = "0099"\n'
        'down_revision = "0004"\n'
        "branch_labels = None\n"
        "depends_on = None\n\n\n"
        "def upgrade() -> None:\n"
        '    op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))\n'
        '    op.execute("INSERT INTO no_such_table VALUES (1)")\n\n\n'
        "def downgrade() -> None:\n"
        '    op.drop_table("half_done")\n'
    )
    with pytest.raises(MigrationError, match="left at revision 0004"):
        migrate.upgrade(db_url, script_location=scripts)
    assert migrate.current_revision(db_url) == "0004"
    assert "half_done" not in migrate.table_names(db_url)


def test_a_database_from_a_newer_mge_is_refused(db_url: str) -> None:
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    engine.dispose()
    with pytest.raises(MigrationError, match="'0999', newer than this mge knows"):
        migrate.upgrade(db_url)


@pytest.mark.parametrize(
    ("url", "error", "message"),
    [
        ("not a url", ConfigError, "malformed database URL"),
        ("mysql://root@127.0.0.1/x", ConfigError, "unsupported database 'mysql'"),
        ("postgresql://postgres@127.0.0.1:1/x", DatabaseError, "Connection refused"),
        ("sqlite:////proc/no/such/dir/x.db", DatabaseError, "no database at /proc/no/such"),
    ],
)
def test_bad_database_urls(url: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        migrate.current_revision(url)


def test_plan_drafts_down_and_up_keeps_the_runs(db_url: str) -> None:
    """0003 drops the drafts and the run's link to a version, and keeps the runs."""
    migrate.upgrade(db_url, "0001")
    plan_id = _insert_mvp_rows(db_url)
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    draft_id, version_id, run_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO plan_drafts (id, name, request, status, model, simulated, tests,"
                " cost, created_at, updated_at) VALUES (:id, 'shop', 'a shop', 'draft',"
                " 'replay', true, '{}', '{}', :now, :now)"
            ),
            {"id": _uuid_param(db_url, draft_id), "now": datetime.now(UTC)},
        )
        connection.execute(
            text(
                "INSERT INTO plan_versions (id, draft_id, number, author, created_at, note,"
                " diff) VALUES (:id, :draft, 1, 'ann', :now, 'generated', '')"
            ),
            {
                "id": _uuid_param(db_url, version_id),
                "draft": _uuid_param(db_url, draft_id),
                "now": datetime.now(UTC),
            },
        )
        connection.execute(
            text(
                "INSERT INTO generation_runs (id, masterplan_id, status, model, simulated,"
                " settings, duration_seconds, atoms_total, atoms_completed, atoms_failed,"
                " attempts_total, input_tokens, output_tokens, cached_tokens, cost_usd,"
                " report, plan_version_id, created_at, updated_at) VALUES (:id, :plan,"
                " 'completed', 'replay', true, '{}', 0, 0, 0, 0, 0, 0, 0, 0, 0, '{}',"
                " :version, :now, :now)"
            ),
            {
                "id": _uuid_param(db_url, run_id),
                "plan": _uuid_param(db_url, plan_id),
                "version": _uuid_param(db_url, version_id),
                "now": datetime.now(UTC),
            },
        )
    down = migrate.downgrade(db_url, "0002")
    assert (down.before, down.after) == ("0004", "0002")
    assert not DRAFT_TABLES & set(migrate.table_names(db_url))
    assert "plan_version_id" not in _columns(db_url, "generation_runs")
    with engine.connect() as connection:
        runs = connection.execute(text("SELECT id FROM generation_runs")).scalars().all()
    assert [uuid.UUID(str(r)) for r in runs] == [run_id]
    migrate.upgrade(db_url)
    assert migrate.schema_drift(db_url) == []
    engine.dispose()
