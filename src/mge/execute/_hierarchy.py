"""Hierarchical validation after generation: module (L2), component (L3) and
system (L4), each failure blamed on atoms that are then regenerated with the
failure as feedback, within a per-level budget of rounds.

The levels run one after another, in plan order, once generation has finished:
every check then sees a project whose other parts are settled, so the outcome
does not depend on how the scheduler interleaved the atoms, and a resumed or
re-scheduled run reaches the same verdicts.

- L2, per task: its files import in a fresh interpreter, then the task's tests
  run (a test is run once all the tasks it touches are complete).
- L3, per milestone: the milestone's component tests, once its tasks passed L2.
- L4, the system: every file imports, pyflakes finds no error in any file, and
  the plan's acceptance tests (or, without a list, every test of the plan) pass.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import pyflakes.api
import pyflakes.messages
from pyflakes.reporter import Reporter

from mge.db.models import AtomicUnit, AtomStatus, HumanReviewQueue, TestType, ValidationLevel
from mge.db.models import ValidationResult as ResultRow
from mge.execute._output import write_files
from mge.execute._run_state import AtomState
from mge.execute.executor import module_names
from mge.store.review_items import open_review_item, priority_of
from mge.validate import STUB_MARK, Limits
from mge.validate.blame import (
    AtomSpan,
    Binding,
    SpanIndex,
    Suspect,
    absent_dependency,
    blame_missing,
    blame_traceback,
    import_time_scores,
    ochiai_scores,
)
from mge.validate.coverage import atom_coverage, executed_lines
from mge.validate.mutation import MutationScore, mutation_scores
from mge.validate.node_testing import run_node_tests
from mge.validate.testing import TestOutcome

if TYPE_CHECKING:
    from mge.execute._engine import Runner

LEVEL_NUMBER = {
    ValidationLevel.ATOMIC: 1,
    ValidationLevel.MODULE: 2,
    ValidationLevel.COMPONENT: 3,
    ValidationLevel.SYSTEM: 4,
}
SUSPECTS_PER_ROUND = 8
#: Rounds that made progress are free (see `Hierarchy._blame_rounds`), but never
#: more than this many times `blame_rounds` in all.
ROUND_CAP = 3
# A missing-name match outranks the other evidence: Ochiai is at most 1 and the
# traceback adds at most 0.3, while the message names exactly what the atom was
# planned to bind and the running code lacks.
MISSING_NAME_BONUS = 1.5
# The atoms whose code runs when the module is imported, not when a test calls it.
IMPORT_TIME_KINDS = frozenset({"module_header", "class_header", "statement"})
#: At most this many atoms are left out of the project for one check that fails at
#: import (see `Hierarchy._isolate`).
ISOLATION_LIMIT = 6
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")


def stable_text(failure: str) -> str:
    """A failure as the model is shown it, without what differs between two runs of
    the same code: object addresses (`<Catalog object at 0x7f83...>` in pytest's
    locals) say nothing about the fault, and left in, they make the prompt, and so
    the tokens and the cost, differ from one run (or one resume) to the next."""
    return _ADDRESS.sub("0x…", failure)


def import_failures(outcome: CheckOutcome) -> list[str]:
    """The failure texts of a check that failed before any code of the project was
    run by a test: a module that does not import, a test file that cannot be
    collected, a session stopped while collecting."""
    if outcome.passed:
        return []
    if outcome.check == "import":
        return list(outcome.failures)
    if outcome.tests is None:
        return []
    return [f"{f.test}\n{f.message}\n{f.text}" for f in outcome.tests.failures if f.collection]


def _better(after: CheckOutcome, before: CheckOutcome) -> bool:
    """Whether `after` is the better outcome of one check: it passes, or more of its
    tests pass."""
    if after.passed:
        return True
    if after.tests is None or before.tests is None:
        return False
    return after.tests.passed > before.tests.passed


@dataclass
class CheckOutcome:
    """One level's check of one scope: passed or not, and the failure texts to blame."""

    passed: bool
    test_type: TestType
    check: str
    output: str
    failures: list[str]
    tests: TestOutcome | None = None


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


class Hierarchy:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.out = runner.settings.out_path
        self.timeout = runner.settings.test_timeout_seconds
        self.rounds = runner.settings.blame_rounds
        self.final_tests: TestOutcome | None = None

    # -- the project on disk -------------------------------------------------------

    def write_project(self) -> SpanIndex:
        runner = self.runner
        files: dict[str, str] = {}
        spans: list[AtomSpan] = []
        for file in runner.files:
            assembled = runner.written(file)
            files[file] = assembled.text
            spans.extend(
                AtomSpan(atom_id=key, file=file, first_line=first, last_line=last)
                for key, (first, last) in assembled.spans.items()
            )
        for file, text in runner.missing_files().items():
            files.setdefault(file, text)
        self.out.mkdir(parents=True, exist_ok=True)
        write_files(self.out, files)
        return SpanIndex(spans)

    # -- checks ------------------------------------------------------------------------

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
        if self.runner.plan.language != "python":
            # node --test: no per-test coverage, blame reads the source-mapped stacks.
            outcome = run_node_tests(
                self.out, tests, limits=Limits(timeout_seconds=self.timeout, cpu_seconds=120)
            )
            summary = f"{outcome.passed}/{outcome.total} passed"
            failures = [f"{f.test}\n{f.message}\n{f.text}" for f in outcome.failures]
            return CheckOutcome(outcome.ok, test_type, "tests", summary, failures, outcome)
        run = partial(
            self.runner.executor.run_tests,
            self.out,
            tests,
            timeout=self.timeout,
            modules=list(modules),
        )
        outcome = run(coverage=traced)
        if not traced and not outcome.ok and not outcome.collection_error:
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

    # -- blame and regeneration ------------------------------------------------------

    def _suspects(
        self, outcome: CheckOutcome, index: SpanIndex, tests: list[str], tried: set[str]
    ) -> list[Suspect]:
        """One suspect per failure, from both kinds of evidence at once.

        A failing test's candidates are the atoms it ran (coverage) and the atoms in
        its traceback (with the headers of their classes). Each is scored by Ochiai
        over all the tests, plus a bonus for appearing in the traceback, largest for
        the innermost frame. Coverage matters because the frame where an error
        surfaces is often not its cause: a method that forgot to `return` fails in
        its caller. An atom whose plan binds a name the failure reports missing
        (`blame_missing`) ranks first: class bodies and module headers run at
        import, so neither coverage nor the traceback can point at them. Atoms
        already regenerated for the same persisting failure are passed over, so
        blame moves on to the next candidates.
        """
        scores: dict[str, float] = {}
        ran: dict[str, set[str]] = {}
        if outcome.tests is not None and outcome.tests.coverage:
            scores, ran = ochiai_scores(outcome.tests.coverage, outcome.tests.verdicts, index)
            # Code run at import is invisible to per-test coverage: score it by the
            # tests that read the names it binds.
            early, readers = import_time_scores(
                outcome.tests.coverage,
                outcome.tests.verdicts,
                self._sources(index),
                [b for b in self._bindings() if b.kind in IMPORT_TIME_KINDS],
                index,
            )
            for atom, score in early.items():
                scores[atom] = max(scores.get(atom, 0.0), score)
            for test, atoms in readers.items():
                ran[test] = ran.get(test, set()) | atoms
        texts = (
            [(f.nodeid, f"{f.test}\n{f.message}\n{f.text}") for f in outcome.tests.failures]
            if outcome.tests is not None
            else [("", text) for text in outcome.failures]
        )
        bindings = self._bindings()
        declared = {name for b in bindings if b.kind == "module_header" for name in b.defines}
        picks: dict[str, Suspect] = {}
        for nodeid, text in texts:
            if absent_dependency(text, list(self.runner.files), declared):
                continue  # an environment without the dependency: no code to blame
            if f"NotImplementedError: {STUB_MARK}" in text:
                # It reached the stub of an atom that failed or was blocked: the
                # cause is known and already queued for review, and regenerating the
                # code that called it would only risk new faults.
                continue
            bonus: dict[str, tuple[float, str]] = {}
            for suspect in blame_missing(text, bindings, index):
                bonus.setdefault(suspect.atom_id, (MISSING_NAME_BONUS, suspect.evidence))
            frames = blame_traceback(text, index)
            for suspect in frames:
                bonus.setdefault(suspect.atom_id, (0.3 * suspect.score, suspect.evidence))
                for header in self._class_headers(suspect.atom_id):
                    bonus.setdefault(header, (0.1 * suspect.score, f"class of {suspect.atom_id}"))
            candidates = (ran.get(nodeid, set()) | set(bonus)) - tried
            if not candidates:
                continue
            rated = {
                atom: scores.get(atom, 0.0) + bonus.get(atom, (0.0, ""))[0] for atom in candidates
            }
            best = max(rated, key=lambda atom: (rated[atom], atom))
            chosen = [best]
            # The innermost untried frame is where the error surfaced. When most
            # tests fail, Ochiai ranks what every test runs (constructors, shared
            # helpers) above it, and the rounds run out before blame gets there:
            # so it is regenerated alongside the best-scored atom, not after it.
            innermost = next((f.atom_id for f in frames if f.atom_id not in tried), None)
            if innermost is not None and innermost != best:
                chosen.append(innermost)
            for atom in chosen:
                evidence = bonus[atom][1] if atom in bonus else f"run by the failing {nodeid}"
                source = "coverage"
                if atom in bonus:
                    source = "missing name" if bonus[atom][0] >= MISSING_NAME_BONUS else "traceback"
                if atom not in picks or picks[atom].score < rated[atom]:
                    picks[atom] = Suspect(atom, round(rated[atom], 4), source, evidence)
        ordered = sorted(picks.values(), key=lambda s: (-s.score, s.atom_id))
        return ordered[:SUSPECTS_PER_ROUND]

    def _bindings(self) -> list[Binding]:
        """What each atom's plan says it binds, for `blame_missing`."""
        return [
            Binding(
                key,
                state.planned.file,
                state.planned.qualname,
                tuple(state.defines),
                state.planned.kind,
            )
            for key, state in self.runner.states.items()
            if state.defines
        ]

    def _class_headers(self, atom_id: str) -> list[str]:
        """The class-level pieces of the class a method belongs to (its header and
        the statements of its body between methods): a class-level mistake (a
        decorator argument, a field, a constant) surfaces in its methods' frames."""
        runner = self.runner
        state = runner.states[atom_id]
        if state.planned.kind not in ("method", "block") or "." not in state.planned.qualname:
            return []
        owner = state.planned.qualname.rsplit(".", 1)[0]
        return [
            key
            for key in runner.files[state.planned.file]
            if runner.states[key].planned.kind in ("class_header", "statement")
            and runner.states[key].planned.qualname == owner
        ]

    async def _regenerate(
        self, key: str, suspects: list[Suspect], level: ValidationLevel, failure: str
    ) -> tuple[int, list[Suspect]]:
        """Regenerate the suspects that still have attempts left; returns how many
        were regenerated and the suspects that had none left. Each one done is noted
        in the round's stored state, so a resumed run goes on with the next."""
        runner = self.runner
        redone = 0
        exhausted: list[Suspect] = []
        for suspect in suspects:
            round_state = self._saved(key)
            state = runner.states[suspect.atom_id]
            if suspect.atom_id in round_state.get("done", []) or self._regenerated_before(state):
                redone += 1  # regenerated before the run was interrupted
                continue
            if state.status is not AtomStatus.COMPLETED or (
                state.attempts >= runner.blame_limit(suspect.atom_id)
            ):
                # A failed or blocked atom is a stub: `regenerate` is for code that
                # passed L1, and blocked pieces need their predecessor first.
                exhausted.append(suspect)
                continue
            feedback = (
                f"- [test] L{LEVEL_NUMBER[level]} {level.value} validation failed; "
                f"this atom is suspected ({suspect.evidence}):\n{failure[:2500]}"
            )
            runner.update_resume_state(
                regenerating={
                    "atom": suspect.atom_id,
                    "code": state.code,
                    "attempts": state.attempts,
                }
            )
            runner.commit()
            resume = None
            if runner.restored_regeneration == suspect.atom_id:
                resume, runner.resumed_candidate = runner.resumed_candidate, None
                runner.restored_regeneration = None
            await runner.regenerate(
                suspect.atom_id, feedback=feedback, trigger=f"blame:{level.value}", resume=resume
            )
            self._save(
                key, {**round_state, "done": [*round_state.get("done", []), suspect.atom_id]}
            )
            redone += 1
        return redone, exhausted

    # -- blame state kept across a resume ------------------------------------------------

    def _regenerated_before(self, state: AtomState) -> bool:
        """Whether the regeneration under way when the run was killed had finished
        (its last attempt committed, the note that it finished not yet)."""
        runner = self.runner
        marker = (runner.run_row.resume_state or {}).get("regenerating") or {}
        return (
            marker.get("atom") == state.key
            and runner.restored_regeneration != state.key
            and state.status is AtomStatus.COMPLETED
            and state.attempts > int(marker.get("attempts", state.attempts))
        )

    def _saved(self, key: str) -> dict[str, Any]:
        blame = (self.runner.run_row.resume_state or {}).get("blame", {})
        return dict(blame.get(key, {}))

    def _save(self, key: str, state: dict[str, Any]) -> None:
        """Store one check's blame state (and that no regeneration is under way) in
        the same transaction as the attempts that led to it."""
        runner = self.runner
        blame = dict((runner.run_row.resume_state or {}).get("blame", {}))
        blame[key] = state
        runner.update_resume_state(blame=blame, regenerating=None)
        runner.commit()

    def _to_review(self, suspects: list[Suspect], level: ValidationLevel, failure: str) -> None:
        runner = self.runner
        for suspect in suspects:
            state = runner.states[suspect.atom_id]
            row = runner.session.get_one(AtomicUnit, state.row_id)
            row.needs_review = True
            existing = next(
                (r for r in runner.session.query(HumanReviewQueue).filter_by(atom_id=row.id)), None
            )
            evidence = {
                "level": level.value,
                "suspicion": suspect.evidence,
                "source": suspect.source,
                "score": suspect.score,
                "failure": failure[:4000],
            }
            if existing is None:
                runner.session.add(
                    HumanReviewQueue(
                        atom_id=row.id,
                        masterplan_id=runner.masterplan.id,
                        confidence_score=row.confidence_score or 0.0,
                        priority=priority_of(
                            failed=False,
                            blamed=True,
                            blocked=0,
                            confidence=row.confidence_score or 0.0,
                        ),
                        reason=f"suspected by {level.value} validation; attempts exhausted",
                        original_code=row.code,
                        evidence=evidence,
                    )
                )
            else:
                existing.evidence = {**existing.evidence, "blame": evidence}
        runner.session.commit()
        runner.report_review_queue()

    def _record(
        self, level: ValidationLevel, scope: str, outcome: CheckOutcome, started: float
    ) -> None:
        runner = self.runner
        runner.session.add(
            ResultRow(
                masterplan_id=runner.masterplan.id,
                run_id=runner.run_id,
                level=level,
                test_type=outcome.test_type,
                check_name=outcome.check,
                scope=scope,
                passed=outcome.passed,
                output=outcome.output[:4000] or None,
                error_message=None if outcome.passed else "\n\n".join(outcome.failures)[:4000],
                details={
                    "level_number": LEVEL_NUMBER[level],
                    **(outcome.tests.to_dict() if outcome.tests else {}),
                },
                duration_seconds=time.perf_counter() - started,
            )
        )
        runner.session.commit()
        runner.progress.event(
            "validation", level=level.value, scope=scope, check=outcome.check, passed=outcome.passed
        )

    async def _check_with_blame(
        self,
        level: ValidationLevel,
        scope: str,
        name: str,
        run_check: Callable[[], CheckOutcome],
        tests: list[str],
    ) -> CheckOutcome:
        """Blame and regenerate while the check fails and the budget lasts (see
        `_blame_rounds`); then, if code still breaks at import, leave it out (see
        `_isolate`)."""
        outcome = await self._blame_rounds(level, scope, name, run_check, tests)
        if outcome.passed or not import_failures(outcome):
            return outcome
        return await self._isolate(level, scope, run_check, outcome)

    async def _isolate(
        self,
        level: ValidationLevel,
        scope: str,
        run_check: Callable[[], CheckOutcome],
        outcome: CheckOutcome,
    ) -> CheckOutcome:
        """Once blame is out of rounds or attempts: the atoms whose code still fails at
        import (a module-level statement, a class body, a decorator, a function run
        at import), each found by the innermost frame of the import's traceback, are
        left out of the project one by one, as an atom that used all its attempts is:
        a stub naming it, or the skeleton's stand-in for a top-level statement. The
        rest of the project imports and its tests run; each atom left out is failed
        and waits in review with the evidence. If leaving them out does not make the
        check better (it passes, or more of its tests pass), they are all put back."""
        runner = self.runner
        index = self.write_project()
        current = outcome
        left_out: list[str] = []
        while len(left_out) < ISOLATION_LIMIT:
            key = self._breaking_atom(import_failures(current), index)
            if key is None:
                break
            runner.states[key].status = AtomStatus.FAILED
            left_out.append(key)
            index = self.write_project()
            started = time.perf_counter()
            current = await asyncio.to_thread(run_check)
            self._record(level, scope, current, started)
            if current.passed or not import_failures(current):
                break
        if left_out and _better(current, outcome):
            failure = stable_text("\n\n".join(import_failures(outcome)))[:4000]
            for key in left_out:
                self._leave_out(key, level, failure)
            runner.session.commit()
            runner.report_review_queue()
            return current
        for key in left_out:
            runner.states[key].status = AtomStatus.COMPLETED
        if left_out:
            self.write_project()
        return outcome

    def _breaking_atom(self, failures: Sequence[str], index: SpanIndex) -> str | None:
        """The completed atom at the innermost project frame of an import failure."""
        for text in failures:
            for suspect in blame_traceback(text, index):
                if self.runner.states[suspect.atom_id].status is AtomStatus.COMPLETED:
                    return suspect.atom_id
        return None

    def _leave_out(self, key: str, level: ValidationLevel, failure: str) -> None:
        """Store that `key` is failed: its code stays on the row for review, the
        written project has its stub."""
        runner = self.runner
        row = runner.session.get_one(AtomicUnit, runner.states[key].row_id)
        row.status = AtomStatus.FAILED
        row.needs_review = True
        row.confidence_score = 0.0
        row.last_error = f"its code fails at import ({level.value} validation):\n{failure}"
        open_review_item(
            runner.session,
            row,
            masterplan_id=runner.masterplan.id,
            reason=f"its code fails at import ({level.value} validation); left out as a stub",
            priority=priority_of(failed=True, blamed=True, blocked=0, confidence=0.0),
        )
        runner.progress.event("atom_left_out", atom=key, level=level.value)

    async def _blame_rounds(
        self,
        level: ValidationLevel,
        scope: str,
        name: str,
        run_check: Callable[[], CheckOutcome],
        tests: list[str],
    ) -> CheckOutcome:
        """Run a check; while it fails and the level's budget lasts, blame and regenerate.

        The budget (`blame_rounds`) counts rounds that got nowhere: a round after
        which more tests pass than before it is free, because a check that hides
        several faults (one at collection time hides the rest) reveals them one
        round at a time. `ROUND_CAP` times the budget bounds the rounds in all; each
        atom's own budget (`blame_attempts`) bounds what the model is asked.

        The rounds' state (round number, rounds without progress, suspects tried
        and blamed, the failure being chased, the suspects of the round under way)
        is stored after every step, so a run resumed after a kill picks up the same
        round where it was and makes the decisions the uninterrupted run makes."""
        key = f"{level.value}:{scope}:{name}"
        saved = self._saved(key)
        if saved.get("finished"):
            # Decided before the interruption: only its outcome is needed again.
            return await asyncio.to_thread(run_check)
        tried: set[str] = set(saved.get("tried", []))
        blamed: dict[str, Suspect] = {
            atom: Suspect(atom, score, source, evidence)
            for atom, (score, source, evidence) in saved.get("blamed", {}).items()
        }
        failing: set[str] | None = set(saved["failing"]) if "failing" in saved else None
        round_number = int(saved.get("round", 0))
        stalls = int(saved.get("stalls", 0))
        passing: int | None = saved.get("passing")
        if "suspects" in saved:
            # Interrupted while regenerating this round's suspects: finish them.
            suspects = [Suspect(*item) for item in saved["suspects"]]
            if await self._finish_round(key, level, suspects, saved["failure"]):
                return await asyncio.to_thread(run_check)  # the code it failed on
            round_number += 1
        while True:
            index = self.write_project()
            started = time.perf_counter()
            outcome = await asyncio.to_thread(run_check)
            self._record(level, scope, outcome, started)
            if outcome.passed:
                self._save(key, {"finished": True})
                return outcome
            now_passing = outcome.tests.passed if outcome.tests is not None else None
            if round_number > 0 and not (
                passing is not None and now_passing is not None and now_passing > passing
            ):
                stalls += 1  # the last round's regenerations did not help
            passing = now_passing
            now_failing = set(outcome.failures)
            if outcome.tests is not None:
                now_failing = {f.nodeid or f.test for f in outcome.tests.failures}
            if now_failing != failing:
                tried = set()  # a different failure: every atom may be to blame again
            failing = now_failing
            suspects = await asyncio.to_thread(self._suspects, outcome, index, tests, tried)
            tried.update(suspect.atom_id for suspect in suspects)
            failure = stable_text("\n\n".join(outcome.failures))[:4000]
            if suspects:
                blamed.update({suspect.atom_id: suspect for suspect in suspects})
            last = stalls >= self.rounds or round_number >= self.rounds * ROUND_CAP
            if not suspects or last:
                # Out of suspects or out of rounds: whoever was blamed goes to a person.
                self._to_review(list(blamed.values()), level, failure)
                self._save(key, {"finished": True})
                return outcome
            self._save(
                key,
                {
                    "round": round_number,
                    "stalls": stalls,
                    "passing": passing,
                    "tried": sorted(tried),
                    "blamed": {atom: [s.score, s.source, s.evidence] for atom, s in blamed.items()},
                    "failing": sorted(failing),
                    "suspects": [[s.atom_id, s.score, s.source, s.evidence] for s in suspects],
                    "failure": failure,
                    "done": [],
                },
            )
            if await self._finish_round(key, level, suspects, failure):
                return outcome
            round_number += 1

    async def _finish_round(
        self, key: str, level: ValidationLevel, suspects: list[Suspect], failure: str
    ) -> bool:
        """Regenerate a round's suspects; returns whether the check is over (none
        could be regenerated) rather than to be run again."""
        redone, exhausted = await self._regenerate(key, suspects, level, failure)
        if exhausted:
            self._to_review(exhausted, level, failure)
        if redone:
            return False
        self._save(key, {"finished": True})
        return True

    # -- the levels -----------------------------------------------------------------------

    def _task_complete(self, task_id: str) -> bool:
        runner = self.runner
        files = runner.tasks[task_id].files
        return all(
            runner.states[key].status is AtomStatus.COMPLETED
            for file in files
            for key in runner.files.get(file, [])
        )

    def _closure_complete(self, task_id: str) -> bool:
        seen: set[str] = set()
        stack = [task_id]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if not self._task_complete(current):
                return False
            stack.extend(self.runner.tasks[current].depends_on)
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
            if not self._closure_complete(task.id):
                continue
            imports = await self._check_with_blame(
                ValidationLevel.MODULE, task.id, "imports", partial(self._imports, task.files), []
            )
            runnable = [
                test
                for test in task.tests
                if all(self._closure_complete(owner) for owner in owners.get(test, []))
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
        )
        index = self.write_project()
        if final.tests is not None:
            self._store_coverage(final.tests, index)
            if runner.settings.mutation:
                await self._store_mutation(final.tests, index)
        return final.tests

    def _sources(self, index: SpanIndex) -> dict[str, str]:
        return {
            file: (self.out / file).read_text(encoding="utf-8")
            for file in index.files()
            if file.endswith(".py") and (self.out / file).is_file()
        }

    def _store_coverage(self, tests: TestOutcome, index: SpanIndex) -> None:
        """Store on each atom the share of its function lines the passing acceptance
        tests executed (`extra["test_coverage"]`, read by the review score; atoms with
        no function line get none)."""
        runner = self.runner
        sources = self._sources(index)
        # With no passing test there is nothing to tell atoms apart: store nothing.
        passing = any(tests.verdicts.values())
        executed = executed_lines(tests.coverage, tests.verdicts)
        shares = atom_coverage(sources, index, executed) if passing else {}
        for key, state in runner.states.items():
            row = runner.session.get_one(AtomicUnit, state.row_id)
            extra = {k: v for k, v in row.extra.items() if k not in ("test_coverage", "test_lines")}
            if key in shares:
                extra["test_coverage"] = round(shares[key].share, 4)
                extra["test_lines"] = [shares[key].covered, shares[key].total]
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
                self._sources(index),
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
