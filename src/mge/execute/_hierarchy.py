"""Hierarchical validation after generation: module (L2), component (L3) and
system (L4), each failure blamed on atoms that are then regenerated with the
failure as feedback, within a per-level budget of rounds.

The levels run one after another, in plan order, once generation has finished:
every check then sees a project whose other parts are settled, so the outcome
does not depend on how the scheduler interleaved the atoms, and a resumed or
re-scheduled run reaches the same verdicts.

- L2, per task: its files import in a fresh interpreter, then the task's tests
  run (a test is run once all the tasks it touches are settled: every atom
  completed, or failed or blocked and written as a stub).
- L3, per milestone: the milestone's component tests, once its tasks passed L2.
- L4, the system: every file imports, pyflakes finds no error in any file, and
  the plan's acceptance tests (or, without a list, every test of the plan) pass.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

import pyflakes.api
import pyflakes.messages
from pyflakes.reporter import Reporter

from mge.db.models import AtomicUnit, TestType, ValidationLevel
from mge.execute._blame import Blame
from mge.execute._checks import CheckOutcome
from mge.execute._run_state import FINAL_STATUSES
from mge.execute.executor import module_names, run_project_tests
from mge.validate.blame import (
    SpanIndex,
    blame_coverage,
)
from mge.validate.coverage import atom_coverage, executed_lines
from mge.validate.mutation import MutationScore, mutation_scores
from mge.validate.testing import TestOutcome

if TYPE_CHECKING:
    from mge.execute._engine import Runner


class _Collector(Reporter):  # type: ignore[misc]
    def __init__(self) -> None:
        self.errors: list[str] = []

    def flake(self, message: pyflakes.messages.Message) -> None:
        if isinstance(
            message,
            pyflakes.messages.UndefinedName
            | pyflakes.messages.UndefinedLocal
            | pyflakes.messages.UndefinedExport,
        ):
            self.errors.append(
                f"{message.filename}:{message.lineno}: {message.message % message.message_args}"
            )

    def syntaxError(self, filename: str, msg: str, lineno: int, offset: int, text: str) -> None:
        self.errors.append(f"{filename}:{lineno}: syntax error: {msg}")

    def unexpectedError(self, filename: str, msg: str) -> None:
        self.errors.append(f"{filename}:1: {msg}")


class Hierarchy(Blame):
    def __init__(self, runner: Runner) -> None:
        super().__init__(runner)
        self.final_tests: TestOutcome | None = None

    def _imports(self, files: Sequence[str]) -> CheckOutcome:
        modules = module_names(files)
        if not modules:
            return CheckOutcome(True, TestType.INTEGRATION, "import", "", [])
        result = self.runner.executor.check_imports(self.out, modules, timeout=self.timeout)
        if result.ok:
            return CheckOutcome(True, TestType.INTEGRATION, "import", "", [])
        text = (result.stdout + result.stderr)[-4000:]
        if result.timed_out:
            text = "importing timed out\n" + text
        return CheckOutcome(False, TestType.INTEGRATION, "import", text, [text])

    def _tests(
        self,
        tests: list[str],
        test_type: TestType,
        modules: Sequence[str] = (),
        *,
        traced: bool = False,
    ) -> CheckOutcome:
        """`traced` records the lines each test ran even when all pass (the acceptance
        run: its coverage is stored for review); otherwise only a failing run is
        traced, a second time, for blame. `modules` are the scope's source files:
        their doctests count when the project's configuration collects doctests."""
        run = partial(
            run_project_tests,
            self.runner.plan.language,
            self.runner.executor,
            self.out,
            tests,
            timeout=self.timeout,
            modules=list(modules),
            runner=self.runner.plan.test_runner,
            node_modules=self.runner.node_modules,
        )
        outcome = run(coverage=traced)
        # A vitest or jest run records no coverage: a second run would tell blame nothing.
        covers = self.runner.plan.language == "python" or self.runner.plan.test_runner == "node"
        if not traced and not outcome.ok and not outcome.collection_error and covers:
            # Only a failing run needs per-test coverage, for blame; tracing costs time.
            outcome = run(coverage=True)
        summary = f"{outcome.passed}/{outcome.total} passed" + (
            ", timed out" if outcome.timed_out else ""
        )
        failures = [f"{f.test}\n{f.message}\n{f.text}" for f in outcome.failures]
        return CheckOutcome(outcome.ok, test_type, "tests", summary, failures, outcome)

    def _lint(self, files: Sequence[str]) -> CheckOutcome:
        collector = _Collector()
        for file in files:
            path = self.out / file
            if path.suffix == ".py" and path.is_file():
                pyflakes.api.check(path.read_text(encoding="utf-8"), file, collector)
        if collector.errors:
            text = "\n".join(collector.errors[:50])
            return CheckOutcome(False, TestType.TYPES, "lint", text, collector.errors)
        return CheckOutcome(True, TestType.TYPES, "lint", "", [])

    # -- the levels -------------------------------------------------------------------

    def _task_settled(self, task_id: str) -> bool:
        """Every atom of the task and of the tasks it depends on is final: completed,
        or failed or blocked and written as a stub naming it. A failed atom takes
        down only what needs it: the task's other code is still checked, its tests
        that reach the stub fail with the stub's message (which blame passes over),
        and blame goes after the faults the other failures point at."""
        runner = self.runner
        seen: set[str] = set()
        stack = [task_id]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            for file in runner.tasks[current].files:
                for key in runner.files.get(file, []):
                    if runner.states[key].status not in FINAL_STATUSES:
                        return False
            stack.extend(runner.tasks[current].depends_on)
        return True

    async def run(self) -> TestOutcome | None:
        runner = self.runner
        plan = runner.plan
        owners: dict[str, list[str]] = {}
        for task in plan.tasks():
            for test in task.tests:
                owners.setdefault(test, []).append(task.id)
        passed_l2: set[str] = set()
        for task in plan.tasks():
            if not self._task_settled(task.id):
                continue
            imports = await self._check_with_blame(
                ValidationLevel.MODULE, task.id, "imports", partial(self._imports, task.files), []
            )
            runnable = [
                test
                for test in task.tests
                if all(self._task_settled(owner) for owner in owners.get(test, []))
                and (self.out / test).is_file()
            ]
            unit = (
                await self._check_with_blame(
                    ValidationLevel.MODULE,
                    task.id,
                    "tests",
                    partial(self._tests, runnable, TestType.UNIT, task.files),
                    runnable,
                )
                if runnable
                else None
            )
            if imports.passed and (unit is None or unit.passed):
                passed_l2.add(task.id)
        for phase in plan.phases:
            for milestone in phase.milestones:
                tests = [t for t in milestone.tests if (self.out / t).is_file()]
                if not tests or not all(t.id in passed_l2 for t in milestone.tasks):
                    continue
                await self._check_with_blame(
                    ValidationLevel.COMPONENT,
                    milestone.name,
                    "tests",
                    partial(
                        self._tests,
                        tests,
                        TestType.INTEGRATION,
                        [file for task in milestone.tasks for file in task.files],
                    ),
                    tests,
                )
        files = list(runner.files)
        await self._check_with_blame(
            ValidationLevel.SYSTEM, "project", "imports", lambda: self._imports(files), []
        )
        await self._check_with_blame(
            ValidationLevel.SYSTEM, "project", "lint", lambda: self._lint(files), []
        )
        acceptance = [
            t for t in (plan.acceptance or runner.planned_tests()) if (self.out / t).is_file()
        ]
        if not acceptance:
            return None
        final = await self._check_with_blame(
            ValidationLevel.SYSTEM,
            "acceptance",
            "tests",
            lambda: self._tests(acceptance, TestType.ACCEPTANCE, files, traced=True),
            acceptance,
            rerun=True,
        )
        index = self.write_project()
        if final.tests is not None:
            self._store_coverage(final.tests, index)
            if runner.settings.mutation:
                await self._store_mutation(final.tests, index)
        return final.tests

    def _store_coverage(self, tests: TestOutcome, index: SpanIndex) -> None:
        """Store on each atom the share of its function lines the passing acceptance
        tests executed (`extra["test_coverage"]`, read by the review score; atoms with
        no function line get none), and, when acceptance tests still fail, how
        suspect the failures make it (`extra["suspicion"]`: its Ochiai score over
        the final acceptance run, as blame computes it; atoms no failing test ran
        get none). Blame stopped with those failures unexplained; the atoms they
        point at are where a reviewer should look first."""
        runner = self.runner
        sources = self._sources(index)
        # With no passing test there is nothing to tell atoms apart: store nothing.
        passing = any(tests.verdicts.values())
        executed = executed_lines(tests.coverage, tests.verdicts)
        shares = atom_coverage(sources, index, executed) if passing else {}
        suspicion = {
            s.atom_id: s.score for s in blame_coverage(tests.coverage, tests.verdicts, index)
        }
        stored = ("test_coverage", "test_lines", "suspicion")
        for key, state in runner.states.items():
            row = runner.session.get_one(AtomicUnit, state.row_id)
            extra = {k: v for k, v in row.extra.items() if k not in stored}
            if key in shares:
                extra["test_coverage"] = round(shares[key].share, 4)
                extra["test_lines"] = [shares[key].covered, shares[key].total]
            if key in suspicion:
                extra["suspicion"] = suspicion[key]
            row.extra = extra
        runner.session.commit()

    async def _store_mutation(self, tests: TestOutcome, index: SpanIndex) -> None:
        """Store on each atom how many of its mutants the passing acceptance tests
        killed (`extra["mutation"]`, read by the review score). Only the passing
        tests are used, so a partly failing run still measures the code they pin;
        atoms with no executed mutable line, or not reached within the budget, get
        nothing."""
        runner = self.runner
        settings = runner.settings
        scores: dict[str, MutationScore] = {}
        started = time.perf_counter()
        if any(tests.verdicts.values()) and not tests.collection_error:
            scores = await asyncio.to_thread(
                mutation_scores,
                self.out,
                self._sources(index, python_only=True),
                index,
                tests.coverage,
                tests.verdicts,
                per_atom=settings.mutants_per_atom,
                budget_seconds=settings.mutation_budget_seconds,
                run=runner.executor.run_mutants,
            )
        for key, state in runner.states.items():
            row = runner.session.get_one(AtomicUnit, state.row_id)
            extra = {k: v for k, v in row.extra.items() if k != "mutation"}
            if key in scores:
                extra["mutation"] = scores[key].to_dict()
            row.extra = extra
        runner.session.commit()
        runner.progress.event(
            "mutation",
            atoms=len(scores),
            mutants=sum(s.mutants for s in scores.values()),
            killed=sum(s.killed for s in scores.values()),
            seconds=round(time.perf_counter() - started, 2),
        )
