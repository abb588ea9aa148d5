"""WAL checkpoints on a thread of their own while a run writes to SQLite.

In WAL mode a commit appends pages to the log, and every ~1000 pages the
committing connection copies the log back into the database file and syncs both
(an automatic checkpoint). The engine commits from its event loop, so each of
those syncs stalled every call in flight: about 30 ms each, some 1.5 s over a
10,000-atom run. `background_checkpoints` runs a passive checkpoint every
`interval` seconds on a connection of its own, on a thread (the sqlite3 module
releases the GIL while SQLite works), and for as long raises the automatic
checkpoint's threshold on the engine's connections from ~4 MB of log to
`RUN_AUTOCHECKPOINT_PAGES` (restored when a connection goes back to the pool).
The automatic one cannot simply be outrun: a log restarts from the top only when
a writer finds it fully copied, which a writer that is always busy seldom does,
so the log crept past the threshold anyway. The raised one still bounds the log,
and when it fires it finds nearly everything copied already. Nothing changes
about what is durable: commits are written exactly as before; only where the
copying into the database file happens moves.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, event

#: Seconds between checkpoints.
CHECKPOINT_INTERVAL = 0.1
#: The automatic checkpoint's threshold (pages of log) while the thread runs.
RUN_AUTOCHECKPOINT_PAGES = 16384


def _wal_database(engine: Engine) -> str | None:
    """The file of a SQLite database in WAL mode, else None (PostgreSQL, memory)."""
    if engine.url.get_backend_name() != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    with engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    return database if str(mode).lower() == "wal" else None


class _Checkpointer(threading.Thread):
    def __init__(self, database: str, interval: float) -> None:
        super().__init__(name="mge-wal-checkpoints", daemon=True)
        self.database = database
        self.interval = interval
        self.stopping = threading.Event()
        self.checkpoints = 0

    def run(self) -> None:
        connection = sqlite3.connect(self.database, timeout=1.0, isolation_level=None)
        try:
            while not self.stopping.wait(self.interval):
                # A checkpoint that meets a busy database does what it can or
                # nothing; the next one picks up the rest.
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
        finally:
            connection.close()


_SAVED = "mge_wal_autocheckpoint"


def _pragma(dbapi_connection: Any, statement: str) -> Any:
    cursor = dbapi_connection.cursor()
    try:
        return cursor.execute(statement).fetchone()
    finally:
        cursor.close()


def _restore(dbapi_connection: Any, record: Any) -> None:
    """Give a connection back its own automatic checkpoint as it returns to the pool."""
    saved = record.info.pop(_SAVED, None)
    if saved is not None and dbapi_connection is not None:
        _pragma(dbapi_connection, f"PRAGMA wal_autocheckpoint={int(saved)}")


def _defer_automatic(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    if _SAVED not in record.info:
        (record.info[_SAVED],) = _pragma(dbapi_connection, "PRAGMA wal_autocheckpoint")
    _pragma(dbapi_connection, f"PRAGMA wal_autocheckpoint={RUN_AUTOCHECKPOINT_PAGES}")


@contextlib.contextmanager
def background_checkpoints(
    engine: Engine, interval: float = CHECKPOINT_INTERVAL
) -> Iterator[_Checkpointer | None]:
    """Checkpoint `engine`'s WAL from a thread while the block runs (no-op unless
    the engine is a SQLite file in WAL mode). Yields the thread, or None."""
    database = _wal_database(engine)
    if database is None:
        yield None
        return
    if not event.contains(engine, "checkin", _restore):
        event.listen(engine, "checkin", _restore)
    event.listen(engine, "checkout", _defer_automatic)
    thread = _Checkpointer(database, interval)
    thread.start()
    try:
        yield thread
    finally:
        event.remove(engine, "checkout", _defer_automatic)
        thread.stopping.set()
        thread.join()
