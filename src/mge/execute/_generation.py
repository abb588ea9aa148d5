"""Generating one atom: its prompt, its attempts, their atomic verdicts (here or in
validation workers), retries with feedback, failure and the review it leads to."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from mge.db.models import (
    AtomicUnit,
    AtomStatus,
    HumanReviewQueue,
    ReviewStatus,
)
from mge.errors import ModelError, ProviderUnavailable
from mge.execute._judge import judge
from mge.execute._judge_pool import JudgePool
from mge.execute._output import copy_files
from mge.execute._planning import Planning
from mge.execute._prompts import Prerequisite, atom_prompt
from mge.execute._slots import current_slot
from mge.execute.executor import LocalExecutor, start_executor
from mge.execute.settings import AUTO_JUDGE_ATOMS
from mge.llm import ModelRequest, Purpose, extract_code
from mge.store.review_items import open_review_item, priority_of
from mge.validate import (
    AtomSpec,
    AtomVerdict,
    declared_class_names,
    validate_atom,
)
from mge.validate.typescript import TypeScriptService, check_compiler, in_skeleton

#: How long generation waits for validation workers to take the files' layouts.
JUDGES_READY_SECONDS = 1.0


class Generation(Planning):
    """The generation part of a `Runner` (see the module docstring)."""

    def _prompt_for(self, key: str, attempt: int, previous: str | None, errors: str | None) -> str:
        state = self.states[key]
        prerequisites = [
            Prerequisite(atom_id=other, code=self.states[other].code or "")
            for other in state.prerequisites
            if self.states[other].status is AtomStatus.COMPLETED
        ]
        return atom_prompt(
            atom_id=key,
            file=state.planned.file,
            kind=state.planned.kind,
            qualname=state.planned.qualname,
            language=state.language,
            signature=state.planned.signature,
            preconditions=state.preconditions,
            postconditions=state.postconditions,
            callees=state.callees,
            intent=state.intent,
            returns=state.returns,
            prerequisites=prerequisites,
            attempt=attempt,
            previous=previous,
            errors=errors,
        )

    def _validate(self, key: str, candidate: str, *, plan_binding: bool = True) -> AtomVerdict:
        """Runs on the event loop's thread: CPython 3.11's parser is not safe to use from
        two threads at once, and the replay model parses code too."""
        import tempfile

        spec = self._spec_for(key, plan_binding=plan_binding)
        if self._needs_workspace(key, candidate):
            assembly = self._assembly_for(key, candidate, compact=False)
            with tempfile.TemporaryDirectory(prefix="mge-workspace-") as scratch:
                root = Path(scratch)
                self._workspace(self._closure(key), key, candidate, root)
                with_path = dataclasses.replace(assembly, pythonpath=(root,))
                return _without_path(validate_atom(candidate, spec, with_path), scratch)
        verdict = judge(
            candidate,
            spec,
            self._layout(self.states[key].planned.file),
            self._view(key),
        )
        return self._compiled(verdict, candidate, spec)

    def _compiled(self, verdict: AtomVerdict, candidate: str, spec: AtomSpec) -> AtomVerdict:
        """For TypeScript and JavaScript: the compiler's `types` check, on the file's
        skeleton with the candidate in place of its definition and the other files'
        skeletons beside it (names and types of everything planned, bodies aside)."""
        if self._compiler is None or "syntax" in verdict.error_classes:
            return verdict
        skeleton = self._skeletons.get(spec.file)
        assembly = None if skeleton is None else in_skeleton(skeleton, candidate, spec)
        if assembly is None:
            return verdict
        others = {f: text for f, text in self._skeletons.items() if f != spec.file}
        result = check_compiler(candidate, spec, assembly, self._compiler, others, skeleton)
        return AtomVerdict((*verdict.results, result))

    def _needs_workspace(self, key: str, candidate: str) -> bool:
        """Doctests of a whole definition run against the project laid out on disk."""
        return ">>>" in candidate and self.states[key].whole_definition

    async def _judged(self, key: str, candidate: str, *, plan_binding: bool) -> AtomVerdict:
        """`_validate`, by a validation worker when there is one (see `_judge_pool`)."""
        if self._needs_workspace(key, candidate):
            return self._validate(key, candidate, plan_binding=plan_binding)
        if self.executor.judges:
            spec = self._spec_for(key, plan_binding=plan_binding)
            verdict = await self.executor.judge(
                candidate, spec, self._view(key), urgent=self.open_chains.heads(key)
            )
            return self._compiled(verdict, candidate, spec)
        if self._judges is None:
            return self._validate(key, candidate, plan_binding=plan_binding)
        spec = self._spec_for(key, plan_binding=plan_binding)
        verdict = await self._judges.judge(
            candidate, spec, self._view(key), priority=self.judge_priority.get(key, 0)
        )
        return self._compiled(verdict, candidate, spec)

    async def _start_judges(self, pending: int) -> None:
        """Start the validation workers as soon as the number of atoms to generate
        is known, before the atoms are stored and loaded: they are ready (and the
        engine's core free of L1) by the time the first atoms are."""
        if self.plan.language != "python" and self._compiler is None:
            self._start_compiler()
        if self.settings.executor == "ray":
            # The cluster judges: no validation workers on this machine.
            self._start_executor()
            return
        workers = self.settings.validation_workers
        if workers is None:
            cores = os.cpu_count() or 1
            workers = min(cores - 1, 4) if pending >= AUTO_JUDGE_ATOMS else 0
        if workers > 0:
            self._judges = await JudgePool.start(workers)

    def _start_executor(self) -> None:
        """Start the run's executor, if it is not the local one, before its first
        model call: from then on the model's calls are made where the executor serves
        them (`Executor.serve_model`: async actors on a Ray cluster). A model handed
        to the run rather than built from its settings cannot be described to another
        process, and is still called here."""
        if self.settings.executor == "local" or self.executor.name != "local":
            return
        scripts = self.plan.language != "python" and self.settings.run_tests
        self.executor = start_executor(self.settings, self.engine.dialect.name, scripts=scripts)
        self.model = self.executor.serve_model(
            self.model, self.model_description, concurrency=self.settings.concurrency
        )

    async def _load_judges(self) -> None:
        """Hand the workers the files' layouts and give them a moment to take them:
        once generation starts the loop has little time to feed a large message into
        the pipe, and until a worker has it, the engine judges every attempt itself."""
        if self.executor.judges:
            await self.executor.load({file: self._layout(file) for file in self.files})
        if self._judges is not None:
            self._judges.load({file: self._layout(file) for file in self.files})
            await self._judges.wait_ready(timeout=JUDGES_READY_SECONDS)

    def _start_compiler(self) -> None:
        """One TypeScript service for the run, in a folder holding the project's
        configuration (`package.json`, `tsconfig*.json` from the plan's support files);
        the files it checks are handed to it, never read from the output."""
        root = Path(tempfile.mkdtemp(prefix="mge-tsc-"))
        config = [p for p in self.plan.support if "/" not in p and p.endswith(".json")]
        copy_files(self.tests_dir, root, config)
        self._compiler_root = root
        self._compiler = TypeScriptService(root)
        self._set_report(typescript=dict(self._compiler.versions))

    async def _stop_judges(self) -> None:
        executor, self.executor = self.executor, LocalExecutor()
        if executor.name != "local":
            self._set_report(executor=await executor.aclose())
        if self._compiler is not None:
            compiler, self._compiler = self._compiler, None
            compiler.close()
            shutil.rmtree(self._compiler_root, ignore_errors=True)
        if self._judges is not None:
            judges, self._judges = self._judges, None
            await judges.aclose()
            self._set_report(
                validation_workers={
                    "workers": judges.workers,
                    "remote": judges.remote,
                    "local": judges.local,
                    "cpu_seconds": round(judges.judging_cpu_seconds, 3),
                }
            )

    def _continued(self, key: str) -> bool:
        """Whether the next atom of the file is a block continuing this one's code."""
        state = self.states[key]
        keys = self.files[state.planned.file]
        position = keys.index(key)
        if position + 1 >= len(keys):
            return False
        after = self.states[keys[position + 1]].planned
        return after.kind == "block" and after.qualname == state.planned.qualname

    def _spec_for(self, key: str, *, plan_binding: bool = True) -> AtomSpec:
        state = self.states[key]
        body = state.language == "python" and state.planned.kind in ("function", "method", "block")
        return AtomSpec(
            atom_id=key,
            kind=state.planned.kind,
            name=state.planned.name,
            qualname=state.planned.qualname,
            language=state.language,
            file=state.planned.file,
            signature=state.planned.signature,
            max_loc=self.config.max_loc,
            max_complexity=self.config.max_complexity,
            whole_definition=state.whole_definition,
            piece=state.piece,
            continued=self._continued(key),
            declared_names=(
                declared_class_names(
                    self._skeletons.get(state.planned.file, ""), state.planned.qualname
                )
                if state.planned.kind == "class_header" and state.language == "python"
                else frozenset(state.defines)
                if state.planned.kind == "module_header" and state.language == "python"
                else frozenset()
            ),
            declared_calls=(
                tuple(state.callees)
                if body
                else tuple(state.references)
                if state.language != "python" and state.planned.kind == "statement"
                else ()
            ),
            returns=body and bool(state.returns),
            plan_binding=plan_binding,
            planned_binds=(
                frozenset()
                if state.language != "python"
                else frozenset(state.defines)
                if state.planned.kind in ("block", "statement")
                else frozenset(state.binds)
            ),
        )

    async def regenerate(
        self,
        key: str,
        *,
        feedback: str,
        trigger: str,
        resume: tuple[str | None, str | None] | None = None,
        limit: int | None = None,
    ) -> bool:
        """Generate a completed atom again because a higher level blamed it.

        A regeneration never leaves the atom worse: if no new attempt passes atomic
        validation, the atom keeps its previous code, stays completed, and goes to
        review with the evidence. Returns whether new code replaced the old.
        `limit` is the last attempt number it may use (see `begin_blame_
        regeneration`); without one, blame's budget of attempts, or for a reviewer's
        request the caller's.
        """
        state = self.states[key]
        kept = state.code
        if limit is None and trigger.startswith("blame"):
            limit = self.blame_limit(key)
        passed = await self._generate(
            key, feedback=feedback, trigger=trigger, resume=resume, limit=limit
        )
        if not passed:
            row = self._row(state)
            row.code = kept
            row.status = AtomStatus.COMPLETED
            row.needs_review = True
            state.code = kept
            state.status = AtomStatus.COMPLETED
            self._queue_review(
                row,
                reason=f"regeneration after {trigger} failed atomic validation",
                priority=priority_of(
                    failed=False, blamed=True, blocked=0, confidence=row.confidence_score or 0.0
                ),
            )
            self.session.commit()
            self.report_review_queue()
        self.progress.event("atom_regenerated", atom=key, replaced=passed)
        return passed

    def restore_code(self, key: str, code: str, *, reason: str) -> None:
        """Give a completed atom back the code it had before a regeneration, which
        blame found broke a test (see `Blame._undo_breakage`). The regeneration's
        attempts stay in the history; the row notes how often this happened and
        why, for the reviewer. The caller commits."""
        state = self.states[key]
        row = self._row(state)
        row.code = code
        state.code = code
        restored = list(row.extra.get("restored", []))
        row.extra = {**row.extra, "restored": [*restored, reason]}
        self.progress.event("atom_restored", atom=key, reason=reason)

    def blame_exhausted(self, key: str) -> bool:
        """Whether blame has had the atom regenerated `blame_attempts` times."""
        extra = self._row(self.states[key]).extra
        return int(extra.get("blame_regenerations", 0)) >= self.settings.blame_attempts

    def begin_blame_regeneration(self, key: str) -> int:
        """Count one more regeneration blame asks for, and return the last attempt
        number it may use: like a generation, it gets `max_attempts` attempts at
        atomic validation. An answer L1 rejects is cheap to see and says nothing
        about whether the atom was at fault, so it does not use up blame's budget,
        which counts regenerations (`blame_attempts`). Both are noted on the row,
        committed with the note that the regeneration is under way, so a resumed
        run finishes it with the same limit and does not count it twice."""
        state = self.states[key]
        row = self._row(state)
        limit = state.attempts + self.settings.max_attempts
        row.extra = {
            **row.extra,
            "blame_regenerations": int(row.extra.get("blame_regenerations", 0)) + 1,
            "blame_regeneration_limit": limit,
        }
        return limit

    def blame_regeneration_limit(self, key: str) -> int | None:
        """The limit of the blame regeneration begun last (see above)."""
        value = self._row(self.states[key]).extra.get("blame_regeneration_limit")
        return None if value is None else int(value)

    def blame_limit(self, key: str) -> int:
        """The last attempt number blame regenerations of an atom may use: the
        attempts its generation took plus `blame_attempts`. The generation's count is
        noted on the row at the first regeneration (stored with its attempts, so a
        resumed run keeps the same budget)."""
        state = self.states[key]
        row = self._row(state)
        first = row.extra.get("generation_attempts")
        if first is None:
            first = state.attempts
            row.extra = {**row.extra, "generation_attempts": first}
        return int(first) + self.settings.blame_attempts

    async def _generate(
        self,
        key: str,
        *,
        feedback: str | None = None,
        trigger: str = "generation",
        resume: tuple[str | None, str | None] | None = None,
        limit: int | None = None,
        failures: list[str] | None = None,
    ) -> bool:
        """Attempts until one passes atomic validation (True) or none are left (False):
        up to `max_attempts`, or `limit` for a regeneration. `resume` is the previous
        candidate and its feedback, for a regeneration a kill cut short: its next
        attempt sees what it would have seen. `failures`, when given, receives the
        atomic-validation feedback of each attempt that failed."""
        state = self.states[key]
        row = self._set(state, status=AtomStatus.RUNNING)
        state.status = AtomStatus.RUNNING
        self._commit_soon()
        previous: str | None = state.code
        errors: str | None = feedback or row.last_error
        if resume is not None:
            previous, errors = resume
        last = self.settings.max_attempts if limit is None else limit
        earlier: list[str] = [errors] if errors else []  # what each failed attempt was told
        for attempt in range(state.attempts + 1, last + 1):
            self._check_can_call()
            temperature = self.settings.temperature_for(attempt)
            prompt = self._prompt_for(key, attempt, previous, errors)
            prefix = self._prefix(state.planned.file, self._skeletons.get(state.planned.file, ""))
            request = ModelRequest.single(
                prompt,
                system=self._system,
                cacheable_prefix=prefix,
                purpose=Purpose("atom", key, attempt, state.language),
                temperature=temperature,
            )
            slot = current_slot.get()
            if slot is not None:
                await slot.take()
            started = time.perf_counter()
            try:
                response = await self._call(request)
            except ProviderUnavailable:
                raise
            except ModelError as error:
                self._record_attempt(
                    state,
                    trigger=trigger,
                    attempt=attempt,
                    temperature=temperature,
                    prompt=prompt,
                    response=None,
                    code=None,
                    verdict=None,
                    error_type="provider",
                    error_message=str(error),
                    started=started,
                )
                errors = f"- [provider] {error}"
                continue
            finally:
                if slot is not None:
                    slot.give_back()  # for the next call, while this answer is judged
            answered = time.perf_counter()
            code = extract_code(response.text, state.language)
            if code and not code.endswith("\n"):
                code += "\n"
            # The last first-time attempt may disagree with the plan: the plan can be
            # what is wrong. A regeneration keeps the old code when it fails instead.
            binding = attempt < self.settings.max_attempts or trigger != "generation"
            verdict = await self._judged(key, code, plan_binding=binding)
            if not binding and not all(
                any(text in told for told in earlier) for text in verdict.disputed()
            ):
                # The plan is one voice against the model's: the answer overrules it
                # only by repeating, word for word, a disagreement an earlier attempt
                # was told about. Fresh disagreements on each attempt are the model's
                # own mistakes (a misspelt default, a dropped call), and accepting the
                # last one would hide it where no test's traceback can point.
                verdict = verdict.bound_to_plan()
            self._record_attempt(
                state,
                trigger=trigger,
                attempt=attempt,
                temperature=temperature,
                prompt=prompt,
                response=response,
                code=code,
                verdict=verdict,
                error_type=None if verdict.passed else (verdict.error_classes or ["unknown"])[0],
                error_message=None if verdict.passed else verdict.feedback()[:2000],
                started=started,
            )
            # How long the call took and how long its answer then waited to be
            # judged and recorded: where an atom's time went, which a person
            # watching a run (or a benchmark) cannot tell from the atom's ends.
            now = time.perf_counter()
            self.progress.event(
                "attempt",
                atom=key,
                attempt=attempt,
                passed=verdict.passed,
                cost_usd=self.run_row.cost_usd,
                model_seconds=round(answered - started, 6),
                checked_seconds=round(now - answered, 6),
            )
            if verdict.passed:
                return True
            previous, errors = code, verdict.feedback()
            earlier.append(errors)
            if failures is not None:
                failures.append(errors)
        return False

    def _fail(self, key: str) -> None:
        state = self.states[key]
        row = self._row(state)
        row.status = AtomStatus.FAILED
        row.needs_review = True
        row.confidence_score = 0.0
        state.status = AtomStatus.FAILED
        blocked = self._block_dependents(key)
        self._queue_review(
            row,
            reason=f"failed atomic validation after {state.attempts} attempts",
            priority=priority_of(failed=True, blamed=False, blocked=len(blocked), confidence=0.0),
        )
        self._commit_soon()
        self.progress.event("atom_failed", atom=key, blocked=len(blocked))
        self.report_review_queue()

    def report_review_queue(self) -> None:
        """Tell watchers how many atoms of this masterplan wait for a person."""
        size = self.session.scalar(
            select(func.count())
            .select_from(HumanReviewQueue)
            .where(
                HumanReviewQueue.masterplan_id == self.masterplan.id,
                HumanReviewQueue.status.in_([ReviewStatus.PENDING, ReviewStatus.IN_REVIEW]),
            )
        )
        self.progress.event("review_queue", size=int(size or 0))

    def _queue_review(self, row: AtomicUnit, *, reason: str, priority: int) -> None:
        open_review_item(
            self.session, row, masterplan_id=self.masterplan.id, reason=reason, priority=priority
        )


def _without_path(verdict: AtomVerdict, scratch: str) -> AtomVerdict:
    """The verdict with the throw-away workspace's random path replaced by a fixed
    name: the feedback quotes tracebacks, and a path that differs on every attempt
    would make the next prompt (its tokens and cost) differ from run to run."""
    return dataclasses.replace(
        verdict,
        results=tuple(
            dataclasses.replace(result, output=result.output.replace(scratch, "<workspace>"))
            for result in verdict.results
        ),
    )
