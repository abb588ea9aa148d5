"""Schema migrations as plain functions over Alembic, shipped inside the package
so an installed `mge` can migrate any database it is pointed at.

Alembic's own errors (unknown revision, failed step) are translated here into
`MigrationError` with one readable line; the CLI only prints them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, inspect

import mge.db.models  # noqa: F401  (the models must be on the metadata to compare)
from mge.db.base import Base
from mge.db.engine import database_errors, describe_db_error, make_engine, parse_database_url
from mge.errors import MigrationError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
BASE_REVISION = "0001"


@dataclass(frozen=True)
class MigrationOutcome:
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _config(script_location: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    return config


def head_revision(script_location: Path = MIGRATIONS_DIR) -> str:
    head = ScriptDirectory.from_config(_config(script_location)).get_current_head()
    assert head is not None
    return head


def known_revisions(script_location: Path = MIGRATIONS_DIR) -> list[str]:
    scripts = ScriptDirectory.from_config(_config(script_location))
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


@contextmanager
def _connection(url: str, *, create: bool = False) -> Iterator[Connection]:
    """A connection for migration work; only an upgrade may create a SQLite file."""
    engine = make_engine(url, enforce_foreign_keys=False, create=create)
    try:
        with database_errors(engine.url), engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _revision_of(connection: Connection) -> str | None:
    revision = MigrationContext.configure(connection).get_current_revision()
    connection.rollback()
    return revision


def current_revision(url: str) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with _connection(url) as connection:
        return _revision_of(connection)


def _check_target(revision: str, script_location: Path, allow: tuple[str, ...]) -> None:
    if revision in allow:
        return
    scripts = ScriptDirectory.from_config(_config(script_location))
    try:
        found = scripts.get_revision(revision)
    except CommandError:
        found = None
    if found is None:
        known = ", ".join(known_revisions(script_location))
        raise MigrationError(f"unknown revision {revision!r} (known: {known}, head, base)")


def _run(url: str, action: str, revision: str, script_location: Path) -> MigrationOutcome:
    config = _config(script_location)
    with _connection(url, create=action == "upgrade") as connection:
        before = _revision_of(connection)
        if before is not None and before not in known_revisions(script_location):
            raise MigrationError(_ahead(before))
        config.attributes["connection"] = connection
        try:
            if action == "upgrade":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
        except CommandError as error:
            raise MigrationError(f"{action} to {revision} failed: {error}") from None
        except MigrationError:
            raise
        except Exception as error:
            connection.rollback()
            reached = _revision_of(connection)
            raise MigrationError(
                f"{action} to {revision} failed ({describe_db_error(error)}); "
                f"database left at revision {reached or 'base'}"
            ) from None
        after = _revision_of(connection)
    return MigrationOutcome(before=before, after=after)


def upgrade(
    url: str, revision: str = "head", *, script_location: Path = MIGRATIONS_DIR
) -> MigrationOutcome:
    _check_target(revision, script_location, allow=("head",))
    return _run(url, "upgrade", revision, script_location)


def downgrade(
    url: str, revision: str, *, script_location: Path = MIGRATIONS_DIR
) -> MigrationOutcome:
    _check_target(revision, script_location, allow=("base",))
    return _run(url, "downgrade", revision, script_location)


@dataclass(frozen=True)
class Loss:
    """What a downgrade removes: a whole table (`column=None`) or one column, and
    the rows that hold data there now."""

    table: str
    column: str | None
    rows: int

    def __str__(self) -> str:
        where = self.table if self.column is None else f"{self.table}.{self.column}"
        return f"{where} ({self.rows:,} row{'s' if self.rows != 1 else ''})"


def _columns(connection: Connection) -> dict[str, set[str]]:
    found = inspect(connection)
    return {name: {c["name"] for c in found.get_columns(name)} for name in found.get_table_names()}


def downgrade_losses(
    url: str, revision: str, *, script_location: Path = MIGRATIONS_DIR
) -> list[Loss]:
    """What `downgrade(url, revision)` would drop, found by running it inside one
    transaction that is rolled back (DDL is transactional on PostgreSQL and, with
    the explicit BEGIN of our engines, on SQLite), so the answer comes from the
    migrations themselves and not from a list kept beside them."""
    _check_target(revision, script_location, allow=("base",))
    config = _config(script_location)
    with _connection(url) as connection:
        before = _revision_of(connection)
        if before is not None and before not in known_revisions(script_location):
            raise MigrationError(_ahead(before))
        tables = _columns(connection)
        counts = {
            name: int(connection.exec_driver_sql(f'SELECT COUNT(*) FROM "{name}"').scalar_one())
            for name in tables
        }
        connection.rollback()
        # An outer transaction makes Alembic run every step inside it (it never
        # commits a transaction it did not begin), so the rollback undoes them all.
        transaction = connection.begin()
        try:
            config.attributes["connection"] = connection
            try:
                command.downgrade(config, revision)
            except CommandError as error:
                raise MigrationError(f"downgrade to {revision} failed: {error}") from None
            after = _columns(connection)
        finally:
            transaction.rollback()
    losses: list[Loss] = []
    for name in sorted(tables):
        if name == "alembic_version":
            continue
        if name not in after:
            losses.append(Loss(name, None, counts[name]))
            continue
        for column in sorted(tables[name] - after[name]):
            losses.append(Loss(name, column, counts[name]))
    return losses


def _ahead(revision: str) -> str:
    return (
        f"database is at revision {revision!r}, newer than this mge knows "
        f"(head {head_revision()}): upgrade mge to use it; nothing was written"
    )


def refuse_newer(url: str) -> str | None:
    """The database's revision, refused when a newer mge wrote it (the check of a
    command that writes); never creates a SQLite file."""
    with _connection(url) as connection:
        revision = _revision_of(connection)
    if revision is not None and revision not in known_revisions():
        raise MigrationError(_ahead(revision))
    return revision


def require_schema(url: str, *, write: bool) -> str | None:
    """Check the database a command is about to use, before it reads or writes.

    Refused with a one-line error: a missing SQLite file (never created here), an
    unreachable server, a corrupt file, a schema behind this mge ("run `mge db
    upgrade`", since the models would query columns that do not exist yet), and,
    for a command that writes, a schema from a newer mge: rows written by code that
    does not know that schema could break it. Reading one is allowed. Returns the
    revision."""
    revision = refuse_newer(url) if write else current_revision(url)
    known = known_revisions()
    if revision is not None and revision not in known:
        return revision
    if revision != known[-1]:
        raise MigrationError(
            f"database is at revision {revision or 'base (empty)'}, behind this mge "
            f"(head {known[-1]}): run `mge db upgrade`"
        )
    return revision


def checked_engine(url: str, *, write: bool) -> Engine:
    """An engine for a database that passed `require_schema`; never creates a file."""
    require_schema(url, write=write)
    return make_engine(url, create=False)


def schema_drift(url: str) -> list[str]:
    """Differences between the models and a database migrated to head, one line each.

    An empty list means the migrations create exactly what the models describe.
    """
    with _connection(url) as connection:
        if _revision_of(connection) != head_revision():
            raise MigrationError("database is not at head; run `mge db upgrade` first")
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
        connection.rollback()
    return [_describe_diff(diff) for diff in diffs]


def _describe_diff(diff: Any) -> str:
    if isinstance(diff, tuple):
        kind, *rest = diff
        return f"{kind}: " + ", ".join(_short(part) for part in rest)
    return "; ".join(_describe_diff(part) for part in diff)


def _short(part: Any) -> str:
    name = getattr(part, "name", None)
    return str(name) if name is not None else str(part)


def table_names(url: str) -> list[str]:
    with _connection(url) as connection:
        names = sorted(inspect(connection).get_table_names())
        connection.rollback()
    return names


def check_reachable(url: str) -> None:
    parse_database_url(url)
    with _connection(url):
        pass


__all__ = [
    "BASE_REVISION",
    "MIGRATIONS_DIR",
    "Loss",
    "MigrationOutcome",
    "check_reachable",
    "checked_engine",
    "current_revision",
    "downgrade",
    "downgrade_losses",
    "head_revision",
    "known_revisions",
    "refuse_newer",
    "require_schema",
    "schema_drift",
    "table_names",
    "upgrade",
]
