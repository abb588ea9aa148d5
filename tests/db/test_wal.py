"""Checkpoints off the writer's thread, and keys that keep inserts local."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection

from mge.db import make_engine
from mge.db.base import sequential_id
from mge.db.wal import RUN_AUTOCHECKPOINT_PAGES, background_checkpoints


def _wal_frames(path: Path) -> int:
    """Frames in the log since its last restart (what the automatic checkpoint counts)."""
    connection = sqlite3.connect(path)
    try:
        _busy, frames, _done = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        connection.close()
    return int(frames)


def _append(connection: Connection, rows: int) -> None:
    connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS blob (data BLOB)")
    for _ in range(rows):
        connection.exec_driver_sql("INSERT INTO blob VALUES (randomblob(40000))")
        connection.commit()
        time.sleep(0.005)


@pytest.mark.parametrize("in_background", [True, False])
def test_the_log_is_checkpointed_while_the_writer_only_appends(
    tmp_path: Path, in_background: bool
) -> None:
    # Without the thread (the control) the same writes all stay in the log.
    database = tmp_path / "w.db"
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            # The writer never checkpoints itself: only the thread can.
            connection.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
            checkpoints = background_checkpoints(engine, interval=0.01)
            with checkpoints if in_background else contextlib.nullcontext() as thread:
                _append(connection, 40)
                if thread is not None:
                    # Two more checkpoints: the log has then been copied in full.
                    target = thread.checkpoints + 2
                    deadline = time.monotonic() + 10
                    while thread.checkpoints < target and time.monotonic() < deadline:
                        time.sleep(0.01)
                    assert thread.checkpoints >= target
            assert thread is None or not thread.is_alive()
            assert connection.exec_driver_sql("SELECT count(*) FROM blob").scalar() == 40
            # A write after a complete checkpoint starts the log again from the top.
            connection.exec_driver_sql("INSERT INTO blob VALUES (randomblob(10))")
            connection.commit()
        # 40 rows of 40 kB are ~400 pages of log when nothing was checkpointed.
        frames = _wal_frames(database)
        assert frames < 50 if in_background else frames > 300
    finally:
        engine.dispose()


def test_no_thread_where_there_is_no_log(tmp_path: Path, postgres_url: str) -> None:
    for url in ("sqlite://", postgres_url):
        engine = make_engine(url)
        try:
            with background_checkpoints(engine) as thread:
                assert thread is None
        finally:
            engine.dispose()


def test_sequential_ids_are_version_7_and_ordered_by_creation() -> None:
    ids = [sequential_id() for _ in range(1000)]
    assert {key.version for key in ids} == {7}
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_connections_leave_checkpoints_to_the_thread_while_it_runs(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")

    def automatic() -> int:
        with engine.connect() as connection:
            return int(connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())

    try:
        default = automatic()
        assert default > 0
        with background_checkpoints(engine):
            assert automatic() == RUN_AUTOCHECKPOINT_PAGES > default
            assert automatic() == RUN_AUTOCHECKPOINT_PAGES
        # Given back as each connection returned to the pool, and not taken again.
        assert automatic() == default
        with engine.connect() as held, background_checkpoints(engine):
            # Checked out before the thread started: keeps its own setting.
            assert held.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == default
        assert automatic() == default
    finally:
        engine.dispose()
