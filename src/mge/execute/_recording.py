"""Recording attempts: the group commit, the atom rows' generation columns, the
run's totals and budget. An atom's new status and the attempt that earned it always
land in one transaction; with a hundred atoms in flight, one transaction per burst
of attempts keeps the database off the critical path.

While atoms are generated on PostgreSQL, the group commit is handed to a thread
(`WriteBehind`) instead of holding the event loop for the server's round trips:
measured on the scheduler bench, the loop spent most of the generate stage inside
commits, half of it waiting for the server, and every atom's next step waited with
it. One such transaction is in flight at a time (attempts finishing meanwhile join
the next), and any commit the session makes itself first waits for it, so what is
stored is always in the order it was recorded."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, event, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from mge.db.base import Base, sequential_id
from mge.db.bulk import BulkWrite, insert_rows
from mge.db.models import (
    AtomicUnit,
    AtomRetryHistory,
    AtomStatus,
    GenerationRun,
    RunStatus,
    TestType,
    ValidationLevel,
    ValidationResult,
)
from mge.db.write_behind import WriteBehind
from mge.errors import BudgetExhausted, DatabaseError
from mge.execute._lease import LeaseLost
from mge.execute._output import one_line
from mge.execute._run_state import (
    AtomState,
    RunCore,
    RunStopped,
    utcnow,
)
from mge.llm import CachingModel, ModelRequest, ModelResponse
from mge.validate import (
    AtomVerdict,
)

#: How long a recorded attempt may wait for the group commit that includes it.
GROUP_COMMIT_SECONDS = 0.05

#: The atom row's columns an attempt changes, written by the group commit.
_GENERATION_COLUMNS = (
    "status",
    "attempts",
    "code",
    "generated_at",
    "completed_at",
    "last_error",
    "loc",
    "complexity",
    "atomicity_score",
    "atomicity_violations",
    "is_atomic",
)


def _table(model: type[Base]) -> Table:
    """The model's table, for the group commit's bulk writes: rows given as dicts
    with every value set need none of the ORM's per-object bookkeeping."""
    return cast(Table, model.__table__)


_ROW_UPDATE = BulkWrite(
    update(_table(AtomicUnit))
    .where(_table(AtomicUnit).c.id == bindparam("row_id"))
    .values({name: bindparam(name) for name in (*_GENERATION_COLUMNS, "updated_at")})
)


class Recording(RunCore):
    """The recording part of a `Runner` (see the module docstring)."""

    def _listen(self) -> None:
        # What the thread still has to commit goes first: the session's own writes
        # come after it, and never wait for it while holding row locks. Then the
        # fence: a process that lost the run writes nothing, not even the attempts
        # waiting for this commit.
        event.listen(self.session, "before_flush", self._drain_behind)
        event.listen(self.session, "before_commit", self._drain_behind)
        event.listen(self.session, "before_commit", self._fence)
        event.listen(self.session, "before_commit", self._write_pending)
        event.listen(self.session, "after_flush", self._note_flush)
        event.listen(self.session, "after_commit", self._end_transaction)
        event.listen(self.session, "after_rollback", self._drop_pending)

    def _note_flush(self, _session: Session, _context: object) -> None:
        self._flushed = True

    def _end_transaction(self, _session: Session) -> None:
        self._flushed = False

    def _drain_behind(self, *_args: object) -> None:
        """Wait for the thread's transactions; a lost lease found there fences the
        run here as `_fence` would."""
        if self._behind is None:
            return
        try:
            self._behind.drain()
        except LeaseLost as lost:
            self.fenced = lost
            self.stop.set()
            raise
        except Exception as error:
            raise self._write_failed(error) from None

    def _write_failed(self, error: Exception) -> DatabaseError:
        """The thread stopped writing at a failed transaction: the run stops with
        one line saying why, and what it stored is whole up to that transaction."""
        if self.write_failed is None:
            self.write_failed = DatabaseError(f"the database refused a write: {one_line(error)}")
        return self.write_failed

    @contextlib.contextmanager
    def writing_behind(self) -> Iterator[None]:
        """Hand the group commits to a thread while the block runs, on PostgreSQL
        (the server stores a transaction in its own process, so the loop can go on
        meanwhile; SQLite stores it in this one). Everything handed over is
        committed when the block ends."""
        if self.engine.dialect.name != "postgresql":
            yield
            return
        self._behind = WriteBehind(self.engine)
        try:
            yield
        except BaseException:
            self._close_behind()
            raise
        self._close_behind()
        if self.write_failed is not None:
            raise self.write_failed

    def _close_behind(self) -> None:
        behind, self._behind = self._behind, None
        if behind is None:
            return
        try:
            behind.close()
        except LeaseLost as lost:
            self.fenced = lost
            self.stop.set()
        except Exception as error:
            self._write_failed(error)

    def _fence(self, session: Session) -> None:
        """Renew the lease inside the transaction being committed, or refuse it."""
        if self.fenced is not None:
            raise self.fenced
        if not self.lease.generation:
            return  # before `run()` took the lease (nothing of the run is written)
        try:
            self.lease.renew(session.connection())
        except LeaseLost as lost:
            self.fenced = lost
            self.stop.set()
            raise

    def _write_pending(self, session: Session) -> None:
        """Write what was recorded since the last commit inside the transaction being
        committed: an atom's new status and the attempt that earned it always land
        together."""
        _write_batch(session.connection(), self._take_batch(), self.run_id)

    def _cache_to_save(self) -> dict[str, Any] | None:
        """`resume_state` with the model's prompt cache as it is now, when that
        changed, taken as already stored: the cache is kept with the attempts that
        built it, so a resumed run is billed cache reads where the uninterrupted run
        would be. The dict is the row's current one (any change made through the ORM
        since the last commit included), so writing it loses nothing."""
        if not self._model_cache_changed():
            return None
        assert isinstance(self.model, CachingModel)
        cache = self.model.cache_state()
        self._saved_cache_size = len(cache)
        state = dict(self.run_row.resume_state or {}) | {"model_cache": cache}
        set_committed_value(self.run_row, "resume_state", state)
        return state

    def _take_batch(self) -> _Batch:
        """What waits for the group commit, taken out with the rows' values as they
        are now (the values written are the row's at commit time, so a change made
        through the ORM in between is never overwritten by an older one)."""
        attempts, self._pending_attempts = self._pending_attempts, []
        results, self._pending_results = self._pending_results, []
        rows, self._pending_rows = self._pending_rows, {}
        totals, self._totals_delta = self._totals_delta, {}
        now = utcnow()
        return _Batch(
            attempts,
            results,
            [
                {"row_id": row.id, "updated_at": now}
                | {name: getattr(row, name) for name in _GENERATION_COLUMNS}
                for row in rows.values()
            ],
            totals,
            self._cache_to_save(),
        )

    def _model_cache_changed(self) -> bool:
        """Whether the model's prompt cache grew since it was last saved."""
        return (
            isinstance(self.model, CachingModel)
            and len(self.model.cache_state()) != self._saved_cache_size
        )

    def update_resume_state(self, **values: Any) -> None:
        """Change `resume_state` (a new dict, so the change is written)."""
        current = dict(self.run_row.resume_state or {})
        for name, value in values.items():
            if value is None:
                current.pop(name, None)
            else:
                current[name] = value
        self.run_row.resume_state = current

    def _drop_pending(self, _session: Session) -> None:
        self._flushed = False
        self._pending_attempts.clear()
        self._pending_results.clear()
        self._pending_rows.clear()
        self._totals_delta.clear()

    def _set(self, state: AtomState, **values: Any) -> AtomicUnit:
        """Change generation columns of the atom's row without the ORM's unit of work:
        the in-memory row takes the values as already stored, and the group commit
        writes all changed rows in one executemany UPDATE. Per attempt, the ORM's
        change tracking and per-row flush cost more than the attempt's inserts. The
        values written are the row's at commit time, so a change made through the ORM
        in between (a flush included) is never overwritten by an older one."""
        row = self._row(state)
        for name, value in values.items():
            set_committed_value(row, name, value)
        self._pending_rows[row.id] = row
        return row

    def _commit_soon(self) -> None:
        """Commit within `GROUP_COMMIT_SECONDS`, together with whatever else finishes
        by then. With a hundred atoms in flight, attempts end in bursts; one
        transaction per burst instead of one per attempt is what keeps the database
        off the critical path. Every recorded attempt is committed before the run
        ends or stops (see `run`), and a crash loses at most the last few
        milliseconds of attempts, which `resume` simply generates again."""
        if self._commit_timer is None:
            loop = asyncio.get_running_loop()
            self._commit_timer = loop.call_later(GROUP_COMMIT_SECONDS, self._timed_commit)

    def _timed_commit(self) -> None:
        """The group commit from the timer: a fenced commit is rolled back here, and
        the run stops at its next call (`_check_can_call`)."""
        try:
            if not self._commit_behind():
                self.commit()
        except LeaseLost:
            self.session.rollback()

    def _commit_behind(self) -> bool:
        """Hand what waits for the group commit to the thread, when nothing else of
        the session's needs committing with it; False when the session must commit.

        The transaction handed over renews the lease first, as `_fence` does, so a
        fenced-off process writes nothing there either."""
        behind = self._behind
        if behind is None or self._flushed:
            return False
        session = self.session
        if session.new or session.dirty or session.deleted:
            return False
        self._commit_timer = None
        try:
            behind.check()
        except LeaseLost as lost:
            self.fenced = lost
            self.stop.set()
            raise
        except Exception as error:
            self._write_failed(error)  # the run stops at its next call
            return True
        if behind.busy:
            # One transaction at a time: what finishes meanwhile joins the next one.
            self._commit_soon()
            return True
        batch = self._take_batch()
        lease, run_id = self.lease, self.run_id

        def job(connection: Connection) -> None:
            lease.renew(connection)
            _write_batch(connection, batch, run_id)

        behind.submit(job)
        return True

    def commit(self) -> None:
        """Commit now, with every attempt still waiting for the group commit."""
        if self._commit_timer is not None:
            self._commit_timer.cancel()
            self._commit_timer = None
        self.session.commit()

    def _row(self, state: AtomState) -> AtomicUnit:
        """The atom's row, held for the whole run (the session's identity map keeps
        rows only while something refers to them, and a reload is a query)."""
        row = self._rows.get(state.row_id)
        if row is None:
            row = self._rows[state.row_id] = self.session.get_one(AtomicUnit, state.row_id)
        return row

    def _commit_totals(self, response: ModelResponse | None = None, attempts: int = 0) -> None:
        """Add to the run's totals as already stored (as `_set` does for atom rows):
        the group commit writes them as increments, with the attempts they count."""
        added: dict[str, float] = {"attempts_total": attempts}
        if response is not None:
            added |= {
                "input_tokens": response.input_tokens,
                "output_tokens": response.output_tokens,
                "cached_tokens": response.cached_tokens,
                "cost_usd": response.cost_usd,
            }
        run = self.run_row
        for name, value in added.items():
            if value:
                set_committed_value(run, name, getattr(run, name) + value)
                self._totals_delta[name] = self._totals_delta.get(name, 0) + value
        if response is not None:
            self.progress.event(
                "tokens",
                input_tokens=response.input_tokens,
                output_tokens=response.output_tokens,
                cached_tokens=response.cached_tokens,
            )
            self.progress.event("cost", cost_usd=float(run.cost_usd))

    def _set_report(self, **values: Any) -> None:
        report = dict(self.run_row.report or {})
        report.update(values)
        self.run_row.report = report

    def _check_can_call(self) -> None:
        if self.fenced is not None:
            raise RunStopped(RunStatus.INTERRUPTED, str(self.fenced))
        if self.write_failed is not None:
            raise RunStopped(RunStatus.FAILED, str(self.write_failed))
        if self.stop.is_set():
            raise RunStopped(RunStatus.INTERRUPTED, "stopped by the user")
        try:
            self.budget.check()
        except BudgetExhausted as error:
            self.stop.set()
            raise RunStopped(RunStatus.BUDGET_EXHAUSTED, str(error)) from None

    async def _call(self, request: ModelRequest) -> ModelResponse:
        """One model call held against the cap: its worst case is reserved first
        (skeletons, atoms and blame regenerations run concurrently, and each must
        count the others' calls in flight), and the real cost settles it."""
        try:
            # `_check_can_call` again once room is found: the run may have been
            # stopped while this call waited for others to settle.
            return await self.budget.call(self.model, request, go=self._check_can_call)
        except BudgetExhausted as error:
            self.stop.set()
            raise RunStopped(RunStatus.BUDGET_EXHAUSTED, str(error)) from None

    def _record_attempt(
        self,
        state: AtomState,
        *,
        trigger: str,
        attempt: int,
        temperature: float,
        prompt: str,
        response: ModelResponse | None,
        code: str | None,
        verdict: AtomVerdict | None,
        error_type: str | None,
        error_message: str | None,
        started: float,
    ) -> None:
        row = self._row(state)
        succeeded = verdict is not None and verdict.passed
        now = utcnow()
        self._pending_attempts.append(
            {
                "id": sequential_id(),
                "created_at": now,
                "updated_at": now,
                "atom_id": row.id,
                "run_id": self.run_id,
                "attempt_number": attempt,
                "temperature": temperature,
                "model": self.model.name,
                "trigger": trigger,
                "prompt": prompt,
                "generated_code": code,
                "succeeded": succeeded,
                "error_type": error_type,
                "error_message": error_message,
                "error_analysis": {
                    "classes": verdict.error_classes
                    if verdict
                    else ([error_type] if error_type else []),
                    "failures": [
                        {"check": f.check, "class": f.error_class, "output": f.output}
                        for f in (verdict.failures if verdict else [])
                    ],
                },
                "feedback": verdict.feedback() if verdict and not succeeded else None,
                "input_tokens": response.input_tokens if response else 0,
                "output_tokens": response.output_tokens if response else 0,
                "cached_tokens": response.cached_tokens if response else 0,
                "cost_usd": response.cost_usd if response else 0.0,
                "duration_seconds": time.perf_counter() - started,
            }
        )
        for result in verdict.results if verdict else ():
            self._pending_results.append(
                {
                    "id": sequential_id(),
                    "created_at": now,
                    "updated_at": now,
                    "masterplan_id": self.masterplan.id,
                    "atom_id": row.id,
                    "run_id": self.run_id,
                    "level": ValidationLevel.ATOMIC,
                    "test_type": TestType(result.test_type),
                    "check_name": result.check,
                    "scope": state.planned.file,
                    "attempt_number": attempt,
                    "passed": result.passed,
                    "output": result.output[:4000] or None,
                    "error_message": None if result.passed else result.output[:1000],
                    "details": dict(result.details),
                    "duration_seconds": result.duration_seconds,
                }
            )
        state.attempts = attempt
        changes: dict[str, Any] = {"attempts": attempt, "generated_at": now}
        if code is not None:
            changes["code"] = state.code = code
        if succeeded:
            assert verdict is not None
            changes |= {"status": AtomStatus.COMPLETED, "completed_at": now, "last_error": None}
            changes |= _measured(verdict)
            state.status = AtomStatus.COMPLETED
        else:
            changes["last_error"] = (verdict.feedback() if verdict else error_message) or None
        self._set(state, **changes)
        self._commit_totals(response, attempts=1)
        self._commit_soon()


@dataclass(frozen=True)
class _Batch:
    """One group commit's rows: new attempts and checks, atom rows' generation
    columns, the increments of the run's totals, and the run's `resume_state` when
    the model's prompt cache changed."""

    attempts: list[dict[str, Any]]
    results: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    totals: dict[str, float]
    resume_state: dict[str, Any] | None = None


_RUNS = _table(GenerationRun)


def _write_batch(connection: Connection, batch: _Batch, run_id: uuid.UUID) -> None:
    """One statement per table, inside the caller's transaction."""
    if batch.attempts:
        insert_rows(connection, _table(AtomRetryHistory), batch.attempts)
    if batch.results:
        insert_rows(connection, _table(ValidationResult), batch.results)
    _ROW_UPDATE.execute(connection, batch.rows)
    run: dict[str, Any] = {name: _RUNS.c[name] + value for name, value in batch.totals.items()}
    if batch.resume_state is not None:
        run["resume_state"] = batch.resume_state
    if run:
        connection.execute(update(_RUNS).where(_RUNS.c.id == run_id).values(run))


def _measured(verdict: AtomVerdict) -> dict[str, Any]:
    """An accepted atom's size, complexity and atomicity, measured on its code by the
    checks that accepted it (the plan predicts none of them)."""
    details = {result.check: result.details for result in verdict.results}
    loc = int(cast(int, details.get("size", {}).get("loc", 0)))
    complexity = float(cast(float, details.get("complexity", {}).get("complexity", 1.0)))
    violations = [
        name for name in ("size", "complexity") if details.get(name, {}).get("over_limit")
    ]
    return {
        "loc": loc,
        "complexity": complexity,
        "atomicity_score": 1.0 - 0.5 * len(violations),
        "atomicity_violations": violations,
        "is_atomic": not violations,
    }
