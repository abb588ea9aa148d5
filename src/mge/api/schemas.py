"""The service's request and response bodies: the OpenAPI document is built from these."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AtomCounts",
    "AtomDetail",
    "AtomLink",
    "AtomOut",
    "DecomposeIn",
    "DecomposeOut",
    "ErrorOut",
    "FileOut",
    "GraphEdge",
    "GraphFigures",
    "GraphNode",
    "GraphOut",
    "Health",
    "PlanCheckOut",
    "PlanDetail",
    "PlanIssueOut",
    "PlanSummary",
    "Readiness",
    "RunOptions",
    "RunReport",
    "RunStart",
    "RunSummary",
    "Tokens",
    "ValidationOut",
    "ValidationResultOut",
]


class ErrorOut(BaseModel):
    """Every 4xx/5xx body."""

    error: str = Field(description="The error's class in MGE's error tree, e.g. NotFound.")
    detail: Any = Field(description="A one-line message, or a list of problems by field.")


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    revision: str
    head: str


# -- plans ------------------------------------------------------------------------


class PlanIssueOut(BaseModel):
    path: str
    message: str


class PlanCheckOut(BaseModel):
    valid: bool
    name: str | None = None
    tasks: int | None = None
    issues: list[PlanIssueOut]


class PlanSummary(BaseModel):
    id: str
    name: str
    description: str | None
    language: str | None
    status: str
    tasks: int
    atoms: int | None
    has_graph: bool
    runs: int
    reference: str | None
    created_at: datetime


class PlanDetail(PlanSummary):
    plan: dict[str, Any] = Field(description="The plan as its rows describe it now.")
    run_ids: list[str]


# -- atoms ------------------------------------------------------------------------


class AtomOut(BaseModel):
    """An atom of the atomizer (docs/ATOMS.md)."""

    id: str
    file: str
    language: str
    kind: str
    name: str
    qualname: str
    start_byte: int
    end_byte: int
    start_line: int
    end_line: int
    loc: int
    complexity: float
    atomicity_score: float
    violations: list[str]
    context: dict[str, Any]
    context_completeness: float
    depends_on: list[dict[str, str]]
    code: str


class FileOut(BaseModel):
    path: str
    language: str
    size_bytes: int
    atoms: int
    loc: int
    has_syntax_error: bool | None = Field(
        description="The file as its atoms hold it now does not parse; null when an "
        "atom has no code yet or the language cannot be parsed."
    )
    partition_ok: bool | None = Field(
        description="The atoms' spans cover the file from byte 0 in order, each byte "
        "once; null when an atom has no span (a placeholder)."
    )


class DecomposeIn(BaseModel):
    """Either `code` (with the `path` it would have) or a stored plan's task."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    code: str | None = Field(default=None, max_length=2_000_000)
    path: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="File name of `code`; its extension picks the language.",
    )
    language: Literal["python", "typescript", "tsx", "javascript"] | None = None
    masterplan_id: str | None = Field(default=None, max_length=64)
    task_id: str | None = Field(default=None, max_length=200)
    target_loc: int = Field(default=10, ge=1, le=1000)
    max_loc: int = Field(default=15, ge=1, le=1000)
    max_complexity: float = Field(default=3.0, ge=1.0, le=1000.0)

    @model_validator(mode="after")
    def _one_source(self) -> DecomposeIn:
        by_code = self.code is not None
        by_task = self.masterplan_id is not None or self.task_id is not None
        if by_code == by_task:
            raise ValueError("give either `code` and `path`, or `masterplan_id` and `task_id`")
        if by_code and self.path is None:
            raise ValueError("`code` needs a `path` (its extension picks the language)")
        if by_task and (self.masterplan_id is None or self.task_id is None):
            raise ValueError("a task is named by both `masterplan_id` and `task_id`")
        if self.max_loc < self.target_loc:
            raise ValueError("`max_loc` must be at least `target_loc`")
        return self


class DecomposeOut(BaseModel):
    source: Literal["code", "stored", "reference"]
    files: list[FileOut]
    atoms: list[AtomOut]


class AtomLink(BaseModel):
    atom_id: str
    key: str
    type: str


class AtomDetail(BaseModel):
    id: str
    key: str
    masterplan_id: str
    task: str | None
    file: str
    language: str
    kind: str
    name: str
    qualname: str | None
    start_line: int | None
    end_line: int | None
    loc: int
    complexity: float
    status: str
    wave: int | None
    attempts: int
    max_attempts: int
    atomicity_score: float
    atomicity_violations: list[Any]
    context_completeness: float
    confidence_score: float | None
    needs_review: bool
    signature: str | None
    code: str | None
    last_error: str | None
    depends_on: list[AtomLink]
    dependents: list[AtomLink]


# -- graphs -----------------------------------------------------------------------


class GraphFigures(BaseModel):
    atoms: int
    edges: int
    edges_by_type: dict[str, int]
    waves: int
    wave_widths: list[int]
    max_parallelism: int
    critical_path_length: int
    critical_path_loc: int
    has_cycles: bool
    cycles: int


class GraphNode(BaseModel):
    id: str = Field(description="The atom's stable key.")
    atom_id: str
    file: str
    kind: str
    loc: int
    wave: int | None
    status: str


class GraphEdge(BaseModel):
    source: str
    target: str
    type: str
    types: list[str]
    strength: float


class GraphOut(BaseModel):
    masterplan_id: str
    graph_id: str
    figures: GraphFigures
    waves: list[list[str]]
    critical_path: list[str]
    cycles: list[dict[str, Any]]
    nodes: list[GraphNode]
    edges: list[GraphEdge]


# -- runs -------------------------------------------------------------------------


class RunOptions(BaseModel):
    """The run settings a client may choose (`mge run`'s options)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    model: str = Field(
        default="replay", min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:/-]+$"
    )
    fault_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    fault_kinds: list[str] | None = Field(default=None, max_length=20)
    fault_profile: Literal["uniform", "realistic"] = "uniform"
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    latency_ms: float | None = Field(default=None, ge=0.0, le=60_000.0)
    concurrency: int = Field(default=100, ge=1, le=10_000)
    schedule: Literal["eager", "waves"] = "eager"
    max_attempts: int = Field(default=3, ge=1, le=10)
    budget_usd: float | None = Field(default=None, gt=0.0, le=1_000_000.0)
    run_tests: bool = True
    levels: Literal["atomic", "all"] = "all"
    blame_rounds: int = Field(default=3, ge=0, le=10)
    test_timeout_seconds: float = Field(default=300.0, gt=0.0, le=86_400.0)
    mutation: bool = True
    mutants_per_atom: int = Field(default=3, ge=1, le=10)
    mutation_budget_seconds: float = Field(default=60.0, gt=0.0, le=86_400.0)
    validation_workers: int | None = Field(default=None, ge=0, le=64)


class RunStart(BaseModel):
    """Start from a stored masterplan (`masterplan_id`) or from a plan document (`plan`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    masterplan_id: str | None = Field(default=None, max_length=64)
    plan: dict[str, Any] | None = None
    base_dir: str | None = Field(
        default=None,
        max_length=4096,
        description="Directory the plan's relative `reference:` is resolved against.",
    )
    settings: RunOptions = Field(default_factory=RunOptions)
    run_unapproved: bool = Field(
        default=False,
        description="Run a plan drafted by `mge plan new` that is not approved yet "
        "(as `mge run --yes`); without it such a plan is refused with 409.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> RunStart:
        if (self.masterplan_id is None) == (self.plan is None):
            raise ValueError("give exactly one of `masterplan_id` and `plan`")
        return self


class AtomCounts(BaseModel):
    total: int
    completed: int
    failed: int
    blocked: int
    pending: int
    skipped: int
    in_review: int


class Tokens(BaseModel):
    input: int
    output: int
    cached: int


class RunReport(BaseModel):
    """The contract report of `mge status --json`, plus `live` (docs/EXECUTION.md)."""

    run_id: str
    status: str
    live: bool = Field(description="True while the run executes inside this service.")
    plan: str
    masterplan_id: str
    atoms: AtomCounts
    waves: int
    max_parallelism: int
    critical_path: int
    max_in_flight: int
    executor: dict[str, Any] = Field(
        default_factory=dict,
        description="Where validation and test runs were done (local or ray), with its figures.",
    )
    attempts: int
    first_try_success_rate: float | None
    tests: dict[str, Any]
    precision_percent: float | None
    reference_match_percent: float | None
    tokens: Tokens
    cost_usd: float
    duration_seconds: float
    model: str
    simulated: bool
    out_dir: str | None
    error: str | None


class RunSummary(BaseModel):
    run_id: str
    masterplan_id: str
    plan: str
    status: str
    model: str
    live: bool
    created_at: datetime
    precision_percent: float | None


# -- validation ---------------------------------------------------------------------


class ValidationResultOut(BaseModel):
    id: str
    run_id: str | None
    level: str
    test_type: str
    check: str | None
    scope: str | None
    attempt: int | None
    passed: bool
    output: str | None
    error_message: str | None
    duration_seconds: float
    created_at: datetime


class ValidationOut(BaseModel):
    atom_id: str
    key: str
    status: str
    latest: dict[str, bool] = Field(
        description="Per level, whether the latest check of this atom passed."
    )
    results: list[ValidationResultOut]
