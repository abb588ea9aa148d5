"""One owner per run: a lease on the run row, taken atomically, renewed while the
run executes, and checked by every commit of run state.

The lease is taken with one conditional UPDATE (free, stale, or already ours) whose
row count says whether we got it, so two processes resuming the same run at once
cannot both win, on SQLite (one writer at a time) as on PostgreSQL (the row lock
makes the loser re-check the condition after the winner commits). Each take bumps
`lease_generation`; every later commit of the run first renews the lease with the
owner id and generation in the WHERE clause, inside the same transaction. A process
whose lease was taken over therefore fails that UPDATE, and its transaction is rolled
back whole: a fenced-off process never writes again, whatever it was doing.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Engine, Table, or_, select, update

from mge.config import load_settings
from mge.db.engine import WRITE_OPTION
from mge.db.models import GenerationRun
from mge.errors import Conflict

_RUNS = cast(Table, GenerationRun.__table__)


class LeaseLost(Conflict):
    """Another process took the run over; this one must stop without writing."""


def _now() -> datetime:
    return datetime.now(UTC)


def lease_seconds() -> float:
    """The lease's lifetime: `MGE_RUN_LEASE_SECONDS`, or the default."""
    return load_settings().run_lease_seconds


@dataclass
class RunLease:
    """The lease this process holds on one run (see the module docstring)."""

    run_id: uuid.UUID
    seconds: float
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)
    generation: int = 0

    def take(self, engine: Engine) -> None:
        """Take the lease if it is free, stale or ours; otherwise a one-line Conflict."""
        now = _now()
        # Begun as a writer: on SQLite it queues for the write lock and then reads
        # fresh rows, instead of failing on a snapshot another taker made stale.
        writer = engine.execution_options(**{WRITE_OPTION: True})
        with writer.begin() as connection:
            taken = connection.execute(
                update(_RUNS)
                .where(
                    _RUNS.c.id == self.run_id,
                    or_(
                        _RUNS.c.lease_owner.is_(None),
                        _RUNS.c.lease_expires_at.is_(None),
                        _RUNS.c.lease_expires_at < now,
                        _RUNS.c.lease_owner == self.owner,
                    ),
                )
                .values(
                    lease_owner=self.owner,
                    lease_host=socket.gethostname()[:255],
                    lease_pid=os.getpid(),
                    lease_expires_at=now + timedelta(seconds=self.seconds),
                    lease_generation=_RUNS.c.lease_generation + 1,
                )
            )
            if taken.rowcount != 1:
                raise _busy(connection, self.run_id)
            self.generation = connection.execute(
                select(_RUNS.c.lease_generation).where(_RUNS.c.id == self.run_id)
            ).scalar_one()

    def renew(self, connection: Connection) -> None:
        """Extend the lease inside the caller's transaction, or raise `LeaseLost`.

        Called before every commit of run state: the UPDATE matches only while we
        own the lease, and on PostgreSQL it locks the row until the commit, so a
        take-over cannot slip in between the check and the write."""
        renewed = connection.execute(
            update(_RUNS)
            .where(
                _RUNS.c.id == self.run_id,
                _RUNS.c.lease_owner == self.owner,
                _RUNS.c.lease_generation == self.generation,
            )
            .values(lease_expires_at=_now() + timedelta(seconds=self.seconds))
        )
        if renewed.rowcount != 1:
            raise LeaseLost(
                f"run {self.run_id} was taken over by another process; "
                "this one stopped without writing"
            )

    def release(self, connection: Connection) -> None:
        """Give the lease up (the run stopped): a resume may start at once."""
        connection.execute(
            update(_RUNS)
            .where(
                _RUNS.c.id == self.run_id,
                _RUNS.c.lease_owner == self.owner,
                _RUNS.c.lease_generation == self.generation,
            )
            .values(lease_owner=None, lease_expires_at=None)
        )


def check_lease_free(connection: Connection, run_id: uuid.UUID) -> None:
    """Refuse (one line) a resume while another process's lease is alive."""
    row = connection.execute(
        select(_RUNS.c.lease_owner, _RUNS.c.lease_expires_at).where(_RUNS.c.id == run_id)
    ).one_or_none()
    if row is None or row.lease_owner is None or row.lease_expires_at is None:
        return
    if row.lease_expires_at >= _now():
        raise _busy(connection, run_id)


def _busy(connection: Connection, run_id: uuid.UUID) -> Conflict:
    """The one-line refusal naming the process that holds the run."""
    row = connection.execute(
        select(_RUNS.c.lease_pid, _RUNS.c.lease_host, _RUNS.c.lease_expires_at).where(
            _RUNS.c.id == run_id
        )
    ).one()
    expires = row.lease_expires_at
    until = f" until {expires:%Y-%m-%d %H:%M:%S} UTC" if expires is not None else ""
    return Conflict(
        f"run {run_id} is being executed by process {row.lease_pid} on {row.lease_host} "
        f"(lease held{until}); resume it once that process has stopped"
    )
