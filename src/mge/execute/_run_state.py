"""What every part of a run shares: the atoms' live state, the run's totals, the
stop signal, and the attributes a `Runner` holds (declared once here, set by
`Runner.__init__`), so each part of the engine can live in a module of its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mge.atomize import AtomizeConfig
from mge.atomize._plan import PlannedFile
from mge.db.models import (
    AtomicUnit,
    AtomStatus,
    GenerationRun,
    MasterPlan,
    RunStatus,
)
from mge.db.write_behind import WriteBehind
from mge.errors import DatabaseError, MgeError
from mge.execute._assembly import PlannedAtom
from mge.execute._judge import FileAtom
from mge.execute._judge_pool import JudgePool
from mge.execute._lease import LeaseLost, RunLease, lease_seconds
from mge.execute._open_chains import OpenChains
from mge.execute.executor import Executor, LocalExecutor
from mge.execute.progress import NullProgress, ProgressSink
from mge.execute.settings import RunSettings
from mge.llm import (
    Budget,
    CachingModel,
    Model,
    ModelDescription,
    ModelResponse,
    model_environment,
)
from mge.plan import Plan, Task
from mge.store.plans import export_plan
from mge.validate.typescript import TypeScriptService

FINAL_STATUSES = frozenset(
    {AtomStatus.COMPLETED, AtomStatus.FAILED, AtomStatus.BLOCKED, AtomStatus.SKIPPED}
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class RunStopped(Exception):
    """Raised inside the engine when the run must stop starting new work."""

    def __init__(self, status: RunStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


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
    intent: str | None
    returns: str | None
    status: AtomStatus
    attempts: int
    code: str | None
    wave: int | None
    whole_definition: bool
    piece: int
    prerequisites: list[str] = field(default_factory=list)
    dependents: list[str] = field(default_factory=list)
    # The prerequisites whose behaviour (not only their interface) this atom needs:
    # the earlier pieces of its own body or class (TEMPORAL), the code that assigns
    # what it reads (DATA_FLOW). A caller needs only its callee's signature.
    needs_behaviour: set[str] = field(default_factory=set)
    # The local names the plan's step for this atom binds for later steps (first
    # pieces of a planned body included; empty otherwise).
    binds: list[str] = field(default_factory=list)
    # The names from outside it that the atom's planned code reads (its plan's
    # `references`): a JavaScript/TypeScript top-level statement is planned whole in
    # the skeleton, so its answer must read them too.
    references: list[str] = field(default_factory=list)


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


#: A step run at the end of a run, inside its last transaction (the CLI and the API
#: rank the review queue there); the engine itself knows nothing of review.
AfterRun = Callable[[Session, uuid.UUID], object]


class RunCore:
    """The attributes of a run that every part of the engine reads, set up from the
    stored run: its plan, settings, model, budget and session."""

    engine: Engine
    run_id: uuid.UUID
    progress: ProgressSink
    stop: asyncio.Event
    session: Session
    run_row: GenerationRun
    masterplan: MasterPlan
    settings: RunSettings
    plan: Plan
    config: AtomizeConfig
    reference_dir: Path | None
    tests_dir: Path | None
    model: Model
    #: How `model` was built, for an executor to build it elsewhere (None: it was
    #: handed in, and cannot be described).
    model_description: ModelDescription | None
    budget: Budget
    totals: Totals
    states: dict[str, AtomState]
    files: dict[str, list[str]]
    tasks: dict[str, Task]
    task_of_file: dict[str, str]
    in_flight: int
    max_in_flight: int
    _skeletons: dict[str, str]
    _planned: dict[str, PlannedFile]
    _prefixes: dict[tuple[str, str], str]
    _layouts: dict[str, tuple[FileAtom, ...]]
    _depth_of: dict[str, int] | None
    _judges: JudgePool | None
    executor: Executor
    _compiler: TypeScriptService | None
    _compiler_root: Path
    _wave_started: dict[int, float]
    _wave_members: dict[int, list[AtomState]]
    _wave_final: dict[int, int]
    _rows: dict[uuid.UUID, AtomicUnit]
    _pending_attempts: list[dict[str, Any]]
    _pending_results: list[dict[str, Any]]
    _pending_rows: dict[uuid.UUID, AtomicUnit]
    _commit_timer: asyncio.TimerHandle | None
    _behind: WriteBehind | None
    _flushed: bool
    _totals_delta: dict[str, float]
    write_failed: DatabaseError | None
    judge_priority: dict[str, float]
    open_chains: OpenChains
    _newly_blocked: list[str]
    # Completed atoms regenerated while the schedule runs (a predecessor repaired
    # for a later piece): their dependents are looked at again when they are back.
    _reconsider: list[str]
    after_run: AfterRun | None
    lease: RunLease
    fenced: LeaseLost | None
    _saved_cache_size: int
    restored_regeneration: str | None
    resumed_candidate: tuple[str | None, str | None] | None

    def __init__(
        self,
        engine: Engine,
        run_id: uuid.UUID,
        *,
        progress: ProgressSink | None = None,
        stop: asyncio.Event | None = None,
        model: Model | None = None,
        after_run: AfterRun | None = None,
    ) -> None:
        self.after_run = after_run
        self.engine = engine
        self.run_id = run_id
        self.progress = progress or NullProgress()
        self.stop = stop or asyncio.Event()
        self.session = Session(engine, expire_on_commit=False)
        run = self.session.get(GenerationRun, run_id)
        if run is None:
            raise MgeError(f"no run {run_id}")
        self.run_row = run
        self.masterplan = run.masterplan
        self.settings = RunSettings.model_validate(run.settings)
        self.plan = export_plan(self.masterplan)
        self.config = AtomizeConfig(**self.plan.atomization.model_dump())
        # The engine never reads the reference: it hands the path to the model
        # factory (only `replay` answers from it) and to the labelled measurement
        # after the run, and its `node_modules` to the sandbox, read-only, where a
        # vitest or jest suite runs with the project's own runner; the plan's tests are
        # read from `tests_dir`.
        reference = self.masterplan.reference_path
        self.reference_dir = Path(reference) if reference else None
        self.node_modules = self.reference_dir / "node_modules" if self.reference_dir else None
        tests = self.settings.tests_dir or reference
        self.tests_dir = Path(tests) if tests else None
        self.model_description: ModelDescription | None = None
        if model is None:
            self.model_description = ModelDescription(
                self.settings.model,
                base_url=self.settings.base_url,
                reference_dir=self.reference_dir,
                atomization=self.config,
                fault_rate=self.settings.fault_rate,
                fault_kinds=(
                    None if self.settings.fault_kinds is None else tuple(self.settings.fault_kinds)
                ),
                fault_profile=self.settings.fault_profile,
                seed=self.settings.seed,
                latency_ms=self.settings.latency_ms,
                env=model_environment(),
            )
            model = self.model_description.build()
        self.model = model
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
        self._planned: dict[str, PlannedFile] = {}
        self._prefixes: dict[tuple[str, str], str] = {}
        self._layouts: dict[str, tuple[FileAtom, ...]] = {}
        self._depth_of: dict[str, int] | None = None
        self._judges: JudgePool | None = None
        # Where L1 to L4 and mutation testing are computed (`_start_judges` picks it).
        self.executor: Executor = LocalExecutor()
        # TypeScript/JavaScript plans: the run's one compiler service (`_generation`).
        self._compiler: TypeScriptService | None = None
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
        # While atoms are generated on PostgreSQL: the thread the group commit hands
        # its transactions to (`Recording._commit_behind`), so the loop goes on while
        # the server stores them.
        self._behind: WriteBehind | None = None
        # The session flushed in its open transaction (it holds row locks until it
        # commits): no transaction is handed to the thread meanwhile.
        self._flushed = False
        # The run's totals (tokens, cost, attempts) added since the last commit,
        # written as increments with the attempts that added them.
        self._totals_delta: dict[str, float] = {}
        # The error that ended the thread's writing: the run stops with it.
        self.write_failed: DatabaseError | None = None
        # Per atom, where its checks queue for a validation worker (least first; the
        # eager schedule sets it: see `JudgePool`).
        self.judge_priority: dict[str, float] = {}
        # Which atoms head the longest chains still open (the eager schedule keeps it).
        self.open_chains = OpenChains()
        # Atoms blocked since the scheduler last looked: their dependents that need
        # only their interface may have become ready.
        self._newly_blocked: list[str] = []
        self._reconsider: list[str] = []
        # Taken by `run()` before anything is written, renewed by every commit.
        self.lease = RunLease(run_id, lease_seconds())
        # Set once another process took the run over: nothing more may be written.
        self.fenced: LeaseLost | None = None
        # The model's prompt cache as the run left it (see `Recording._cache_to_save`).
        cache = (run.resume_state or {}).get("model_cache")
        if cache and isinstance(self.model, CachingModel):
            self.model.restore_cache(list(cache))
        self._saved_cache_size = len(cache or ())
        # The atom a blame regeneration was under way for when the run was killed,
        # put back as it was before it (`_load_states`).
        self.restored_regeneration: str | None = None
        # Its last candidate and that candidate's feedback, when it had attempts.
        self.resumed_candidate: tuple[str | None, str | None] | None = None
        self._listen()

    def _listen(self) -> None:
        """Hook the group commit into the session (`Recording` does)."""
        raise NotImplementedError
