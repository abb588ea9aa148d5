"""Engines and sessions for SQLite and PostgreSQL, with errors mapped at the edge.

SQLite is made to behave like a real database here: foreign keys are enforced
(so ON DELETE CASCADE works) and every transaction starts with an explicit BEGIN,
so DDL in a migration rolls back with the rest instead of being committed early.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from sqlalchemy import Engine, create_engine, event, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from mge.errors import ConfigError, DatabaseError

# An execution option marking a session that will write (see `session_scope`).
WRITE_OPTION = "mge_write"

_DRIVERS = {
    "sqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
}


def parse_database_url(raw: str) -> URL:
    """Parse and normalise a database URL; plain `postgresql://` gets psycopg 3."""
    try:
        url = make_url(raw.strip())
    except (exc.ArgumentError, ValueError):
        raise ConfigError(f"malformed database URL {raw!r}") from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database {backend!r}: use sqlite:// or postgresql://")
    if "+" not in url.drivername:
        url = url.set(drivername=_DRIVERS[url.drivername])
    return url


def redact(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def mask_password(text: str, url: URL | str) -> str:
    """`text` with the URL's password replaced by `***`: driver messages and hints
    may echo the URL or its parts, and a password must never reach a terminal, a
    log or a JSON error."""
    try:
        password = (url if isinstance(url, URL) else make_url(url)).password
    except (exc.ArgumentError, ValueError):
        return text
    if not password:
        return text
    for form in {str(password), quote_plus(str(password))}:
        text = text.replace(form, "***")
    return text


def _sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL names; None for in-memory and `file:` URI databases."""
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        return Path(database).expanduser()
    return None


def _require_sqlite_file(url: URL) -> None:
    path = _sqlite_file(url)
    if path is not None and not path.is_file():
        raise DatabaseError(
            f"no database at {path}: check --db, or create one with `mge db upgrade --db ...`"
        )


def _prepare_sqlite_file(url: URL) -> None:
    path = _sqlite_file(url)
    if path is not None:
        folder = path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseError(
                f"database {redact(url)}: cannot create {folder}: {error.strerror}"
            ) from None


def make_engine(
    raw_url: str, *, enforce_foreign_keys: bool = True, create: bool = True, **kwargs: Any
) -> Engine:
    """An engine for `raw_url`; migrations pass `enforce_foreign_keys=False` on SQLite
    because table rebuilds would otherwise cascade-delete child rows. `create=False`
    refuses a SQLite file that does not exist instead of creating it (and its
    folders): a command that only reads must not leave an empty database behind a
    mistyped path."""
    url = parse_database_url(raw_url)
    if url.get_backend_name() == "sqlite":
        if create:
            _prepare_sqlite_file(url)
        else:
            _require_sqlite_file(url)
        engine = create_engine(url, **kwargs)
        _make_sqlite_transactional(engine, enforce_foreign_keys)
        return engine
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _make_sqlite_transactional(engine: Engine, enforce_foreign_keys: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA foreign_keys={'ON' if enforce_foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA busy_timeout=10000")
        if not _in_memory(dbapi_connection):
            # Write-ahead logging: readers never block the writer, and a commit is one
            # append instead of a journal rewrite + fsync; NORMAL sync keeps every
            # committed transaction across a crash of MGE (only power loss can lose
            # the last ones). A run commits after every attempt, so this matters.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A transaction that will write takes the write lock when it starts. Begun as
        # a reader, it could not upgrade once another writer had committed since its
        # snapshot: SQLite answers "database is locked" at once, busy timeout or not.
        # Begun IMMEDIATE, it waits its turn (busy_timeout) and then reads fresh rows.
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _in_memory(dbapi_connection: Any) -> bool:
    cursor = dbapi_connection.cursor()
    try:
        rows = cursor.execute("PRAGMA database_list").fetchall()
    finally:
        cursor.close()
    return any(row[1] == "main" and not row[2] for row in rows)


def describe_db_error(error: BaseException) -> str:
    """The first meaningful line of a driver error, without SQLAlchemy's boilerplate."""
    original = getattr(error, "orig", None) or error
    message = (
        str(original).strip().splitlines()[0] if str(original).strip() else type(error).__name__
    )
    return re.sub(r"\s+", " ", message)


@contextmanager
def database_errors(url: URL | str) -> Iterator[None]:
    """Translate driver and SQLAlchemy failures into one-line `DatabaseError`s."""
    shown = redact(url) if isinstance(url, URL) else mask_password(url, url)
    try:
        yield
    except exc.DBAPIError as error:
        raise DatabaseError(db_error_line(error, url, shown)) from None


def db_error_line(error: BaseException, url: URL | str, shown: str | None = None) -> str:
    """The one line a driver failure is reported as, password masked."""
    if shown is None:
        shown = redact(url) if isinstance(url, URL) else mask_password(url, url)
    return mask_password(f"database {shown}: {describe_db_error(error)}", url)


def check_connection(engine: Engine) -> None:
    with database_errors(engine.url), engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session committed on success and rolled back on any error.

    `write=True` for a transaction that reads and then writes (a review decision):
    on SQLite it takes the write lock at its start, so concurrent writers queue up
    instead of failing; PostgreSQL ignores it (row locks do that job there)."""
    options = {WRITE_OPTION: True} if write else {}
    with database_errors(engine.url), session_factory(engine)(execution_options=options) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
