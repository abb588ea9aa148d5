"""The schedules: eager (each atom starts the moment its last prerequisite
completes, longest chain of dependents first) and the seed's wave barriers, and the
waves' bookkeeping."""

from __future__ import annotations

import asyncio
import functools
import heapq
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select

from mge.db.models import (
    AtomicUnit,
    AtomRetryHistory,
    AtomStatus,
    ExecutionWave,
    WaveStatus,
)
from mge.execute._generation import Generation
from mge.execute._open_chains import OpenChains
from mge.execute._run_state import (
    FINAL_STATUSES,
)
from mge.execute._slots import ModelSlot, current_slot
from mge.store.review_items import priority_of

# The trigger of attempts made because a later atom's L1 failures blamed this one's
# code (and of that later atom's attempts after the repair).
CONTEXT_TRIGGER = "blame:atomic"
# The trigger of the attempts a failed atom gets once everything else is generated.
SECOND_PASS_TRIGGER = "second-pass"
UNDEFINED_NAME = re.compile(r"undefined name '(\w+)'")


def context_at_fault(errors: list[str]) -> bool:
    """Whether an atom's failed attempts point at its context: two or more, all with
    the same L1 error. Independent wrong answers fail in different ways; the same
    error every time, whatever the answer, comes from the code around it."""
    return len(errors) >= 2 and len(set(errors)) == 1


class Scheduling(Generation):
    """The schedule part of a `Runner` (see the module docstring)."""

    def _holding(self, change: int) -> None:
        self.in_flight += change
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    async def _run_atom(
        self,
        key: str,
        limit: asyncio.Semaphore,
        wanting: Callable[[int], None] = lambda _change: None,
    ) -> None:
        """Generate one atom, holding one of `limit`'s model-call slots only while it
        calls the model (see `_slots`)."""
        slot = ModelSlot(limit, wanting=wanting, holding=self._holding)
        token = current_slot.set(slot)
        try:
            await slot.take()
            if self.stop.is_set():
                return
            self.progress.event("atom_started", atom=key)
            self._wave_started.setdefault(self.states[key].wave or 1, time.perf_counter())
            failures: list[str] = []
            passed = await self._generate(key, failures=failures)
            if not passed and context_at_fault(failures):
                passed = await self._repair_context(key, failures[-1])
            self.progress.event(
                "validation", level="atomic", scope=key, check="atomic", passed=passed
            )
            if not passed:
                self._fail(key)
        finally:
            slot.give_back()
            current_slot.reset(token)
        self.progress.event("atom_done", atom=key, status=self.states[key].status.value)
        self._report_finished_waves()

    async def _repair_context(self, key: str, error: str) -> bool:
        """Regenerate the code an atom's answers are judged against, then try the
        atom again; returns whether it passed.

        Every attempt failing the same way says the context is wrong, not the
        answers: an earlier piece cut short leaves a later `elif` with no `if`, or
        a name a later piece reads unbound. When the error names undefined names,
        the completed atoms whose plan binds them are regenerated together and the
        atom gets blame's budget of attempts. Otherwise the cause is an earlier
        piece of the same body, not always the nearest: a piece that lost its
        closing `} else if (…) {` line still ends between statements, and the
        broken structure shows only at the body's last piece. So the earlier
        pieces are regenerated one at a time, nearest first, each followed by one
        attempt of the atom, until it passes or its budget is spent. Each
        regeneration has blame's budget and the error as feedback. Once an attempt
        after a repair fails another way, the context is taken as repaired and the
        atom gets `max_attempts` attempts on it, as a generation does: the attempts
        the broken context failed said nothing of its own answers."""
        binders, pieces = self._context_suspects(key, error)
        if binders:
            if not await self._regenerate_context(binders, key, error):
                return False
            return await self._generate(
                key, trigger=CONTEXT_TRIGGER, limit=self.blame_limit(key), feedback=error
            )
        for piece in pieces:
            state = self.states[key]
            if state.attempts >= self.blame_limit(key):
                return False
            if not await self._regenerate_context([piece], key, error):
                continue
            failures: list[str] = []
            if await self._generate(
                key,
                trigger=CONTEXT_TRIGGER,
                limit=state.attempts + 1,
                feedback=error,
                failures=failures,
            ):
                return True
            if failures and failures[-1] != error:
                # The error every attempt had is gone: the context was repaired, and
                # the attempts it broke never judged the atom's own answers. It gets
                # what a generation gets, on the repaired context.
                return await self._generate(
                    key,
                    trigger=CONTEXT_TRIGGER,
                    limit=state.attempts + self.settings.max_attempts - 1,
                    feedback=failures[-1],
                )
        return False

    async def _regenerate_context(self, suspects: list[str], key: str, error: str) -> bool:
        """Regenerate `suspects` for the atom `key`; whether any was."""
        repaired = False
        for suspect in suspects:
            state = self.states[suspect]
            # RUNNING: another later piece is having it regenerated right now.
            if state.status is not AtomStatus.COMPLETED:
                continue
            if state.attempts >= self.blame_limit(suspect):
                continue
            feedback = (
                f"- [context] {key}, the code that follows or reads this atom, fails "
                f"atomic validation the same way on every attempt:\n{error[:1500]}"
            )
            repaired |= await self.regenerate(suspect, feedback=feedback, trigger=CONTEXT_TRIGGER)
            self._reconsider.append(suspect)
        return repaired

    def _context_suspects(self, key: str, error: str) -> tuple[list[str], list[str]]:
        """The completed atoms this one needs the behaviour of that the error points
        at: those whose plan binds a name it reports undefined; and the earlier
        pieces of the same body or class, nearest first (a block's syntax depends on
        them)."""
        state = self.states[key]
        needed = [p for p in state.needs_behaviour if self.states[p].status is AtomStatus.COMPLETED]
        undefined = set(UNDEFINED_NAME.findall(error))
        binders = [
            p for p in needed if undefined & {*self.states[p].defines, *self.states[p].binds}
        ]
        # Every earlier piece, not only the one this piece's plan says it needs
        # (each piece needs its predecessor): the cause may lie further back.
        same_body = [
            p
            for p in self.files[state.planned.file]
            if self.states[p].planned.qualname == state.planned.qualname
            and self.states[p].piece < state.piece
            and self.states[p].status is AtomStatus.COMPLETED
        ]
        return sorted(binders), sorted(same_body, key=lambda p: -self.states[p].piece)

    async def _second_pass(self) -> None:
        """Give each failed atom one more chance once the rest is generated, then
        generate what it blocked.

        A failed atom is a stub, and every atom that needs its behaviour waits
        behind it: one step of a long function that failed takes the whole function
        down. Its attempts so far were judged while the code around it was still
        being written; now that code is there, and the atom gets blame's budget of
        attempts (`blame_attempts`, the same budget a blamed atom gets), with its
        last L1 error as feedback. An atom gets the pass once (noted on its row, so
        a resumed run does not repeat it); one that passes stays in review, since it
        needed more attempts than most."""
        while self.settings.second_pass and not self.stop.is_set():
            chances = [
                key
                for key, state in self.states.items()
                if state.status is AtomStatus.FAILED
                and not self._row(state).extra.get("second_pass")
                and state.attempts < self.blame_limit(key)
            ]
            if not chances:
                return
            limit = asyncio.Semaphore(self.settings.concurrency)
            recovered: list[str] = []
            await self._gather([self._second_chance(key, limit, recovered) for key in chances])
            self.session.commit()
            if not recovered:
                return
            # What waited behind an atom that now passes is generated now; what
            # still waits behind another failed atom is blocked again by `_eager`.
            for state in self.states.values():
                if state.status is AtomStatus.BLOCKED:
                    state.status = AtomStatus.PENDING
                    self._row(state).status = AtomStatus.PENDING
            await (self._waves() if self.settings.schedule == "waves" else self._eager())
            self.commit()

    async def _second_chance(
        self, key: str, limit: asyncio.Semaphore, recovered: list[str]
    ) -> None:
        async with limit:
            state = self.states[key]
            row = self._row(state)
            row.extra = {**row.extra, "second_pass": True}
            self.progress.event("atom_started", atom=key)
            passed = await self._generate(
                key,
                trigger=SECOND_PASS_TRIGGER,
                limit=self.blame_limit(key),
                feedback=row.last_error,
            )
            if passed:
                recovered.append(key)
                self._queue_review(
                    row,
                    reason="passed atomic validation on the second pass",
                    priority=priority_of(
                        failed=False, blamed=True, blocked=0, confidence=row.confidence_score or 0.0
                    ),
                )
            else:
                row.status = AtomStatus.FAILED
                state.status = AtomStatus.FAILED
            self._commit_soon()
            self.progress.event("atom_done", atom=key, status=state.status.value)

    def _report_finished_waves(self) -> None:
        """Send `wave_done` for every started wave whose atoms are all final, once."""
        if not self._wave_members:
            for state in self.states.values():
                self._wave_members.setdefault(state.wave or 1, []).append(state)
        for number, began in list(self._wave_started.items()):
            members = self._wave_members.get(number, [])
            # While atoms are scheduled a final status stays final, so members once
            # seen final are skipped: each completion costs O(1) amortised, not O(atoms).
            seen = self._wave_final.get(number, 0)
            while seen < len(members) and members[seen].status in FINAL_STATUSES:
                seen += 1
            self._wave_final[number] = seen
            if seen == len(members):
                del self._wave_started[number]
                self.progress.event(
                    "wave_done", wave=number, duration_seconds=time.perf_counter() - began
                )

    async def _eager(self) -> None:
        """Start each atom the moment its last prerequisite completes."""
        limit = asyncio.Semaphore(self.settings.concurrency)
        for key, state in self.states.items():
            if state.status in (
                AtomStatus.PENDING,
                AtomStatus.READY,
            ) and self._lost_prerequisite(key):
                self._block_dependents_of_failed(key)
        self.session.commit()
        # Ready atoms start longest chain of dependents first (then in plan order), so
        # the critical path never queues behind atoms with slack; and never more at
        # once than the concurrency allows: a task per ready atom waiting on the
        # semaphore would make every completion walk all of them (10,000 on a wide plan).
        heights = self._heights()
        priority = {key: (-height, index) for index, (key, height) in enumerate(heights.items())}
        # The same order for the atoms' checks, where they wait for a validation worker.
        self.judge_priority = {key: -height for key, height in heights.items()}
        self.open_chains = OpenChains(
            heights,
            (key for key, state in self.states.items() if state.status not in FINAL_STATUSES),
        )
        ready: list[tuple[tuple[int, int], str]] = []
        started: set[str] = set()
        running: set[asyncio.Task[None]] = set()
        finished: deque[tuple[str, asyncio.Task[None]]] = deque()
        wake = asyncio.Event()

        def consider(candidates: Iterable[str]) -> None:
            # Only an atom whose prerequisite just finished can have become ready, so
            # each completion looks at its dependents, not at every atom of the run.
            for key in candidates:
                if key not in started and self._ready(key):
                    started.add(key)
                    heapq.heappush(ready, (priority[key], key))

        def on_done(key: str, task: asyncio.Task[None]) -> None:
            finished.append((key, task))
            wake.set()

        # Atoms started that want a model-call slot (waiting for one or holding it):
        # an atom whose answer is being judged wants none, so the next ready atom
        # starts then, not once the atom is done.
        wanting = 0

        def on_wanting(change: int) -> None:
            nonlocal wanting
            wanting += change
            if change < 0:
                wake.set()

        def launch() -> None:
            nonlocal wanting
            while ready and wanting < self.settings.concurrency and not self.stop.is_set():
                _, key = heapq.heappop(ready)
                wanting += 1  # counted now: the task asks for its slot once it runs
                task = asyncio.ensure_future(self._run_atom(key, limit, on_wanting))
                task.add_done_callback(functools.partial(on_done, key))
                running.add(task)

        self._newly_blocked.clear()
        consider(self.states)
        launch()
        try:
            while running:
                await wake.wait()
                wake.clear()
                launch()  # a slot may have been given back for an atom's checks
                done: list[str] = []
                while finished:
                    key, task = finished.popleft()
                    running.discard(task)
                    task.result()
                    done.append(key)
                # An atom blocked meanwhile never finishes: what needs only its
                # interface is looked at now.
                done.extend(self._newly_blocked)
                self._newly_blocked.clear()
                done.extend(self._reconsider)
                self._reconsider.clear()
                for key in done:
                    self.open_chains.close(key)
                consider(d for key in done for d in self.states[key].dependents)
                launch()
        except BaseException:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise

    async def _waves(self) -> None:
        """The seed's barrier schedule: a wave starts when the previous one is done."""
        limit = asyncio.Semaphore(self.settings.concurrency)
        by_wave: dict[int, list[str]] = {}
        for key, state in self.states.items():
            by_wave.setdefault(state.wave or 1, []).append(key)
        for number in sorted(by_wave):
            keys = [k for k in by_wave[number] if self.states[k].status not in FINAL_STATUSES]
            ready = []
            for key in keys:
                if self._ready(key):
                    ready.append(key)
                elif self._lost_prerequisite(key):
                    self._block_dependents_of_failed(key)
            self.session.commit()
            if self.stop.is_set():
                return
            await self._gather([self._run_atom(key, limit) for key in ready])

    def _update_waves(self) -> None:
        waves = self.session.scalars(
            select(ExecutionWave).where(ExecutionWave.graph_id == self.masterplan.graph_id)
        )
        for wave in waves:
            statuses = [self.states[k].status for k in wave.atom_ids if k in self.states]
            wave.atoms_completed = sum(s is AtomStatus.COMPLETED for s in statuses)
            wave.atoms_failed = sum(s in (AtomStatus.FAILED, AtomStatus.BLOCKED) for s in statuses)
            if all(s is AtomStatus.COMPLETED for s in statuses):
                wave.status = WaveStatus.COMPLETED
            elif all(s in FINAL_STATUSES for s in statuses):
                wave.status = WaveStatus.FAILED if wave.atoms_completed == 0 else WaveStatus.PARTIAL
            elif any(s in FINAL_STATUSES for s in statuses):
                wave.status = WaveStatus.RUNNING

    def _record_wave_timing(self) -> None:
        """Wave start and end times from the attempts of their atoms."""
        rows = self.session.execute(
            select(AtomicUnit.wave_number, AtomRetryHistory.created_at)
            .join(AtomRetryHistory, AtomRetryHistory.atom_id == AtomicUnit.id)
            .where(AtomicUnit.masterplan_id == self.masterplan.id)
        ).all()
        spans: dict[int, list[datetime]] = {}
        for wave_number, created in rows:
            if wave_number is not None:
                spans.setdefault(wave_number, []).append(created)
        waves = self.session.scalars(
            select(ExecutionWave).where(ExecutionWave.graph_id == self.masterplan.graph_id)
        )
        for wave in waves:
            times = spans.get(wave.wave_number)
            if times:
                wave.started_at, wave.completed_at = min(times), max(times)
                wave.duration_seconds = (max(times) - min(times)).total_seconds()
