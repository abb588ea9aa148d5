"""WAL checkpoints on a thread of their own while a run writes to SQLite.

In WAL mode a commit appends pages to the log, and every ~1000 pages the
committing connection copies the log back into the database file and syncs both
(an automatic checkpoint). The engine commits from its event loop, so each of
those syncs stalled every call in flight: about 30 ms each, some 1.5 s over a
10,000-atom run. `background_checkpoints` runs a passive checkpoint every
`interval` seconds on a connection of its own, on a thread (the sqlite3 module
releases the GIL while SQLite works). The log then never grows to the automatic
threshold, so the engine's commits only append. Nothing changes about what is
durable: commits are written exactly as before, and if a checkpoint cannot finish
(a reader holds an old snapshot) SQLite's own automatic checkpoint still applies.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator

from sqlalchemy import Engine

#: Seconds between checkpoints. A run appends well under 1000 pages in this time.
CHECKPOINT_INTERVAL = 0.1


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
    thread = _Checkpointer(database, interval)
    thread.start()
    try:
        yield thread
    finally:
        thread.stopping.set()
        thread.join()
