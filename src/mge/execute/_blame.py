"""Blame after a failed check: which atoms to suspect, regenerating them round by
round within the level's budget, and leaving out code that still breaks at import.

A `Hierarchy` (the levels L2-L4) inherits this: each of its checks that fails is
handed to `Blame._check_with_blame`, which owns the rounds, their stored state
(so a resumed run makes the same decisions) and the review items they open.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mge.db.models import AtomicUnit, AtomStatus, HumanReviewQueue, TestType, ValidationLevel
from mge.execute._checks import (
    LEVEL_NUMBER,
    CheckOutcome,
    ProjectChecks,
    better,
    import_failures,
    stable_text,
)
from mge.execute._run_state import AtomState
from mge.store.review_items import open_review_item, priority_of
from mge.validate import STUB_MARK
from mge.validate.blame import (
    WRONG_VALUE,
    Binding,
    SpanIndex,
    Suspect,
    absent_dependency,
    atoms_run,
    blame_missing,
    blame_signature,
    blame_traceback,
    import_time_scores,
    missing_names,
    ochiai_scores,
)

SUSPECTS_PER_ROUND = 8
#: Rounds that made progress are free (see `Blame._blame_rounds`), but never
#: more than this many times `blame_rounds` in all.
ROUND_CAP = 3
# A missing-name match outranks the other evidence: Ochiai is at most 1 and the
# traceback adds at most 0.3, while the message names exactly what the atom was
# planned to bind and the running code lacks.
MISSING_NAME_BONUS = 1.5
#: The definition of a callable that a call did not fit: below the call's own
#: frame (0.3 for the innermost), so the call is tried first and the definition in
#: the next round if the failure stays.
SIGNATURE_BONUS = 0.25
#: A suspect regenerated for a test that still fails afterwards keeps this share
#: of its score for that test: a regeneration fixes a wrong atom more often than
#: not, so the test's other candidates go first, but one whose mistake was made
#: again is still found when nothing else is left.
CLEARED_FACTOR = 0.3
# The atoms whose code runs when the module is imported, not when a test calls it.
IMPORT_TIME_KINDS = frozenset({"module_header", "class_header", "statement"})
#: At most this many atoms are left out of the project for one check that fails at
#: import (see `Blame._isolate`).
ISOLATION_LIMIT = 6


class Blame(ProjectChecks):
    """The blame half of the hierarchy (see the module docstring)."""

    def _suspects(
        self,
        outcome: CheckOutcome,
        index: SpanIndex,
        tests: list[str],
        tried: set[str],
        cleared: Mapping[str, Sequence[str]] | None = None,
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
        already regenerated for the same persisting failure are passed over
        (`tried`, within this check), so blame moves on to the next candidates.
        Across the run's checks, `cleared` holds per test the atoms regenerated
        while it failed, after which it still failed: a test that fails in one
        module's check, then in the component's and the system's, would otherwise
        be blamed on the same atom in each. They are not ruled out, only scored
        down (`CLEARED_FACTOR`): a model that misunderstood may repeat the mistake.
        """
        cleared = cleared or {}
        scores: dict[str, float] = {}
        ran: dict[str, set[str]] = {}
        if outcome.tests is not None and outcome.tests.coverage:
            # A test that stopped at the stub of a failed or blocked atom says
            # nothing about the rest of the code it ran: counted as failing, it
            # would raise every caller and shared helper of the stub above the
            # atoms the other failures point at.
            explained = {
                f.nodeid or f.test
                for f in outcome.tests.failures
                if f"Error: {STUB_MARK}:" in f"{f.message}\n{f.text}"
            }
            coverage = {t: c for t, c in outcome.tests.coverage.items() if t not in explained}
            verdicts = {t: v for t, v in outcome.tests.verdicts.items() if t not in explained}
            scores, ran = ochiai_scores(coverage, verdicts, index)
            # Code run at import is invisible to per-test coverage: score it by the
            # tests that read the names it binds.
            early, readers = import_time_scores(
                coverage,
                verdicts,
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
            if f"Error: {STUB_MARK}:" in text:
                # It reached the stub of an atom that failed or was blocked (Python's
                # `NotImplementedError`, a TypeScript stub's `Error`): the cause is
                # known and already queued for review, and regenerating the code that
                # called it would only risk new faults.
                continue
            bonus: dict[str, tuple[float, str, str]] = {}
            for suspect in blame_missing(text, bindings, index):
                bonus.setdefault(
                    suspect.atom_id, (MISSING_NAME_BONUS, suspect.evidence, suspect.source)
                )
            frames = blame_traceback(text, index)
            for suspect in frames:
                bonus.setdefault(
                    suspect.atom_id, (0.3 * suspect.score, suspect.evidence, suspect.source)
                )
                for header in self._class_headers(suspect.atom_id):
                    bonus.setdefault(
                        header, (0.1 * suspect.score, f"class of {suspect.atom_id}", "traceback")
                    )
            for suspect in blame_signature(text, bindings):
                bonus.setdefault(
                    suspect.atom_id, (SIGNATURE_BONUS, suspect.evidence, suspect.source)
                )
            candidates = (ran.get(nodeid, set()) | set(bonus)) - tried
            if not candidates:
                continue
            spent = set(cleared.get(nodeid, ()))
            rated = {
                atom: (scores.get(atom, 0.0) + (bonus[atom][0] if atom in bonus else 0.0))
                * (CLEARED_FACTOR if atom in spent else 1.0)
                for atom in candidates
            }
            best = max(rated, key=lambda atom: (rated[atom], atom))
            chosen = [best]
            if not self._can_regenerate(best):
                # Out of regenerations (it goes to review as blamed): the likeliest
                # atom that can still be regenerated is tried beside it.
                spare = [atom for atom in rated if self._can_regenerate(atom)]
                if spare:
                    chosen.append(max(spare, key=lambda atom: (rated[atom], atom)))
            # The innermost untried frame is where the error surfaced. When most
            # tests fail, Ochiai ranks what every test runs (constructors, shared
            # helpers) above it, and the rounds run out before blame gets there:
            # so it is regenerated alongside the best-scored atom, not after it.
            # Not when the failure says a name the best atom binds holds the wrong
            # value (`arrayIsArray is not a function`): the frame that read it is
            # innocent, and regenerating it only risks a new fault that masks the fix.
            innermost = next((f.atom_id for f in frames if f.atom_id not in tried), None)
            wrong_value = best in bonus and bonus[best][2] == WRONG_VALUE
            if innermost is not None and innermost not in chosen and not wrong_value:
                chosen.append(innermost)
            for atom in chosen:
                evidence = bonus[atom][1] if atom in bonus else f"run by the failing {nodeid}"
                source = bonus[atom][2] if atom in bonus else "coverage"
                if atom not in picks or picks[atom].score < rated[atom]:
                    picks[atom] = Suspect(atom, round(rated[atom], 4), source, evidence)
        ordered = sorted(picks.values(), key=lambda s: (-s.score, s.atom_id))
        return ordered[:SUSPECTS_PER_ROUND]

    def _can_regenerate(self, key: str) -> bool:
        """Whether blame may still regenerate the atom: it passed L1 (a failed or
        blocked atom is a stub) and has blame regenerations left."""
        runner = self.runner
        return runner.states[key].status is AtomStatus.COMPLETED and not runner.blame_exhausted(key)

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
            resuming = runner.restored_regeneration == suspect.atom_id
            if state.status is not AtomStatus.COMPLETED or (
                not resuming and runner.blame_exhausted(suspect.atom_id)
            ):
                # A failed or blocked atom is a stub: `regenerate` is for code that
                # passed L1, and blocked pieces need their predecessor first.
                exhausted.append(suspect)
                continue
            limit = (
                runner.blame_regeneration_limit(suspect.atom_id)
                if resuming
                else runner.begin_blame_regeneration(suspect.atom_id)
            )
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
            if resuming:
                resume, runner.resumed_candidate = runner.resumed_candidate, None
                runner.restored_regeneration = None
            await runner.regenerate(
                suspect.atom_id,
                feedback=feedback,
                trigger=f"blame:{level.value}",
                resume=resume,
                limit=limit,
            )
            self._save(
                key, {**round_state, "done": [*round_state.get("done", []), suspect.atom_id]}
            )
            redone += 1
        return redone, exhausted

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

    def _save(
        self, key: str, state: dict[str, Any], cleared: dict[str, list[str]] | None = None
    ) -> None:
        """Store one check's blame state (and that no regeneration is under way, and
        the run's per-test `cleared` atoms when given) in the same transaction as the
        attempts that led to it."""
        runner = self.runner
        blame = dict((runner.run_row.resume_state or {}).get("blame", {}))
        blame[key] = state
        if cleared is not None:
            runner.update_resume_state(blame=blame, regenerating=None, cleared=cleared)
        else:
            runner.update_resume_state(blame=blame, regenerating=None)
        runner.commit()

    def _cleared(self) -> dict[str, list[str]]:
        """Per failing test, the atoms regenerated for it without making it pass,
        across all the run's checks (see `_suspects`)."""
        stored = (self.runner.run_row.resume_state or {}).get("cleared", {})
        return {test: list(atoms) for test, atoms in stored.items()}

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

    async def _check_with_blame(
        self,
        level: ValidationLevel,
        scope: str,
        name: str,
        run_check: Callable[[], CheckOutcome],
        tests: list[str],
        *,
        rerun: bool = False,
    ) -> CheckOutcome:
        """Blame and regenerate while the check fails and the budget lasts (see
        `_blame_rounds`); then, if code still breaks at import, leave it out (see
        `_isolate`).

        The verdict is stored with the atoms left out, in one transaction. A resumed
        run takes a check decided before the interruption at that verdict: later
        checks may have regenerated code it ran, and running it again on that code
        could pass where the uninterrupted run failed (or the reverse) and send the
        levels after it down another path. `rerun` asks for the check's outcome
        itself (the acceptance run, whose tests and coverage are stored): it is run
        again on the project written from the stored atoms, which is the project it
        was decided on when it is the last check."""
        key = f"{level.value}:{scope}:{name}"
        saved = self._saved(key)
        if saved.get("settled"):
            if rerun:
                self.write_project()
                return await asyncio.to_thread(run_check)
            return CheckOutcome(
                bool(saved["passed"]),
                TestType(saved["test_type"]),
                saved["check"],
                "decided before the run was resumed",
                [],
            )
        outcome = await self._blame_rounds(level, scope, name, run_check, tests)
        left_out = False
        if not outcome.passed and import_failures(outcome):
            outcome, left_out = await self._isolate(level, scope, run_check, outcome)
        self._save(
            key,
            {
                "finished": True,
                "settled": True,
                "passed": outcome.passed,
                "test_type": outcome.test_type.value,
                "check": outcome.check,
            },
        )
        if left_out:
            self.runner.report_review_queue()
        return outcome

    async def _isolate(
        self,
        level: ValidationLevel,
        scope: str,
        run_check: Callable[[], CheckOutcome],
        outcome: CheckOutcome,
    ) -> tuple[CheckOutcome, bool]:
        """Once blame is out of rounds or attempts: the atoms whose code still fails at
        import (a module-level statement, a class body, a decorator, a function run
        at import), each found by the innermost frame of the import's traceback, are
        left out of the project one by one, as an atom that used all its attempts is:
        a stub naming it, or the skeleton's stand-in for a top-level statement. The
        rest of the project imports and its tests run; each atom left out is failed
        and waits in review with the evidence. If leaving them out does not make the
        check better (it passes, or more of its tests pass), they are all put back.
        Returns the check's outcome and whether atoms were left out; the caller
        commits them with the check's verdict."""
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
        if left_out and better(current, outcome):
            failure = stable_text("\n\n".join(import_failures(outcome)))[:4000]
            for key in left_out:
                self._leave_out(key, level, failure)
            return current, True
        for key in left_out:
            runner.states[key].status = AtomStatus.COMPLETED
        if left_out:
            self.write_project()
        return outcome, False

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
        atom's own budget (`blame_attempts` regenerations, each with `max_attempts`
        tries at L1) bounds what the model is asked.

        The rounds' state (round number, rounds without progress, suspects tried
        and blamed, the failure being chased, the suspects of the round under way)
        is stored after every step, so a run resumed after a kill picks up the same
        round where it was and makes the decisions the uninterrupted run makes."""
        key = f"{level.value}:{scope}:{name}"
        saved = self._saved(key)
        if saved.get("finished"):
            # Its rounds ended before the interruption, but not what follows them
            # (see `_check_with_blame`): its outcome is needed again, on the project
            # as the stored atoms make it (a killed run may have left it half written).
            self.write_project()
            return await asyncio.to_thread(run_check)
        tried: set[str] = set(saved.get("tried", []))
        blamed: dict[str, Suspect] = {
            atom: Suspect(atom, score, source, evidence)
            for atom, (score, source, evidence) in saved.get("blamed", {}).items()
        }
        failing: set[str] | None = set(saved["failing"]) if "failing" in saved else None
        # The tests that passed in the last run of the check (see `_undo_breakage`).
        passed_before: set[str] = set(saved.get("passed_tests", []))
        round_number = int(saved.get("round", 0))
        stalls = int(saved.get("stalls", 0))
        passing: int | None = saved.get("passing")
        last_round: list[str] = []  # the atoms the previous round regenerated
        before: dict[str, str] = {}  # their code before it
        if "suspects" in saved:
            # Interrupted while regenerating this round's suspects: finish them.
            suspects = [Suspect(*item) for item in saved["suspects"]]
            if await self._finish_round(key, level, suspects, saved["failure"]):
                self.write_project()  # the code it failed on
                return await asyncio.to_thread(run_check)
            round_number += 1
            last_round = [s.atom_id for s in suspects]
            before = dict(saved.get("before", {}))
        while True:
            index = self.write_project()
            started = time.perf_counter()
            outcome = await self.run_written(key, run_check)
            self._record(level, scope, outcome, started)
            if not outcome.passed and last_round:
                undone = self._undo_new_misses(outcome, index, last_round, before)
                if passed_before:
                    undone += self._undo_breakage(outcome, index, passed_before, last_round, before)
                if undone:
                    index = self.write_project()
                    started = time.perf_counter()
                    outcome = await self.run_written(key, run_check)
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
            cleared = self._cleared()
            if outcome.tests is not None and failing is not None:
                # Tests that failed before the last round and still fail: what it
                # regenerated did not fix them, so it is not blamed for them again.
                # An atom whose code did not change (the model gave the same answer
                # again, or its new code was put back) is not cleared.
                changed = self._changed(last_round, before)
                for test in sorted(now_failing & failing):
                    known = cleared.setdefault(test, [])
                    known.extend(atom for atom in changed if atom not in known)
            if now_failing != failing:
                tried = set()  # a different failure: every atom may be to blame again
            failing = now_failing
            passed_before = (
                {test for test, ok in outcome.tests.verdicts.items() if ok}
                if outcome.tests is not None
                else set()
            )
            suspects = await asyncio.to_thread(
                self._suspects, outcome, index, tests, tried, cleared
            )
            tried.update(suspect.atom_id for suspect in suspects)
            failure = stable_text("\n\n".join(outcome.failures))[:4000]
            if suspects:
                blamed.update({suspect.atom_id: suspect for suspect in suspects})
            last = stalls >= self.rounds or round_number >= self.rounds * ROUND_CAP
            if not suspects or last:
                # Out of suspects or out of rounds: whoever was blamed goes to a person.
                self._to_review(list(blamed.values()), level, failure)
                self._save(key, {"finished": True}, cleared)
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
                    "passed_tests": sorted(passed_before),
                    "suspects": [[s.atom_id, s.score, s.source, s.evidence] for s in suspects],
                    "failure": failure,
                    "done": [],
                    "before": {s.atom_id: self.runner.states[s.atom_id].code for s in suspects},
                },
                cleared,
            )
            if await self._finish_round(key, level, suspects, failure):
                return outcome
            round_number += 1
            last_round = [s.atom_id for s in suspects]
            before = self._saved(key).get("before", {})

    def _changed(self, atoms: list[str], before: dict[str, str]) -> list[str]:
        """The atoms whose code now differs from what it was before the round."""
        states = self.runner.states
        return [atom for atom in atoms if atom in before and states[atom].code != before[atom]]

    def _undo_breakage(
        self,
        outcome: CheckOutcome,
        index: SpanIndex,
        passed_before: set[str],
        last_round: list[str],
        before: dict[str, str],
    ) -> list[str]:
        """Put back the code the last round replaced where the new code broke more
        tests than it fixed; returns the atoms put back.

        A regeneration of an innocent atom can bring a new mistake, and blame has
        no budget to chase it (least of all at the system level, the last check).
        A test that passed before the round and fails after it was broken by what
        the round regenerated (`broken`), or it passed only by accident of a fault
        that the round fixed, and now reaches another one. Tests that failed (or
        did not run) before and pass now (`fixed`) tell the two apart: a new atom
        that fixed at least as many tests as it broke is kept, and the tests it
        broke go on to be blamed; one that broke more is put back. Which tests ran
        an atom comes from their coverage (code run at import counts as run by
        every test that ran its file); without coverage the whole round is judged
        by the counts. Tests still failing as before say nothing against the new
        code. The change is committed with the rest of the round's state, so a
        resumed run sees the same code."""
        if outcome.tests is None:
            return []
        now_failing = {f.nodeid or f.test for f in outcome.tests.failures}
        broken = now_failing & passed_before
        if not broken:
            return []
        fixed = {test for test, ok in outcome.tests.verdicts.items() if ok} - passed_before
        coverage = outcome.tests.coverage or {}
        if coverage:
            broke_by = self._ran_by(broken, coverage, index, last_round)
            fixed_by = self._ran_by(fixed, coverage, index, last_round)
            suspects = [
                atom
                for atom in last_round
                if len(broke_by.get(atom, ())) > len(fixed_by.get(atom, ()))
            ]
        else:
            suspects = list(last_round) if len(broken) > len(fixed) else []
        undone = self._changed(suspects, before)
        runner = self.runner
        for atom in undone:
            runner.restore_code(atom, before[atom], reason=f"it broke {sorted(broken)[0]}")
        if undone:
            runner.commit()
        return undone

    def _undo_new_misses(
        self,
        outcome: CheckOutcome,
        index: SpanIndex,
        last_round: list[str],
        before: dict[str, str],
    ) -> list[str]:
        """Put back the code the last round replaced where the new code raises for a
        name it alone reads: the failure says the name is missing, its innermost
        project frame is in the regenerated atom, and the atom's code before the
        round never mentioned the name. A regeneration that misspelt an attribute
        (`self._MAARKER`) is then a certain loss, and when the module no longer
        imports (a failure at collection) no test passed before or after the round
        for `_undo_breakage` to weigh; blame would otherwise spend its next round on
        the same atom, or find its budget spent and leave the new mistake in place.
        Returns the atoms put back; the caller commits."""
        changed = set(self._changed(last_round, before))
        if not changed:
            return []
        texts = (
            [f"{f.test}\n{f.message}\n{f.text}" for f in outcome.tests.failures]
            if outcome.tests is not None
            else list(outcome.failures)
        )
        states = self.runner.states
        undone: list[str] = []
        for text in texts:
            frames = blame_traceback(text, index)
            atom = frames[0].atom_id if frames else None
            if atom is None or atom not in changed or atom in undone:
                continue
            for _kind, _owner, name in missing_names(text):
                word = re.compile(rf"\b{re.escape(name)}\b")
                if word.search(states[atom].code or "") and not word.search(before[atom]):
                    self.runner.restore_code(
                        atom, before[atom], reason=f"its new code reads {name}, which is missing"
                    )
                    undone.append(atom)
                    break
        if undone:
            self.runner.commit()
        return undone

    def _ran_by(
        self,
        tests: set[str],
        coverage: Mapping[str, Mapping[str, Sequence[int]]],
        index: SpanIndex,
        atoms: list[str],
    ) -> dict[str, set[str]]:
        """Per atom of `atoms`, which of `tests` ran it. Code run at import (a class
        body, a module constant) is in no test's line coverage: a test that ran
        code of its file ran it too."""
        states = self.runner.states
        wanted = set(atoms)
        early = {atom for atom in atoms if states[atom].planned.kind in IMPORT_TIME_KINDS}
        ran: dict[str, set[str]] = {}
        for test in tests:
            files = coverage.get(test, {})
            touched = {index.project_file(file) for file, lines in files.items() if lines}
            for atom in atoms_run(files, index) & wanted:
                ran.setdefault(atom, set()).add(test)
            for atom in early:
                if states[atom].planned.file in touched:
                    ran.setdefault(atom, set()).add(test)
        return ran

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
