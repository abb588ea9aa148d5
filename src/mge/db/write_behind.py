"""Transactions committed on a thread of their own while the caller goes on.

A run's engine is one event loop. A commit made on it holds the loop for the
database's round trips and for the server's work on them: on PostgreSQL the
server is another process, so that time could go to the next attempts, but a
blocking commit leaves the loop idle until the server answers. `WriteBehind`
takes a transaction's work as a function of a connection and runs it on one
thread, over its own connection, in the order given; the caller waits only when
it must see what was written (`drain`).

Each job runs in one transaction, so what a job writes lands together or not at
all. A failed job is rolled back whole and ends the writing: the jobs given after
it are dropped, as a crash at that moment would have lost them, so what is stored
is always the jobs given up to some point, in order, never a later one without an
earlier one. The error is raised by every later `submit`, `drain` and `check`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from sqlalchemy import Connection, Engine

#: A transaction's work: given the connection, inside the open transaction.
Job = Callable[[Connection], None]


class WriteBehind:
    """One thread committing jobs in order (see the module docstring)."""

    def __init__(self, engine: Engine, *, name: str = "mge-write-behind") -> None:
        self._engine = engine
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Run `job` in a transaction of its own, after every job given before it."""
        self.check()
        if not self._thread.is_alive():
            raise RuntimeError("the write-behind thread was closed")
        self._jobs.put(job)

    @property
    def busy(self) -> bool:
        """A job given is not committed yet: a caller batching its writes can let
        them gather meanwhile, so the transactions grow as the server slows."""
        return self._jobs.unfinished_tasks > 0

    def drain(self) -> None:
        """Wait until every job given so far is committed or dropped; raise the
        error that ended the writing, if one did."""
        self._jobs.join()
        self.check()

    def check(self) -> None:
        """Raise the error that ended the writing, if one did, without waiting."""
        with self._lock:
            error = self._error
        if error is not None:
            raise error

    def close(self) -> None:
        """Commit what was given, stop the thread and give its connection back; the
        error that ended the writing, if one did, is raised."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()
        self.check()

    def _work(self) -> None:
        with self._engine.connect() as connection:
            while True:
                job = self._jobs.get()
                try:
                    if job is None:
                        return
                    self._run(connection, job)
                finally:
                    self._jobs.task_done()

    def _run(self, connection: Connection, job: Job) -> None:
        with self._lock:
            if self._error is not None:
                return  # dropped: an earlier job failed
        try:
            with connection.begin():
                job(connection)
        except BaseException as error:  # kept for the caller, whatever it was
            with self._lock:
                self._error = error
