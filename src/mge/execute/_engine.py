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
import dataclasses
import functools
import gc
import heapq
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam, event, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from mge.atomize import Atom, AtomizeConfig, FileResult, atomize_source
from mge.db.base import Base, sequential_id
from mge.db.bulk import BulkWrite
from mge.db.models import (
    AtomDependency,
    AtomicUnit,
    AtomRetryHistory,
    AtomStatus,
    ExecutionWave,
    GenerationRun,
    HumanReviewQueue,
    MasterPlan,
    MasterPlanTask,
    ReviewStatus,
    RunStatus,
    TestType,
    ValidationLevel,
    ValidationResult,
    WaveStatus,
)
from mge.db.wal import background_checkpoints
from mge.errors import BudgetExhausted, MgeError, ModelError, ProviderUnavailable, ValidationFailed
from mge.execute._assembly import PlannedAtom, assemble, indentation, skeleton_stand_in
from mge.execute._hierarchy import Hierarchy
from mge.execute._judge import FileAtom, atom_assembly, judge
from mge.execute._judge_pool import JudgePool
from mge.execute._output import copy_tests, same_code, write_files
from mge.execute._prompts import Prerequisite, atom_prompt, render
from mge.execute._reference import PlanReference
from mge.execute.progress import NullProgress, ProgressSink
from mge.execute.settings import AUTO_JUDGE_ATOMS, RunSettings
from mge.graph import GraphAnalysis, build_graph
from mge.llm import Budget, Model, ModelRequest, ModelResponse, Purpose, extract_code, make_model
from mge.plan import Plan, Task
from mge.review import priority_of, queue_doubtful
from mge.store import save_graph
from mge.store.plans import export_plan
from mge.validate import (
    Assembly,
    AtomSpec,
    AtomVerdict,
    declared_class_names,
    validate_atom,
)
from mge.validate.testing import TestOutcome, run_pytest

FINAL_STATUSES = frozenset(
    {AtomStatus.COMPLETED, AtomStatus.FAILED, AtomStatus.BLOCKED, AtomStatus.SKIPPED}
)


#: How long generation waits for validation workers to take the files' layouts.
JUDGES_READY_SECONDS = 1.0

#: A masterplan's atoms and graph as planned, before they are stored.
PlannedGraph = tuple[list[Atom], GraphAnalysis]

#: How long a recorded attempt may wait for the group commit that includes it.
GROUP_COMMIT_SECONDS = 0.01

#: The atom row's columns an attempt changes, written by the group commit.
_GENERATION_COLUMNS = ("status", "attempts", "code", "generated_at", "completed_at", "last_error")


def _table(model: type[Base]) -> Table:
    """The model's table, for the group commit's bulk writes: rows given as dicts
    with every value set need none of the ORM's per-object bookkeeping."""
    return cast(Table, model.__table__)


_ROW_UPDATE = BulkWrite(
    update(_table(AtomicUnit))
    .where(_table(AtomicUnit).c.id == bindparam("row_id"))
    .values({name: bindparam(name) for name in (*_GENERATION_COLUMNS, "updated_at")})
)
_ATTEMPT_INSERT = BulkWrite(insert(_table(AtomRetryHistory)))
_RESULT_INSERT = BulkWrite(insert(_table(ValidationResult)))


def utcnow() -> datetime:
    return datetime.now(UTC)


class RunStopped(Exception):
    """Raised inside the engine when the run must stop starting new work."""

    def __init__(self, status: RunStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@contextlib.contextmanager
def _collector_frozen() -> Iterator[None]:
    """Generation with the objects that exist before it (plan, graph, atom rows,
    parsed references: hundreds of thousands on a big plan) moved out of the cyclic
    garbage collector's sight. Every attempt allocates syntax trees, and each full
    collection would walk all of those long-lived objects again: on a 2,000-atom
    plan that was over a third of the engine's CPU time. Objects made during
    generation are collected as usual; the frozen ones are handed back at the end."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass
class AtomState:
    row_id: uuid.UUID
    key: str
    planned: PlannedAtom
    task_key: str | None
    language: str
    loc: int
    complexity: float
    preconditions: list[str]
    postconditions: list[str]
    callees: list[str]
    defines: list[str]
    status: AtomStatus
    attempts: int
    code: str | None
    wave: int | None
    whole_definition: bool
    piece: int
    prerequisites: list[str] = field(default_factory=list)
    dependents: list[str] = field(default_factory=list)


@dataclass
class Totals:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    attempts: int = 0

    def add(self, response: ModelResponse) -> None:
        self.input_tokens += response.input_tokens
        self.output_tokens += response.output_tokens
        self.cached_tokens += response.cached_tokens
        self.cost_usd += response.cost_usd


class Runner:
    """One execution of one run; build it with `Runner.open` and call `run()`."""

    def __init__(
        self,
        engine: Engine,
        run_id: uuid.UUID,
        *,
        progress: ProgressSink | None = None,
        stop: asyncio.Event | None = None,
        model: Model | None = None,
    ) -> None:
        self.engine = engine
        self.run_id = run_id
        self.progress = progress or NullProgress()
        self.stop = stop or asyncio.Event()
        self.session = Session(engine, expire_on_commit=False)
        run = self.session.get(GenerationRun, run_id)
        if run is None:
            raise MgeError(f"no run {run_id}")
        self.run_row = run
        self.masterplan: MasterPlan = run.masterplan
        self.settings = RunSettings.model_validate(run.settings)
        self.plan: Plan = export_plan(self.masterplan)
        self.config = AtomizeConfig(**self.plan.atomization.model_dump())
        reference = self.masterplan.reference_path
        self.reference_dir = Path(reference) if reference else None
        self.reference = (
            PlanReference(self.reference_dir, self.config) if self.reference_dir else None
        )
        self.model = model or make_model(
            self.settings.model,
            base_url=self.settings.base_url,
            reference=self.reference,
            fault_rate=self.settings.fault_rate,
            fault_kinds=self.settings.fault_kinds,
            seed=self.settings.seed,
            latency_ms=self.settings.latency_ms,
        )
        self.budget = Budget(self.settings.budget_usd)
        if run.cost_usd:
            self.budget.charge(float(run.cost_usd))
        self.totals = Totals()
        self.states: dict[str, AtomState] = {}
        self.files: dict[str, list[str]] = {}
        self.tasks: dict[str, Task] = {task.id: task for task in self.plan.tasks()}
        self.task_of_file = {file: task.id for task in self.plan.tasks() for file in task.files}
        self.in_flight = 0
        self.max_in_flight = 0
        self._skeletons: dict[str, str] = {}
        self._prefixes: dict[tuple[str, str], str] = {}
        self._layouts: dict[str, tuple[FileAtom, ...]] = {}
        self._depth_of: dict[str, int] | None = None
        self._judges: JudgePool | None = None
        # wave number -> when its first atom started, until the wave is reported done
        self._wave_started: dict[int, float] = {}
        self._wave_members: dict[int, list[AtomState]] = {}
        self._wave_final: dict[int, int] = {}
        # Group commit (see `_commit_soon`): attempt rows waiting for the next commit,
        # written in bulk by `_write_pending` just before it.
        self._rows: dict[uuid.UUID, AtomicUnit] = {}
        self._pending_attempts: list[dict[str, Any]] = []
        self._pending_results: list[dict[str, Any]] = []
        # Atom rows whose generation columns (`_GENERATION_COLUMNS`) changed since the
        # last commit; written from the rows' current values by `_write_pending`.
        self._pending_rows: dict[uuid.UUID, AtomicUnit] = {}
        self._commit_timer: asyncio.TimerHandle | None = None
        event.listen(self.session, "before_commit", self._write_pending)
        event.listen(self.session, "after_rollback", self._drop_pending)

    # -- bookkeeping -----------------------------------------------------------

    def _write_pending(self, session: Session) -> None:
        """Insert the attempts recorded since the last commit, in one statement per
        table, inside the transaction being committed: an atom's new status and the
        attempt that earned it always land together."""
        if self._pending_attempts:
            attempts, self._pending_attempts = self._pending_attempts, []
            _ATTEMPT_INSERT.execute(session.connection(), attempts)
        if self._pending_results:
            results, self._pending_results = self._pending_results, []
            _RESULT_INSERT.execute(session.connection(), results)
        if self._pending_rows:
            rows, self._pending_rows = self._pending_rows, {}
            now = utcnow()
            _ROW_UPDATE.execute(
                session.connection(),
                [
                    {"row_id": row.id, "updated_at": now}
                    | {name: getattr(row, name) for name in _GENERATION_COLUMNS}
                    for row in rows.values()
                ],
            )

    def _drop_pending(self, _session: Session) -> None:
        self._pending_attempts.clear()
        self._pending_results.clear()
        self._pending_rows.clear()

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
            self._commit_timer = loop.call_later(GROUP_COMMIT_SECONDS, self.commit)

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
        run = self.run_row
        if response is not None:
            run.input_tokens += response.input_tokens
            run.output_tokens += response.output_tokens
            run.cached_tokens += response.cached_tokens
            run.cost_usd += response.cost_usd
            self.progress.event(
                "tokens",
                input_tokens=response.input_tokens,
                output_tokens=response.output_tokens,
                cached_tokens=response.cached_tokens,
            )
            self.progress.event("cost", cost_usd=float(run.cost_usd))
        run.attempts_total += attempts

    def _set_report(self, **values: Any) -> None:
        report = dict(self.run_row.report or {})
        report.update(values)
        self.run_row.report = report

    def _language(self) -> str:
        return self.plan.language

    # -- stage 1: skeletons ----------------------------------------------------

    def _prefix(self, file: str, skeleton: str) -> str:
        """The shared prefix of a file's atom prompts, rendered once per file: the
        same string object every time, so its hash (prompt-cache bookkeeping, token
        counts) is computed once too."""
        key = (file, skeleton)
        if key not in self._prefixes:
            self._prefixes[key] = self._render_prefix(file, skeleton)
        return self._prefixes[key]

    def _render_prefix(self, file: str, skeleton: str) -> str:
        task = self.tasks[self.task_of_file[file]]
        return render(
            "prefix",
            plan_name=self.plan.name,
            plan_description=self.plan.description or "",
            task_id=task.id,
            task_name=task.name,
            task_description=task.description or "",
            task_files=", ".join(task.files),
            file=file,
            language=self._language(),
            skeleton=skeleton.rstrip(),
        )

    @functools.cached_property
    def _system(self) -> str:
        return render("system", language=self._language())

    async def _skeleton_of(self, file: str) -> str:
        task = self.tasks[self.task_of_file[file]]
        prompt = render(
            "skeleton",
            file=file,
            task_files=", ".join(task.files),
            task_tests=", ".join(task.tests) or "none",
            target_loc=self.config.target_loc,
        )
        problem = ""
        for attempt in range(1, self.settings.max_attempts + 1):
            self._check_can_call()
            request = ModelRequest.single(
                prompt + (f"\n\nThe previous answer was rejected: {problem}" if problem else ""),
                system=self._system,
                purpose=Purpose("skeleton", file, attempt, self._language()),
                temperature=self.settings.temperature_for(attempt),
            )
            response = await self._call(request)
            self._commit_totals(response)
            self.session.commit()
            text = extract_code(response.text, self._language())
            problem = _skeleton_problem(text, file, self._language())
            if not problem:
                return text if text.endswith("\n") else text + "\n"
        raise ValidationFailed(f"the skeleton of {file} was rejected: {problem}")

    async def _skeleton_stage(self) -> dict[str, str]:
        skeletons: dict[str, str] = dict((self.run_row.report or {}).get("skeletons", {}))
        missing = [file for file in self.task_of_file if file not in skeletons]
        if missing:
            self.progress.event("stage", name="skeletons", files=len(missing))
        limit = asyncio.Semaphore(self.settings.concurrency)

        async def one(file: str) -> None:
            async with limit:
                skeletons[file] = await self._skeleton_of(file)
                self._set_report(skeletons=dict(skeletons))
                self.session.commit()

        await self._gather([one(file) for file in missing])
        return skeletons

    # -- stage 2: atoms and graph ------------------------------------------------

    def _blueprint(self, skeletons: dict[str, str]) -> list[FileResult]:
        results: list[FileResult] = []
        for file in self.task_of_file:
            reference = self.reference.atomized(file) if self.reference else None
            results.append(
                reference
                if reference is not None
                else atomize_source(skeletons[file].encode("utf-8"), file, config=self.config)
            )
        return results

    def _plan_graph(self, skeletons: dict[str, str]) -> PlannedGraph | None:
        """The atoms and graph of a masterplan that has none stored yet."""
        if self.masterplan.graph_id is not None:
            return None
        self.progress.event("stage", name="atoms")
        results = self._blueprint(skeletons)
        # A plan's paths are relative to the project root, which is where imports
        # start from: `pkg/m.py` is module `pkg.m` whether or not the plan lists
        # `pkg/__init__.py` (a namespace package, or one left for later). Without
        # the root, imports of such modules would resolve to nothing and their
        # atoms would be scheduled before what they call.
        return build_graph(results, root=".")

    def _save_graph(self, graph: PlannedGraph) -> None:
        atoms, analysis = graph
        task_rows = {row.task_key: row for row in self.masterplan.tasks}
        tasks = {atom.id: task_rows[self.task_of_file[atom.file]] for atom in atoms}
        save_graph(
            self.session, masterplan=self.masterplan, atoms=atoms, analysis=analysis, tasks=tasks
        )
        self.session.flush()
        has_reference = self.reference_dir is not None
        blueprint = {atom.id: atom for atom in atoms}
        for row in self.masterplan.atoms:
            planned = blueprint[row.atom_key]
            indent, body_indent = indentation(planned.text, planned.kind)
            row.extra = {**row.extra, "indent": indent, "body_indent": body_indent}
            row.reference_code = planned.text if has_reference else None
            row.code = None
            row.max_attempts = self.settings.max_attempts
        self._set_report(
            graph={
                "waves": len(analysis.waves),
                "max_parallelism": analysis.max_parallelism,
                "critical_path": len(analysis.critical_path),
                "critical_path_loc": analysis.critical_path_loc,
                "edges": len(analysis.edges),
                "has_cycles": analysis.has_cycles,
            }
        )
        self.session.commit()
        for atom in atoms:
            self.progress.event(
                "atom_generated",
                atom=atom.id,
                loc=atom.loc,
                complexity=atom.complexity,
                atomicity_score=atom.atomicity_score,
                context_completeness=atom.context_completeness,
            )
        self.progress.event(
            "graph",
            atoms=len(analysis.nodes),
            waves=len(analysis.waves),
            max_parallelism=analysis.max_parallelism,
            critical_path=len(analysis.critical_path),
            cycles=len(analysis.cycles),
            edges=analysis.edges_by_type(),
        )

    # -- stage 3: generation ------------------------------------------------------

    def _load_states(self) -> None:
        rows = list(
            self.session.scalars(
                select(AtomicUnit)
                .where(AtomicUnit.masterplan_id == self.masterplan.id)
                .order_by(AtomicUnit.atom_number)
            )
        )
        task_keys = {task.id: task.task_key for task in self.masterplan.tasks}
        qualname_pieces: dict[str, int] = {}
        piece_of: dict[str, int] = {}
        for row in rows:
            piece_of[row.atom_key] = qualname_pieces.get(f"{row.file_path}::{row.qualname}", 0)
            qualname_pieces[f"{row.file_path}::{row.qualname}"] = (
                qualname_pieces.get(f"{row.file_path}::{row.qualname}", 0) + 1
            )
        self.states.clear()
        self.files.clear()
        self._layouts.clear()
        self._depth_of = None
        self._rows = {row.id: row for row in rows}
        self._wave_members.clear()
        self._wave_final.clear()
        for row in rows:
            if row.status is AtomStatus.RUNNING:
                row.status = AtomStatus.PENDING
            planned = PlannedAtom(
                atom_id=row.atom_key,
                file=row.file_path,
                kind=row.kind,
                name=row.name,
                qualname=row.qualname or row.name,
                signature=row.signature,
                indent=str(row.extra.get("indent", "")),
                body_indent=str(row.extra.get("body_indent", "    ")),
            )
            state = AtomState(
                row_id=row.id,
                key=row.atom_key,
                planned=planned,
                task_key=task_keys.get(row.task_id) if row.task_id else None,
                language=row.language,
                loc=row.loc,
                complexity=row.complexity,
                preconditions=list(row.context_preconditions),
                postconditions=list(row.context_postconditions),
                callees=list(row.context_callees),
                defines=list(row.extra.get("defines", [])),
                status=row.status,
                attempts=row.attempts,
                code=row.code,
                wave=row.wave_number,
                whole_definition=qualname_pieces[f"{row.file_path}::{row.qualname}"] == 1,
                piece=piece_of[row.atom_key],
            )
            self.states[row.atom_key] = state
            self.files.setdefault(row.file_path, []).append(row.atom_key)
        key_of = {row.id: row.atom_key for row in rows}
        edges = self.session.scalars(
            select(AtomDependency).where(
                AtomDependency.graph_id == self.masterplan.graph_id,
                AtomDependency.is_broken.is_(False),
            )
        )
        for edge in edges:
            source, target = key_of[edge.from_atom_id], key_of[edge.to_atom_id]
            self.states[target].prerequisites.append(source)
            self.states[source].dependents.append(target)
        self.session.commit()

    def _closure(self, key: str) -> set[str]:
        seen: set[str] = set()
        queue = deque(self.states[key].prerequisites)
        while queue:
            current = queue.popleft()
            if current in seen:
                continue
            seen.add(current)
            queue.extend(self.states[current].prerequisites)
        return seen

    def _in_view(
        self, key: str, candidate: str, closure: set[str]
    ) -> Callable[[PlannedAtom], str | None]:
        """What an attempt at `key` sees of each atom: the candidate itself, the code of
        its completed prerequisites, and a stand-in (None) for everything else."""

        def code_of(planned: PlannedAtom) -> str | None:
            if planned.atom_id == key:
                return candidate
            other = self.states[planned.atom_id]
            if planned.atom_id in closure and other.status is AtomStatus.COMPLETED:
                return other.code
            return None

        return code_of

    def _layout(self, file: str) -> tuple[FileAtom, ...]:
        layout = self._layouts.get(file)
        if layout is None:
            layout = self._layouts[file] = tuple(
                FileAtom(self.states[k].planned, tuple(self.states[k].defines))
                for k in self.files[file]
            )
        return layout

    def _view(self, key: str) -> dict[str, str]:
        """The code of the atoms of `key`'s file that its attempt may see."""
        return {
            other: code
            for other in self._file_ancestors(key)
            if self.states[other].status is AtomStatus.COMPLETED
            and (code := self.states[other].code) is not None
        }

    def _file_ancestors(self, key: str) -> set[str]:
        """The atoms of `key`'s file that `key` depends on, directly or not.

        Only these matter to an attempt's view of its file, and searching all of an
        atom's prerequisites for them costs O(atoms) per attempt on a deep graph.
        The search walks back only through atoms deeper than the shallowest
        candidate (a path from it to `key` cannot pass through shallower ones) and
        stops once every candidate is found."""
        depth = self._depths()
        state = self.states[key]
        candidates = {
            other
            for other in self.files[state.planned.file]
            if other != key and depth[other] < depth[key]
        }
        found: set[str] = set()
        if not candidates:
            return found
        floor = min(depth[other] for other in candidates)
        seen = {key}
        stack = [key]
        while stack and len(found) < len(candidates):
            for prerequisite in self.states[stack.pop()].prerequisites:
                if prerequisite in seen or depth[prerequisite] < floor:
                    continue
                seen.add(prerequisite)
                if prerequisite in candidates:
                    found.add(prerequisite)
                stack.append(prerequisite)
        return found

    def _depths(self) -> dict[str, int]:
        """Per atom, the length of its longest chain of prerequisites (0 for none)."""
        if self._depth_of is None:
            self._depth_of = self._longest_chains(upward=True)
        return self._depth_of

    def _heights(self) -> dict[str, int]:
        """Per atom, in plan order: the length of its longest chain of dependents."""
        return self._longest_chains(upward=False)

    def _longest_chains(self, *, upward: bool) -> dict[str, int]:
        """Longest path from any source (`upward`) or to any sink, in atoms, by Kahn's
        order over the run's graph (which holds no cycle once they are broken)."""

        def before(key: str) -> list[str]:
            state = self.states[key]
            return state.prerequisites if upward else state.dependents

        def after(key: str) -> list[str]:
            state = self.states[key]
            return state.dependents if upward else state.prerequisites

        waiting = {key: len(before(key)) for key in self.states}
        length = dict.fromkeys(self.states, 0)
        stack = [key for key, count in waiting.items() if count == 0]
        while stack:
            key = stack.pop()
            for following in after(key):
                length[following] = max(length[following], length[key] + 1)
                waiting[following] -= 1
                if waiting[following] == 0:
                    stack.append(following)
        return length

    def _assembly_for(self, key: str, candidate: str, *, compact: bool = True) -> Assembly:
        """The candidate's file as the attempt sees it (see `atom_assembly`)."""
        layout = self._layout(self.states[key].planned.file)
        code_of = self._in_view(key, candidate, self._file_ancestors(key))
        return atom_assembly(layout, key, code_of, compact=compact)

    def _workspace(self, closure: set[str], key: str, candidate: str, root: Path) -> None:
        """Every project file as this atom may see it, for running its doctests."""
        code_of = self._in_view(key, candidate, closure)
        for file, keys in self.files.items():
            text = assemble([self.states[k].planned for k in keys], code_of).text
            target = root / file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", errors="surrogateescape")
        for folder in {Path(file).parent for file in self.files}:
            while folder != Path("."):
                init = root / folder / "__init__.py"
                if not init.exists():
                    init.touch()
                folder = folder.parent

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
            prerequisites=prerequisites,
            attempt=attempt,
            previous=previous,
            errors=errors,
        )

    def _validate(self, key: str, candidate: str) -> AtomVerdict:
        """Runs on the event loop's thread: CPython 3.11's parser is not safe to use from
        two threads at once, and the replay model parses code too."""
        import tempfile

        spec = self._spec_for(key)
        if self._needs_workspace(key, candidate):
            assembly = self._assembly_for(key, candidate, compact=False)
            with tempfile.TemporaryDirectory(prefix="mge-workspace-") as scratch:
                root = Path(scratch)
                self._workspace(self._closure(key), key, candidate, root)
                with_path = dataclasses.replace(assembly, pythonpath=(root,))
                return validate_atom(candidate, spec, with_path)
        return judge(
            candidate,
            spec,
            self._layout(self.states[key].planned.file),
            self._view(key),
        )

    def _needs_workspace(self, key: str, candidate: str) -> bool:
        """Doctests of a whole definition run against the project laid out on disk."""
        return ">>>" in candidate and self.states[key].whole_definition

    async def _judged(self, key: str, candidate: str) -> AtomVerdict:
        """`_validate`, by a validation worker when there is one (see `_judge_pool`)."""
        if self._judges is None or self._needs_workspace(key, candidate):
            return self._validate(key, candidate)
        return await self._judges.judge(candidate, self._spec_for(key), self._view(key))

    def _pending_stored(self) -> int:
        return (
            self.session.scalar(
                select(func.count())
                .select_from(AtomicUnit)
                .where(
                    AtomicUnit.masterplan_id == self.masterplan.id,
                    AtomicUnit.status.not_in(FINAL_STATUSES),
                )
            )
            or 0
        )

    async def _start_judges(self, pending: int) -> None:
        """Start the validation workers as soon as the number of atoms to generate
        is known, before the atoms are stored and loaded: they are ready (and the
        engine's core free of L1) by the time the first atoms are."""
        workers = self.settings.validation_workers
        if workers is None:
            cores = os.cpu_count() or 1
            workers = min(cores - 1, 4) if pending >= AUTO_JUDGE_ATOMS else 0
        if workers > 0:
            self._judges = await JudgePool.start(workers)

    async def _load_judges(self) -> None:
        """Hand the workers the files' layouts and give them a moment to take them:
        once generation starts the loop has little time to feed a large message into
        the pipe, and until a worker has it, the engine judges every attempt itself."""
        if self._judges is not None:
            self._judges.load({file: self._layout(file) for file in self.files})
            await self._judges.wait_ready(timeout=JUDGES_READY_SECONDS)

    async def _stop_judges(self) -> None:
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

    def _spec_for(self, key: str) -> AtomSpec:
        state = self.states[key]
        return AtomSpec(
            atom_id=key,
            kind=state.planned.kind,
            name=state.planned.name,
            qualname=state.planned.qualname,
            language=state.language,
            file=state.planned.file,
            signature=state.planned.signature,
            planned_loc=state.loc,
            planned_complexity=state.complexity,
            max_loc=self.config.max_loc,
            max_complexity=self.config.max_complexity,
            whole_definition=state.whole_definition,
            piece=state.piece,
            declared_names=(
                declared_class_names(
                    self._skeletons.get(state.planned.file, ""), state.planned.qualname
                )
                if state.planned.kind == "class_header" and state.language == "python"
                else frozenset()
            ),
        )

    def _check_can_call(self) -> None:
        if self.stop.is_set():
            raise RunStopped(RunStatus.INTERRUPTED, "stopped by the user")
        try:
            self.budget.check()
        except BudgetExhausted as error:
            self.stop.set()
            raise RunStopped(RunStatus.BUDGET_EXHAUSTED, str(error)) from None

    async def _call(self, request: ModelRequest) -> ModelResponse:
        response = await self.model.complete(request)
        self.budget.charge(response)
        return response

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
            changes |= {"status": AtomStatus.COMPLETED, "completed_at": now, "last_error": None}
            state.status = AtomStatus.COMPLETED
        else:
            changes["last_error"] = (verdict.feedback() if verdict else error_message) or None
        self._set(state, **changes)
        self._commit_totals(response, attempts=1)
        self._commit_soon()

    async def regenerate(self, key: str, *, feedback: str, trigger: str) -> bool:
        """Generate a completed atom again because a higher level blamed it.

        A regeneration never leaves the atom worse: if no new attempt passes atomic
        validation, the atom keeps its previous code, stays completed, and goes to
        review with the evidence. Returns whether new code replaced the old.
        """
        state = self.states[key]
        kept = state.code
        passed = await self._generate(key, feedback=feedback, trigger=trigger)
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

    async def _generate(
        self, key: str, *, feedback: str | None = None, trigger: str = "generation"
    ) -> bool:
        """Attempts until one passes atomic validation (True) or none are left (False)."""
        state = self.states[key]
        row = self._set(state, status=AtomStatus.RUNNING)
        state.status = AtomStatus.RUNNING
        self._commit_soon()
        previous: str | None = state.code
        errors: str | None = feedback or row.last_error
        for attempt in range(state.attempts + 1, self.settings.max_attempts + 1):
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
            code = extract_code(response.text, state.language)
            if code and not code.endswith("\n"):
                code += "\n"
            verdict = await self._judged(key, code)
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
            self.progress.event(
                "attempt",
                atom=key,
                attempt=attempt,
                passed=verdict.passed,
                cost_usd=self.run_row.cost_usd,
            )
            if verdict.passed:
                return True
            previous, errors = code, verdict.feedback()
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
        existing = self.session.scalar(
            select(HumanReviewQueue).where(HumanReviewQueue.atom_id == row.id)
        )
        evidence = {"last_errors": row.last_error, "attempts": row.attempts}
        if existing is None:
            self.session.add(
                HumanReviewQueue(
                    atom_id=row.id,
                    masterplan_id=self.masterplan.id,
                    confidence_score=row.confidence_score or 0.0,
                    priority=priority,
                    reason=reason,
                    original_code=row.code,
                    evidence=evidence,
                )
            )
        else:
            existing.evidence = {**existing.evidence, **evidence}

    def _block_dependents(self, key: str) -> list[str]:
        blocked: list[str] = []
        queue = deque(self.states[key].dependents)
        while queue:
            current = queue.popleft()
            state = self.states[current]
            if state.status in FINAL_STATUSES:
                continue
            state.status = AtomStatus.BLOCKED
            self._row(state).status = AtomStatus.BLOCKED
            blocked.append(current)
            queue.extend(state.dependents)
        return blocked

    def _ready(self, key: str) -> bool:
        state = self.states[key]
        return state.status in (AtomStatus.PENDING, AtomStatus.READY) and all(
            self.states[p].status is AtomStatus.COMPLETED for p in state.prerequisites
        )

    async def _gather(self, coroutines: Iterable[Any]) -> None:
        tasks = [asyncio.ensure_future(c) for c in coroutines]
        if not tasks:
            return
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _run_atom(self, key: str, limit: asyncio.Semaphore) -> None:
        async with limit:
            if self.stop.is_set():
                return
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.progress.event("atom_started", atom=key)
            self._wave_started.setdefault(self.states[key].wave or 1, time.perf_counter())
            try:
                passed = await self._generate(key)
                self.progress.event(
                    "validation", level="atomic", scope=key, check="atomic", passed=passed
                )
                if not passed:
                    self._fail(key)
            finally:
                self.in_flight -= 1
        self.progress.event("atom_done", atom=key, status=self.states[key].status.value)
        self._report_finished_waves()

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
            if state.status in (AtomStatus.PENDING, AtomStatus.READY) and any(
                self.states[p].status in (AtomStatus.FAILED, AtomStatus.BLOCKED)
                for p in state.prerequisites
            ):
                self._block_dependents_of_failed(key)
        self.session.commit()
        # Ready atoms start longest chain of dependents first (then in plan order), so
        # the critical path never queues behind atoms with slack; and never more at
        # once than the concurrency allows: a task per ready atom waiting on the
        # semaphore would make every completion walk all of them (10,000 on a wide plan).
        priority = {
            key: (-height, index) for index, (key, height) in enumerate(self._heights().items())
        }
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

        def launch() -> None:
            while ready and len(running) < self.settings.concurrency and not self.stop.is_set():
                _, key = heapq.heappop(ready)
                task = asyncio.ensure_future(self._run_atom(key, limit))
                task.add_done_callback(functools.partial(on_done, key))
                running.add(task)

        consider(self.states)
        launch()
        try:
            while running:
                await wake.wait()
                wake.clear()
                done: list[str] = []
                while finished:
                    key, task = finished.popleft()
                    running.discard(task)
                    task.result()
                    done.append(key)
                consider(d for key in done for d in self.states[key].dependents)
                launch()
        except BaseException:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise

    def _block_dependents_of_failed(self, key: str) -> None:
        state = self.states[key]
        state.status = AtomStatus.BLOCKED
        self._row(state).status = AtomStatus.BLOCKED
        self._block_dependents(key)

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
                elif any(
                    self.states[p].status in (AtomStatus.FAILED, AtomStatus.BLOCKED)
                    for p in self.states[key].prerequisites
                ):
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

    # -- stage 4: output ------------------------------------------------------------

    def _final_code(self, planned: PlannedAtom) -> str | None:
        # A failed atom's last candidate stays in the database for review; the project
        # gets its stub, so one bad atom cannot stop the rest from importing.
        state = self.states[planned.atom_id]
        if state.status is AtomStatus.COMPLETED:
            return state.code
        if planned.kind in ("module_header", "statement") and not planned.indent:
            # The skeleton's imports and constants for the names it was to bind.
            skeleton = self._skeletons.get(planned.file, "")
            return skeleton_stand_in(skeleton, state.defines) or None
        return None

    def planned_tests(self) -> list[str]:
        """Every test file the plan names, in plan order, each once."""
        return list(
            dict.fromkeys(
                [test for task in self.plan.tasks() for test in task.tests]
                + [test for phase in self.plan.phases for m in phase.milestones for test in m.tests]
                + list(self.plan.acceptance)
            )
        )

    def _prepare_output(self) -> list[str]:
        out = self.settings.out_path
        out.mkdir(parents=True, exist_ok=True)
        return copy_tests(self.reference_dir, out, self.planned_tests())

    def _finish(self, copied: list[str], final: TestOutcome | None) -> None:
        """Write the project, take the acceptance verdict, compare with the reference."""
        out = self.settings.out_path
        files = {
            file: assemble(
                [self.states[k].planned for k in keys],
                self._final_code,
                defines={k: self.states[k].defines for k in keys},
                whole_definitions=True,
            ).text
            for file, keys in self.files.items()
        }
        for file in self.task_of_file:  # a planned file with no atoms is an empty one
            files.setdefault(file, "")
        write_files(out, files)
        acceptance = [test for test in (self.plan.acceptance or copied) if test in copied]
        if final is None and self.settings.run_tests:
            final = run_pytest(out, acceptance, timeout=self.settings.test_timeout_seconds)
        accepted = final or TestOutcome()
        outcome = accepted
        precision = 100.0 * accepted.passed / accepted.total if accepted.total else None
        rows = {
            row.atom_key: row
            for row in self.session.scalars(
                select(AtomicUnit).where(AtomicUnit.masterplan_id == self.masterplan.id)
            )
        }
        reference_match: float | None = None
        silent: int | None = None
        if self.reference_dir is not None and self.model.simulated and rows:
            completed = [key for key in rows if self.states[key].status is AtomStatus.COMPLETED]
            matches = sum(same_code(self.states[k].code, rows[k].reference_code) for k in completed)
            reference_match = round(100.0 * matches / len(rows), 2)
            silent = len(completed) - matches
        self.run_row.precision_percent = precision
        self.masterplan.precision_percent = precision
        self._set_report(
            tests=outcome.to_dict(),
            test_failures=[{"test": f.test, "message": f.message} for f in outcome.failures[:50]],
            reference_match_percent=reference_match,
            silent_faults=silent,
            files=sorted(files),
        )
        # Rank every completed atom by confidence and queue the doubtful ones; the
        # score reads every attempt, including any still waiting for a commit.
        self._write_pending(self.session)
        queue_doubtful(self.session, run_id=self.run_id)
        self.session.commit()

    # -- the whole run -------------------------------------------------------------

    async def run(self) -> RunStatus:
        run = self.run_row
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
            with _collector_frozen(), background_checkpoints(self.engine):
                if self.settings.schedule == "waves":
                    await self._waves()
                else:
                    await self._eager()
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
        finally:
            reason = run.error
            if keep and generating:
                # These stops come between attempts or while waiting for the model, so
                # what waits for the group commit is whole attempts: keep them.
                self.commit()
            else:
                # Elsewhere the rollback discards half-done work.
                self.session.rollback()
            if self._commit_timer is not None:
                self._commit_timer.cancel()
                self._commit_timer = None
            run.error = reason
            await self.model.aclose()
            await self._stop_judges()
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
            self.session.commit()
            self.progress.event(
                "run_finished",
                run_id=str(self.run_id),
                status=status.value,
                precision_percent=run.precision_percent,
                cost_usd=float(run.cost_usd),
                duration_seconds=time.perf_counter() - began,
            )
        return status

    def close(self) -> None:
        if self._commit_timer is not None:
            self._commit_timer.cancel()
            self._commit_timer = None
        self.session.close()


def _skeleton_problem(text: str, file: str, language: str) -> str:
    # An empty answer is an empty file (a package's `__init__.py`, a module of only
    # comments): a valid module with no atoms, not a failed answer.
    if not text.strip():
        return ""
    if language == "python":
        try:
            compile(text, file, "exec", dont_inherit=True)
        except SyntaxError as error:
            return f"line {error.lineno}: {error.msg}"
    return ""


def assigned_tasks(masterplan: MasterPlan) -> dict[str, MasterPlanTask]:
    return {task.task_key: task for task in masterplan.tasks}
