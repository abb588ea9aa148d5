"""Runs executing inside the service, and the event log each one streams.

Each run executes in a worker thread with its own event loop, supervised by an
asyncio task of the service: the engine commits to the database and runs test
suites synchronously, and none of that may stall the service's own loop. One run
at a time per masterplan; the engine's progress goes to the run's `EventLog` (for
server-sent events) and to the Prometheus metrics, through one `FanOut`.

Stopping is cooperative: `pause` and `cancel` set the engine's stop event (from
the service's thread, through the worker loop's `call_soon_threadsafe`), the
engine finishes the attempts in flight, commits, and ends `interrupted`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mge.db.models import GenerationRun, RunStatus
from mge.errors import Conflict
from mge.execute import FanOut, execute_run, run_report
from mge.monitoring import MetricsProgress, MgeMetrics
from mge.review import rank_after_run
from mge.validate.sandbox import ensure_available

__all__ = ["ActiveRun", "EventLog", "RunManager"]

MAX_EVENTS = 200_000
# A live run's report is recomputed at most this often, however many clients poll it.
REPORT_TTL_SECONDS = 0.5


class EventLog:
    """A run's progress events, numbered from 1, kept so a client that reconnects
    (`Last-Event-ID`) misses nothing. Written from the worker thread, read from the
    service's loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._events: list[tuple[int, str, str]] = []
        self._waiters: set[asyncio.Future[None]] = set()
        self._first = 1
        self.closed = False

    def event(self, kind: str, **data: Any) -> None:
        with self._lock:
            number = self._first + len(self._events)
            payload = json.dumps({"seq": number, "kind": kind, **data}, default=str)
            self._events.append((number, kind, payload))
            if len(self._events) > MAX_EVENTS:
                drop = len(self._events) - MAX_EVENTS
                del self._events[:drop]
                self._first += drop
        self._wake()

    def close(self) -> None:
        with self._lock:
            self.closed = True
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # the service loop is gone: nobody waits
            self._loop.call_soon_threadsafe(self._release)

    def _release(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    def since(self, last: int) -> tuple[list[tuple[int, str, str]], bool]:
        """Events numbered after `last`, and whether the log is closed."""
        with self._lock:
            start = max(last + 1 - self._first, 0)
            return self._events[start:], self.closed

    async def wait(self, last: int, timeout: float) -> None:
        """Return when there is an event after `last`, the log closes, or `timeout`."""
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiters.add(waiter)
        events, closed = self.since(last)
        if events or closed:
            self._waiters.discard(waiter)
            return
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)


@dataclass
class ActiveRun:
    run_id: uuid.UUID
    masterplan_id: uuid.UUID
    masterplan: str
    model: str
    log: EventLog
    task: asyncio.Task[None] | None = None
    cancel_requested: bool = False
    _stop_requested: bool = False
    _stop: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def request_stop(self) -> None:
        with self._lock:
            self._stop_requested = True
            loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the worker loop has already finished
                loop.call_soon_threadsafe(stop.set)

    def _attach(self, loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
        with self._lock:
            self._loop, self._stop = loop, stop
            if self._stop_requested:
                stop.set()


class RunManager:
    """The service's live runs (and the event logs of recently finished ones)."""

    def __init__(self, engine: Engine, metrics: MgeMetrics, *, keep_finished: int = 50) -> None:
        self.engine = engine
        self.metrics = metrics
        self.keep_finished = keep_finished
        self._active: dict[uuid.UUID, ActiveRun] = {}
        self._finished: OrderedDict[uuid.UUID, EventLog] = OrderedDict()
        self._lock = threading.Lock()
        # Held while a run is checked and stored, so two starts cannot both pass the check.
        self.create_lock = threading.Lock()
        self._reports: dict[uuid.UUID, tuple[float, dict[str, Any]]] = {}
        self._report_locks: dict[uuid.UUID, threading.Lock] = {}

    # -- reports ----------------------------------------------------------------

    def report(self, run_id: uuid.UUID) -> dict[str, Any]:
        """The contract report plus `live`; call from a worker thread.

        Polling clients share one computation: a live run's report is at most
        `REPORT_TTL_SECONDS` old, and concurrent callers wait for the one being
        computed instead of each querying the database. A run that is not executing
        here is read afresh every time (it may be changed by `mge resume` elsewhere).
        """
        if self.active(run_id) is None:
            report = run_report(self.engine, run_id)
            report["live"] = False
            return report
        with self._lock:
            lock = self._report_locks.setdefault(run_id, threading.Lock())
        with lock:
            cached = self._reports.get(run_id)
            if cached is not None and time.monotonic() - cached[0] < REPORT_TTL_SECONDS:
                return dict(cached[1])
            report = run_report(self.engine, run_id)
            report["live"] = self.active(run_id) is not None
            if report["live"]:
                self._reports[run_id] = (time.monotonic(), report)
            return dict(report)

    def _forget_report(self, run_id: uuid.UUID) -> None:
        self._reports.pop(run_id, None)

    # -- queries --------------------------------------------------------------

    def active(self, run_id: uuid.UUID) -> ActiveRun | None:
        with self._lock:
            return self._active.get(run_id)

    def active_for_masterplan(self, masterplan_id: uuid.UUID) -> ActiveRun | None:
        with self._lock:
            for run in self._active.values():
                if run.masterplan_id == masterplan_id:
                    return run
        return None

    def log_of(self, run_id: uuid.UUID) -> EventLog | None:
        with self._lock:
            active = self._active.get(run_id)
            return active.log if active is not None else self._finished.get(run_id)

    # -- lifecycle --------------------------------------------------------------

    def start(
        self, run_id: uuid.UUID, *, masterplan_id: uuid.UUID, masterplan: str, model: str
    ) -> ActiveRun:
        """Start executing a stored run; the caller is on the service's loop.

        Raises:
            Conflict: another run of this masterplan is executing.
            SandboxUnavailable: generated code cannot be sandboxed here (said at once,
                not after the generation it would have cost).
        """
        ensure_available()
        loop = asyncio.get_running_loop()
        with self._lock:
            for other in self._active.values():
                if other.masterplan_id == masterplan_id:
                    raise Conflict(
                        f"masterplan {masterplan_id} already has run {other.run_id} executing"
                    )
            active = ActiveRun(run_id, masterplan_id, masterplan, model, EventLog(loop))
            self._active[run_id] = active
            self._finished.pop(run_id, None)
        self._forget_report(run_id)
        active.task = asyncio.create_task(self._supervise(active), name=f"mge-run-{run_id}")
        return active

    async def _supervise(self, active: ActiveRun) -> None:
        try:
            status = await asyncio.to_thread(self._execute, active)
            if active.cancel_requested and status is not RunStatus.COMPLETED:
                await asyncio.to_thread(self._mark_cancelled, active.run_id)
                status = RunStatus.CANCELLED
            report = await asyncio.to_thread(run_report, self.engine, active.run_id)
            active.log.event("status", **report)
        except Exception as error:  # a crash must still close the stream and free the plan
            active.log.event("error", message=str(error) or type(error).__name__)
        finally:
            active.log.close()
            with self._lock:
                self._active.pop(active.run_id, None)
                self._reports.pop(active.run_id, None)
                self._report_locks.pop(active.run_id, None)
                self._finished[active.run_id] = active.log
                while len(self._finished) > self.keep_finished:
                    self._finished.popitem(last=False)

    def _execute(self, active: ActiveRun) -> RunStatus:
        metrics = MetricsProgress(self.metrics.run(active.masterplan, model=active.model))
        progress = FanOut(active.log, metrics)

        async def main() -> RunStatus:
            stop = asyncio.Event()
            active._attach(asyncio.get_running_loop(), stop)
            return await execute_run(
                self.engine, active.run_id, progress=progress, stop=stop, after_run=rank_after_run
            )

        return asyncio.run(main())

    def _mark_cancelled(self, run_id: uuid.UUID) -> None:
        with Session(self.engine) as session:
            row = session.get_one(GenerationRun, run_id)
            row.status = RunStatus.CANCELLED
            row.error = row.error or "cancelled by the user"
            session.commit()

    def stop(self, run_id: uuid.UUID, *, cancel: bool = False) -> ActiveRun | None:
        active = self.active(run_id)
        if active is not None:
            active.cancel_requested = active.cancel_requested or cancel
            active.request_stop()
        return active

    async def shutdown(self, timeout: float = 30.0) -> None:
        """Stop every run (they end `interrupted`, resumable) and wait for them."""
        with self._lock:
            runs = list(self._active.values())
        for run in runs:
            run.request_stop()
        tasks = [run.task for run in runs if run.task is not None]
        if tasks:
            deadline = time.monotonic() + timeout
            await asyncio.wait(tasks, timeout=max(deadline - time.monotonic(), 0.1))
