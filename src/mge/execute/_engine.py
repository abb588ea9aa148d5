"""The execution engine: skeletons, atoms, graph, then every atom generated in
dependency order, validated, retried with feedback, and stored after every attempt.

State lives in the database, not in this process: an atom's status, attempts and
code are committed after each attempt, so a run killed at any moment resumes where
it stopped (`run_generation` on the same run id) and, with the replay model and a
fixed seed, ends with the same output as an uninterrupted run. What makes that
true is that nothing an attempt sees depends on timing: its prompt and its checks
use only the atom's own prerequisites, which are always complete before it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from mge.db.models import (
    AtomicUnit,
    AtomStatus,
    MasterPlan,
    MasterPlanTask,
    RunStatus,
)
from mge.db.wal import background_checkpoints
from mge.errors import DatabaseError, MgeError
from mge.execute._assembly import Assembled, PlannedAtom, assemble, is_script, top_level_names
from mge.execute._gc import collector_frozen as _collector_frozen
from mge.execute._hierarchy import Hierarchy
from mge.execute._lease import LeaseLost
from mge.execute._output import (
    check_copied,
    clean_leftovers,
    copy_files,
    copy_tests,
    module_name,
    one_line,
    write_files,
)
from mge.execute._run_state import (
    FINAL_STATUSES,
    RunStopped,
    utcnow,
)
from mge.execute._schedule import Scheduling
from mge.execute._stand_ins import (
    class_stand_in,
    imported_from,
    missing_module,
    skeleton_stand_in,
)
from mge.execute.executor import run_project_tests
from mge.execute.measurement import measure_against_reference
from mge.validate.testing import TestOutcome


class Runner(Scheduling):
    """One execution of one run; build it with `Runner(engine, run_id)` and call `run()`."""

    def _final_code(self, planned: PlannedAtom) -> str | None:
        # A failed atom's last candidate stays in the database for review; the project
        # gets its stub, so one bad atom cannot stop the rest from importing.
        state = self.states[planned.atom_id]
        if state.status is AtomStatus.COMPLETED:
            script = is_script(planned.file)
            if planned.kind == "module_header" and not planned.indent and state.code and not script:
                # Accepted on its last attempt without an import its skeleton planned
                # (a plan mismatch is not fatal then): the skeleton's own line for
                # the names it lost keeps the file importable; the atom's code, as
                # the model wrote it, stays in the database for review.
                lost = [name for name in state.defines if name not in top_level_names(state.code)]
                if lost:
                    skeleton = self._skeletons.get(planned.file, "")
                    code = state.code if state.code.endswith("\n") else state.code + "\n"
                    return code + skeleton_stand_in(skeleton, lost)
            return state.code
        if is_script(planned.file):
            if planned.kind in ("module_header", "statement") and not planned.indent:
                skeleton = self._skeletons.get(planned.file, "")
                return skeleton_stand_in(skeleton, state.defines, state.language) or None
            return None  # the stub of its planned signature (`filler`)
        if planned.kind == "class_header" and state.piece == 0:
            # The skeleton's `class` line, bases included: its methods still fit.
            skeleton = self._skeletons.get(planned.file, "")
            return class_stand_in(skeleton, planned.qualname, planned.indent, planned.body_indent)
        if planned.kind in ("module_header", "statement") and not planned.indent:
            # The skeleton's imports and constants for the names it was to bind.
            skeleton = self._skeletons.get(planned.file, "")
            return skeleton_stand_in(skeleton, state.defines) or None
        return None

    def written(self, file: str) -> Assembled:
        """One file as the project is written: completed atoms' code, stubs and
        stand-ins for the rest. The levels after generation check this text, so what
        they pass, and the lines blame maps onto atoms, are those of the output."""
        keys = self.files[file]
        return assemble(
            [self.states[k].planned for k in keys],
            self._final_code,
            defines={k: self.states[k].defines for k in keys},
            whole_definitions=True,
        )

    def missing_files(self) -> dict[str, str]:
        """Stand-ins for the planned Python files whose skeleton was rejected on every
        attempt (see `missing_module`): without them, every file importing one would
        fail to import, and with it every test of the package."""
        missing = [
            file
            for file in self.task_of_file
            if file.endswith(".py") and file not in self._skeletons and file not in self.files
        ]
        texts: dict[str, str] = {}
        for file in missing:
            module = module_name(file)
            names = imported_from(module, self._skeletons) if module else []
            texts[file] = missing_module(file, names)
        return texts

    def planned_tests(self) -> list[str]:
        """Every test file the plan names, in plan order, each once."""
        return list(
            dict.fromkeys(
                [test for task in self.plan.tasks() for test in task.tests]
                + [test for phase in self.plan.phases for m in phase.milestones for test in m.tests]
                + list(self.plan.acceptance)
            )
        )

    def copied_files(self) -> list[str]:
        """The files the plan has copied rather than generated: support, then assets."""
        return [*self.plan.support, *(asset.path for asset in self.plan.assets)]

    def _prepare_output(self) -> list[str]:
        """The tests and the files copied beside the generated code (support files,
        assets), read where the tests are: L2 to L4 and the final run see them all."""
        out = self.settings.out_path
        out.mkdir(parents=True, exist_ok=True)
        copy_files(self.tests_dir, out, self.copied_files())
        return copy_tests(self.tests_dir, out, self.planned_tests())

    def _finish(self, copied: list[str], final: TestOutcome | None) -> None:
        """Write the project, take the acceptance verdict, compare with the reference."""
        out = self.settings.out_path
        files = {file: self.written(file).text for file in self.files}
        for file in self._skeletons:
            files.setdefault(file, "")  # planned empty (a package's `__init__.py`)
        for file, text in self.missing_files().items():
            files.setdefault(file, text)
        write_files(out, files)
        acceptance = [test for test in (self.plan.acceptance or copied) if test in copied]
        if final is None and self.settings.run_tests:
            final = run_project_tests(
                self.plan.language,
                self.executor,
                out,
                acceptance,
                timeout=self.settings.test_timeout_seconds,
                modules=sorted(files),
                runner=self.plan.test_runner,
                node_modules=self.node_modules,
            )
        accepted = final or TestOutcome()
        outcome = accepted
        precision = 100.0 * accepted.passed / accepted.total if accepted.total else None
        self.run_row.precision_percent = precision
        self.masterplan.precision_percent = precision
        # The step after the run (the review queue's ranking, as the CLI and the API
        # run it) reads every attempt, including any still waiting for a commit.
        self._write_pending(self.session)
        if self.after_run is not None:
            self.after_run(self.session, self.run_id)
        reference_match: float | None = None
        silent: int | None = None
        if self.reference_dir is not None and self.model.simulated:
            # The labelled measurement, once everything the run decides is decided.
            self.session.flush()
            measure = measure_against_reference(
                self.session.scalars(
                    select(AtomicUnit).where(AtomicUnit.masterplan_id == self.masterplan.id)
                ),
                self.reference_dir,
                self.config,
            )
            if measure is not None:
                reference_match = measure.reference_match_percent
                silent = measure.silent_faults
        self._set_report(
            tests=outcome.to_dict(),
            test_failures=[{"test": f.test, "message": f.message} for f in outcome.failures[:50]],
            reference_match_percent=reference_match,
            silent_faults=silent,
            files=sorted(files),
        )
        self.session.commit()

    async def _heartbeat(self) -> None:
        """Renew the lease between commits (a long test run commits nothing): each
        commit renews it (`_fence`), so a beat is a commit; a lost lease stops the
        run, whose every later commit is refused."""
        while True:
            await asyncio.sleep(self.lease.seconds / 3)
            try:
                self.commit()
            except LeaseLost:
                self.session.rollback()
                return
            except (SQLAlchemyError, DatabaseError):
                self.session.rollback()  # busy for now: the next beat or commit renews

    async def run(self) -> RunStatus:
        """Execute the run under its lease; raises `LeaseLost` (writing nothing more)
        when another process took the run over while this one executed it."""
        # The session's reads so far end here: what follows sees the lease taken.
        self.session.commit()
        self.lease.take(self.engine)
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            return await self._run_owned()
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            if self.fenced is None:
                with self.engine.begin() as connection:
                    self.lease.release(connection)

    async def _run_owned(self) -> RunStatus:
        run = self.run_row
        clean_leftovers(self.settings.out_path)
        run.status = RunStatus.RUNNING
        run.started_at = run.started_at or utcnow()
        run.error = None
        self.session.commit()
        began = time.perf_counter()
        status = RunStatus.COMPLETED
        generating = keep = False
        self.progress.event(
            "run_started",
            run_id=str(self.run_id),
            masterplan=self.masterplan.name,
            concurrency=self.settings.concurrency,
            budget_usd=self.settings.budget_usd,
        )
        try:
            # Before any model call: a resumed run may find its inputs changed.
            check_copied(self.tests_dir, self.plan)
            # The executor serves the model calls, the skeletons' first among them.
            self._start_executor()
            self._skeletons = await self._skeleton_stage()
            graph = self._plan_graph(self._skeletons)
            await self._start_judges(len(graph[0]) if graph else self._pending_stored())
            if graph is not None:
                self._save_graph(graph)
            self._load_states()
            await self._load_judges()
            run.atoms_total = len(self.states)
            self.session.commit()
            self.progress.event(
                "stage",
                name="generate",
                atoms=len(self.states),
                done=sum(s.status in FINAL_STATUSES for s in self.states.values()),
            )
            generating = True
            with _collector_frozen(), background_checkpoints(self.engine), self.writing_behind():
                if self.settings.schedule == "waves":
                    await self._waves()
                else:
                    await self._eager()
                await self._second_pass()
            self.commit()
            generating = False
            self._report_finished_waves()
            if self.stop.is_set():
                status = RunStatus.INTERRUPTED
            else:
                self.progress.event("stage", name="validate")
                copied = self._prepare_output()
                final = None
                if self.settings.levels == "all" and self.settings.run_tests:
                    final = await Hierarchy(self).run()
                self.progress.event("stage", name="output")
                self._finish(copied, final)
        except RunStopped as stopped:
            status = stopped.status
            run.error = stopped.reason
            keep = True
        except (asyncio.CancelledError, KeyboardInterrupt):
            status = RunStatus.INTERRUPTED
            run.error = "interrupted"
            keep = True
        except MgeError as error:
            status = RunStatus.FAILED
            run.error = str(error)
            keep = True
        except Exception as error:
            # Whatever went wrong, the run is stored as what it is: failed, with one
            # line saying why, and `mge resume` continues it once that is fixed.
            status = RunStatus.FAILED
            run.error = one_line(error)
            keep = True
        finally:
            if self.fenced is not None:
                # Another process owns the run now: stop without writing anything.
                self.session.rollback()
                await self._release_resources()
                raise self.fenced  # the fence outranks any other outcome
            reason = run.error
            if keep and generating and self.write_failed is None:
                # These stops come between attempts or while waiting for the model, so
                # what waits for the group commit is whole attempts: keep them (unless
                # a group commit failed: what came after it is dropped with it).
                await self._commit_or_stop()
            else:
                # Elsewhere the rollback discards half-done work.
                self.session.rollback()
            if self._commit_timer is not None:
                self._commit_timer.cancel()
                self._commit_timer = None
            run.error = reason
            await self._release_resources()
            for state in self.states.values():
                if state.status is AtomStatus.RUNNING:
                    state.status = AtomStatus.PENDING
                    self._row(state).status = AtomStatus.PENDING
            run.duration_seconds = float(run.duration_seconds or 0.0) + time.perf_counter() - began
            run.atoms_completed = sum(
                s.status is AtomStatus.COMPLETED for s in self.states.values()
            )
            run.atoms_failed = sum(s.status is AtomStatus.FAILED for s in self.states.values())
            if self.states:
                self._update_waves()
                self._record_wave_timing()
            run.status = status
            run.finished_at = utcnow()
            previous_peak = int((run.report or {}).get("max_in_flight", 0))
            self._set_report(max_in_flight=max(self.max_in_flight, previous_peak))
            await self._commit_or_stop()
            self.progress.event(
                "run_finished",
                run_id=str(self.run_id),
                status=status.value,
                precision_percent=run.precision_percent,
                cost_usd=float(run.cost_usd),
                duration_seconds=time.perf_counter() - began,
            )
        return status

    async def _commit_or_stop(self) -> None:
        """Commit the run's last state, unless the lease was lost meanwhile: then
        nothing is written and the loss is raised."""
        try:
            self.commit()
        except LeaseLost:
            self.session.rollback()
            await self._release_resources()
            raise

    async def _release_resources(self) -> None:
        if self._commit_timer is not None:
            self._commit_timer.cancel()
            self._commit_timer = None
        await self.model.aclose()
        await self._stop_judges()

    def close(self) -> None:
        if self._commit_timer is not None:
            self._commit_timer.cancel()
            self._commit_timer = None
        self.session.close()


def assigned_tasks(masterplan: MasterPlan) -> dict[str, MasterPlanTask]:
    return {task.task_key: task for task in masterplan.tasks}
