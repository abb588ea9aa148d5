"""Move stored MVP masterplans (tasks with or without generated code) to V2 atoms.

Why a migration rather than a re-import: MVP tasks carry history (generated code,
status, tokens, cost) that a plan file does not. Code becomes real atoms through
the atomizer, so the execution, review and metrics layers see migrated work
exactly like work they generated; tasks without code get one placeholder atom
sized from the task, to be generated later.

Each masterplan moves in its own transaction and is checked against the
database before commit (`check_integrity`); any problem rolls back that
masterplan alone. A dry run converts in memory and runs the same checks on the
conversion, so it reports what production would do while writing nothing.
docs/MIGRATION.md describes the mapping, the estimate and the checks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, Literal, Protocol

from sqlalchemy import Engine, String, delete, func, select, type_coerce
from sqlalchemy.orm import Session, selectinload

from mge._collector import collector_paused
from mge.atomize import Atom, AtomizeConfig, FileResult, atomize_sources
from mge.atomize._languages import supported_language
from mge.db.engine import database_errors, session_factory
from mge.db.migrate import BASE_REVISION, current_revision
from mge.db.models import (
    AtomDependency,
    AtomicUnit,
    AtomStatus,
    DependencyGraph,
    ExecutionWave,
    MasterPlan,
    MasterPlanMilestone,
    MasterPlanTask,
    TaskComplexity,
    TaskStatus,
)
from mge.errors import Conflict, DatabaseError, MgeError
from mge.graph import Edge, EdgeType, GraphAnalysis, analyze, build_edges
from mge.store.graphs import save_graph, save_graph_bulk
from mge.store.plans import get_masterplan

__all__ = [
    "PLACEHOLDER_KIND",
    "STATUS_MAP",
    "Estimate",
    "MasterplanReport",
    "MigrationProgress",
    "MigrationReport",
    "TaskReport",
    "check_integrity",
    "estimate_placeholder",
    "map_status",
    "migrate_tasks",
    "require_v2_schema",
    "revert_masterplan",
]

PLACEHOLDER_KIND = "placeholder"
OPAQUE_KIND = "statement"
_MARKER = "migrate-tasks"

STATUS_MAP: dict[TaskStatus, AtomStatus] = {
    TaskStatus.PENDING: AtomStatus.PENDING,
    TaskStatus.IN_PROGRESS: AtomStatus.PENDING,
    TaskStatus.COMPLETED: AtomStatus.COMPLETED,
    TaskStatus.FAILED: AtomStatus.FAILED,
    TaskStatus.BLOCKED: AtomStatus.BLOCKED,
    TaskStatus.SKIPPED: AtomStatus.SKIPPED,
}

_EXTENSION_OF = {"python": ".py", "typescript": ".ts", "tsx": ".tsx", "javascript": ".js"}
_BASE_LOC = {
    TaskComplexity.LOW: 10,
    TaskComplexity.MEDIUM: 25,
    TaskComplexity.HIGH: 50,
    TaskComplexity.CRITICAL: 80,
}
_BASE_COMPLEXITY = {
    TaskComplexity.LOW: 1.0,
    TaskComplexity.MEDIUM: 2.0,
    TaskComplexity.HIGH: 3.0,
    TaskComplexity.CRITICAL: 4.0,
}

Outcome = Literal["migrated", "would_migrate", "skipped", "failed", "would_fail", "reverted"]
Mode = Literal["dry-run", "production", "revert"]


def map_status(status: TaskStatus, *, has_code: bool) -> AtomStatus:
    """The atom status of a task's atoms. A task marked completed without any code
    has produced nothing an atom could hold, so its placeholder waits to be generated."""
    if status is TaskStatus.COMPLETED and not has_code:
        return AtomStatus.PENDING
    return STATUS_MAP[status]


@dataclass(frozen=True, slots=True)
class Estimate:
    loc: int
    complexity: float
    atoms: int


def estimate_placeholder(
    complexity: TaskComplexity, description: str | None, files: int, *, target_loc: int = 10
) -> Estimate:
    """Size of the code a task without code should produce (docs/MIGRATION.md).

    LOC: a base per complexity class for each target file, plus 2 lines per 100
    characters of description (at most 40). Cyclomatic complexity: a base per
    class, plus 0.5 for a description over 500 characters. Atoms: LOC / target.
    """
    text = (description or "").strip()
    loc = _BASE_LOC[complexity] * max(1, files) + 2 * min(len(text) // 100, 20)
    cyclomatic = _BASE_COMPLEXITY[complexity] + (0.5 if len(text) > 500 else 0.0)
    return Estimate(loc=loc, complexity=cyclomatic, atoms=max(1, math.ceil(loc / target_loc)))


@dataclass
class TaskReport:
    task_key: str
    task_number: int
    conversion: Literal["atomized", "opaque", "placeholder"]
    atoms: int
    loc: int
    language: str
    file: str
    status: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class MasterplanReport:
    masterplan_id: str
    name: str
    outcome: Outcome
    tasks: int = 0
    tasks_with_code: int = 0
    placeholders: int = 0
    atoms: int = 0
    edges: int = 0
    waves: int = 0
    max_parallelism: int = 0
    loc: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    task_reports: list[TaskReport] = field(default_factory=list)

    def to_dict(self, *, include_tasks: bool = True) -> dict[str, Any]:
        data = asdict(self)
        if not include_tasks:
            data.pop("task_reports")
        return data


@dataclass
class MigrationReport:
    mode: Mode
    masterplans: list[MasterplanReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no masterplan failed (skipped ones were migrated before)."""
        return not any(row.outcome in ("failed", "would_fail") for row in self.masterplans)

    def totals(self) -> dict[str, int]:
        outcomes: dict[str, int] = {}
        for row in self.masterplans:
            outcomes[row.outcome] = outcomes.get(row.outcome, 0) + 1
        return {
            "masterplans": len(self.masterplans),
            **outcomes,
            "tasks": sum(row.tasks for row in self.masterplans),
            "tasks_with_code": sum(row.tasks_with_code for row in self.masterplans),
            "placeholders": sum(row.placeholders for row in self.masterplans),
            "atoms": sum(row.atoms for row in self.masterplans),
            "edges": sum(row.edges for row in self.masterplans),
            "loc": sum(row.loc for row in self.masterplans),
            "warnings": sum(len(row.warnings) for row in self.masterplans),
            "errors": sum(len(row.errors) for row in self.masterplans),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "ok": self.ok,
            "totals": self.totals(),
            "masterplans": [row.to_dict() for row in self.masterplans],
        }


class MigrationProgress(Protocol):
    """Receives progress: one `start` per masterplan, one `advance` per task."""

    def start(self, name: str, tasks: int) -> None: ...

    def advance(self) -> None: ...


class _Silent:
    def start(self, name: str, tasks: int) -> None:
        pass

    def advance(self) -> None:
        pass


@dataclass
class _TaskWork:
    task: MasterPlanTask
    atoms: list[Atom]
    code: str | None
    report: TaskReport


@dataclass
class _Conversion:
    config: AtomizeConfig
    works: list[_TaskWork]
    atoms: list[Atom]
    analysis: GraphAnalysis
    warnings: list[str]


def _config_of(masterplan: MasterPlan, warnings: list[str]) -> AtomizeConfig:
    stored = masterplan.atomization_config or {}
    keys = ("target_loc", "max_loc", "max_complexity")
    try:
        return AtomizeConfig(**{key: stored[key] for key in keys if key in stored})
    except (MgeError, TypeError, ValueError) as error:
        warnings.append(f"atomization_config ignored ({error}); defaults used")
        return AtomizeConfig()


def _target_files(task: MasterPlanTask, warnings: list[str]) -> list[str]:
    raw = task.target_files if isinstance(task.target_files, list) else []
    files = [item.strip() for item in raw if isinstance(item, str) and item.strip()]
    if len(files) != len(raw):
        warnings.append("target_files holds empty or non-text entries; they were ignored")
    return files


def _code_path(
    task: MasterPlanTask, files: list[str], default_language: str | None, taken: set[str]
) -> tuple[str, list[str]]:
    """The file a task's code is filed under: its first target file MGE can read,
    else its first target file, else one named after the task."""
    warnings: list[str] = []
    readable = [name for name in files if supported_language(name)]
    if readable:
        path = readable[0]
    elif files:
        path = files[0]
    else:
        path = f"{task.task_key}{_EXTENSION_OF.get(default_language or '', '')}"
        warnings.append(f"no target file; code filed under {path}")
    if len(files) > 1:
        warnings.append(f"{len(files)} target files; the stored code is attributed to {path}")
    if path in taken:
        moved = f"tasks/{task.task_key}/{path}"
        warnings.append(f"{path} is also produced by an earlier task; filed under {moved}")
        path = moved
    taken.add(path)
    return path, warnings


def _language_for_placeholder(files: list[str], default_language: str | None) -> str:
    for name in files:
        language = supported_language(name)
        if language:
            return language
    for name in files:
        suffix = PurePosixPath(name).suffix.lstrip(".").lower()
        if suffix:
            return suffix[:32]
    return default_language or "unknown"


def _opaque_atom(task: MasterPlanTask, path: str, source: bytes) -> Atom:
    """One atom holding a whole file MGE cannot parse, so its code is still kept."""
    suffix = PurePosixPath(path).suffix.lstrip(".").lower() or "text"
    text = source.decode("utf-8", errors="replace")
    lines = text.splitlines()
    return Atom(
        id=f"{path}::<file>#0",
        file=path,
        language=suffix[:32],
        kind=OPAQUE_KIND,
        name=PurePosixPath(path).name[:300] or task.task_key,
        qualname="<file>",
        start_byte=0,
        end_byte=len(source),
        start_line=1,
        end_line=max(1, len(lines)),
        loc=sum(1 for line in lines if line.strip()),
        nws_chars=sum(1 for char in text if not char.isspace()),
        complexity=1.0,
        code=source,
        atomicity_score=0.0,
        violations=["unsupported_language"],
        context={},
        context_completeness=0.0,
    )


def _placeholder_atom(task: MasterPlanTask, path: str, language: str, size: Estimate) -> Atom:
    return Atom(
        id=f"{path}::<task {task.task_key}>#0",
        file=path,
        language=language,
        kind=PLACEHOLDER_KIND,
        name=task.name[:300],
        qualname=f"<task {task.task_key}>",
        start_byte=0,
        end_byte=0,
        start_line=0,
        end_line=0,
        loc=size.loc,
        nws_chars=0,
        complexity=size.complexity,
        code=b"",
        atomicity_score=0.0,
        violations=[PLACEHOLDER_KIND],
        context={},
        context_completeness=0.0,
    )


@dataclass
class _Prepared:
    """A task read and filed, before its code (if any) is atomized."""

    task: MasterPlanTask
    code: str | None
    path: str
    warnings: list[str]
    source: bytes | None = None  # set when the code is to be atomized


def _prepare_task(
    task: MasterPlanTask, masterplan: MasterPlan, config: AtomizeConfig, taken: set[str]
) -> tuple[_Prepared, list[Atom] | None]:
    """The task filed under its path, with its atoms when they need no atomizing
    (a placeholder, or one opaque atom)."""
    warnings: list[str] = []
    files = _target_files(task, warnings)
    code = task.generated_code
    if code is not None and not code.strip():
        if code:
            warnings.append("generated_code is blank; treated as no code")
        code = None
    if code is None:
        if task.status is TaskStatus.COMPLETED:
            warnings.append("completed without stored code; its placeholder is pending")
        first = files[0] if files else task.task_key
        language = _language_for_placeholder(files, masterplan.language)
        size = estimate_placeholder(
            task.complexity, task.description, len(files), target_loc=config.target_loc
        )
        prepared = _Prepared(task=task, code=None, path=first, warnings=warnings)
        return prepared, [_placeholder_atom(task, first, language, size)]
    path, path_warnings = _code_path(task, files, masterplan.language, taken)
    warnings.extend(path_warnings)
    source = code.encode("utf-8", errors="surrogatepass")
    prepared = _Prepared(task=task, code=code, path=path, warnings=warnings)
    if supported_language(path):
        prepared.source = source
        return prepared, None
    warnings.append(f"{path}: not a language MGE atomizes; kept as one opaque atom")
    return prepared, [_opaque_atom(task, path, source)]


def _finish_task(
    prepared: _Prepared, atoms: list[Atom] | None, result: FileResult | None
) -> _TaskWork:
    """The task's work once its atoms are known (from `result` when it was atomized)."""
    task, warnings = prepared.task, prepared.warnings
    conversion: Literal["atomized", "opaque", "placeholder"]
    if result is not None:
        warnings.extend(result.notices)
        if result.has_syntax_error:
            warnings.append("code does not parse; its atoms carry a syntax_error violation")
        atoms, conversion, language = result.atoms, "atomized", result.language
    else:
        assert atoms is not None
        conversion = "placeholder" if prepared.code is None else "opaque"
        language = atoms[0].language
    status = map_status(task.status, has_code=prepared.code is not None)
    report = TaskReport(
        task_key=task.task_key,
        task_number=task.task_number,
        conversion=conversion,
        atoms=len(atoms),
        loc=sum(atom.loc for atom in atoms),
        language=language,
        file=prepared.path,
        status=status.value,
        warnings=[f"task {task.task_key}: {text}" for text in warnings],
    )
    return _TaskWork(task=task, atoms=atoms, code=prepared.code, report=report)


def _task_edges(works: Sequence[_TaskWork]) -> Iterator[Edge]:
    """TEMPORAL edges for task dependencies a single-atom task takes part in.

    Between two atomized tasks the code's own edges (imports, calls, types) already
    order the atoms, so no task-level edge is added there.
    """
    by_key = {work.task.task_key: work for work in works}
    for work in works:
        depends = work.task.depends_on if isinstance(work.task.depends_on, list) else []
        for key in depends:
            prerequisite = by_key.get(key) if isinstance(key, str) else None
            if prerequisite is None or prerequisite is work:
                reason = "itself" if prerequisite is work else f"missing task {key!r}"
                work.report.warnings.append(
                    f"task {work.task.task_key}: depends on {reason}; dependency dropped"
                )
                continue
            if len(prerequisite.atoms) > 1 and len(work.atoms) > 1:
                continue
            for before in prerequisite.atoms:
                for after in work.atoms:
                    yield Edge(
                        source=before.id,
                        target=after.id,
                        type=EdgeType.TEMPORAL,
                        metadata={
                            "reason": "task_dependency",
                            "from_task": prerequisite.task.task_key,
                            "to_task": work.task.task_key,
                        },
                    )


def _convert(masterplan: MasterPlan, progress: MigrationProgress, workers: int = 1) -> _Conversion:
    warnings: list[str] = []
    config = _config_of(masterplan, warnings)
    taken: set[str] = set()
    if not masterplan.tasks:
        warnings.append("no tasks; marked V2 with no atoms")
    progress.start(masterplan.name, len(masterplan.tasks))
    prepared: list[tuple[_Prepared, list[Atom] | None]] = []
    for task in masterplan.tasks:
        prepared.append(_prepare_task(task, masterplan, config, taken))
        if prepared[-1][1] is not None:
            progress.advance()
    sources = [(item.source, item.path) for item, _ in prepared if item.source is not None]
    parsed: list[FileResult] = []

    def arriving() -> Iterator[FileResult]:
        for result in atomize_sources(sources, config=config, workers=workers):
            parsed.append(result)
            progress.advance()
            yield result

    # The graph scans each file while the workers atomize the next ones.
    expected = [(path, supported_language(path) or "") for _, path in sources]
    code_edges = build_edges(arriving(), expected=expected)
    found = iter(parsed)
    works = [
        _finish_task(item, atoms, next(found) if item.source is not None else None)
        for item, atoms in prepared
    ]
    atoms = [atom for work in works for atom in work.atoms]
    edges = [*code_edges, *_task_edges(works)]
    analysis = analyze({atom.id: atom.loc for atom in atoms}, edges)
    waiting: dict[str, list[dict[str, str]]] = {atom.id: [] for atom in atoms}
    for edge in analysis.kept_edges:
        waiting[edge.target].append({"atom": edge.source, "type": edge.type.name})
    for atom in atoms:
        atom.depends_on = waiting[atom.id]
    return _Conversion(
        config=config, works=works, atoms=atoms, analysis=analysis, warnings=warnings
    )


def _check_conversion(conversion: _Conversion) -> list[str]:
    """The integrity checks on the in-memory conversion (what a dry run can prove)."""
    problems: list[str] = []
    ids = {atom.id for atom in conversion.atoms}
    if len(ids) != len(conversion.atoms):
        problems.append("two atoms share an id")
    for work in conversion.works:
        if not work.atoms:
            problems.append(f"task {work.task.task_key} has no atom")
        if work.code is not None:
            joined = b"".join(atom.code for atom in work.atoms)
            if joined.decode("utf-8", errors="backslashreplace") != work.code:
                problems.append(f"task {work.task.task_key}: atoms do not reproduce its code")
    for edge in conversion.analysis.edges:
        if edge.source not in ids or edge.target not in ids:
            problems.append(f"edge {edge.source} -> {edge.target} leaves the masterplan")
    return problems


def _report(
    masterplan: MasterPlan, conversion: _Conversion | None, outcome: Outcome
) -> MasterplanReport:
    report = MasterplanReport(
        masterplan_id=str(masterplan.id), name=masterplan.name, outcome=outcome
    )
    if conversion is None:
        return report
    languages: dict[str, int] = {}
    for atom in conversion.atoms:
        languages[atom.language] = languages.get(atom.language, 0) + 1
    analysis = conversion.analysis
    report.tasks = len(conversion.works)
    report.tasks_with_code = sum(1 for work in conversion.works if work.code is not None)
    report.placeholders = len(conversion.works) - report.tasks_with_code
    report.atoms = len(conversion.atoms)
    report.edges = len(analysis.edges)
    report.waves = len(analysis.waves)
    report.max_parallelism = analysis.max_parallelism
    report.loc = sum(atom.loc for atom in conversion.atoms)
    report.languages = dict(sorted(languages.items()))
    report.warnings = [*conversion.warnings]
    for work in conversion.works:
        report.warnings.extend(work.report.warnings)
    report.task_reports = [work.report for work in conversion.works]
    return report


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _task_snapshot(task: MasterPlanTask, responded: set[Any]) -> dict[str, Any]:
    """Every MVP field of the task except the bulky texts, which stay on the task row
    (`atomic_units.task_id` links back to it)."""
    milestone = task.milestone
    return {
        "task_id": str(task.id),
        "task_key": task.task_key,
        "task_number": task.task_number,
        "name": task.name,
        "description": task.description,
        "complexity": task.complexity.value,
        "status": task.status.value,
        "target_files": task.target_files,
        "depends_on": task.depends_on,
        "tests": task.tests,
        "phase": milestone.phase.name,
        "milestone": milestone.name,
        "llm_model": task.llm_model,
        "input_tokens": task.input_tokens,
        "output_tokens": task.output_tokens,
        "cached_tokens": task.cached_tokens,
        "cost_usd": task.cost_usd,
        "has_generated_code": task.generated_code is not None,
        "has_llm_response": task.id in responded,
        "started_at": _iso(task.started_at),
        "completed_at": _iso(task.completed_at),
        "subtasks": [
            {
                "number": subtask.subtask_number,
                "name": subtask.name,
                "status": subtask.status.value,
                "has_code": subtask.code is not None,
            }
            for subtask in task.subtasks
        ],
    }


def _store(session: Session, masterplan: MasterPlan, conversion: _Conversion) -> None:
    """Add the conversion's rows to the session and mark the masterplan V2."""
    previous = {
        "atomization_config": masterplan.atomization_config,
        "total_atoms": masterplan.total_atoms,
        "total_waves": masterplan.total_waves,
        "max_parallelism": masterplan.max_parallelism,
        "updated_at": _iso(masterplan.updated_at),
    }
    # Only whether each task has a model response is kept; the responses themselves
    # (often the largest column of an MVP database) are never loaded.
    responded = set(
        session.scalars(
            select(MasterPlanTask.id).where(
                MasterPlanTask.masterplan_id == masterplan.id,
                MasterPlanTask.llm_response.is_not(None),
            )
        )
    )
    if _BULK_STORE:
        _store_bulk(session, masterplan, conversion, previous, responded)
        return
    task_of = {atom.id: work.task for work in conversion.works for atom in work.atoms}
    snapshots = [_task_snapshot(work.task, responded) for work in conversion.works]
    with session.no_autoflush:
        _store_rows(session, masterplan, conversion, task_of, snapshots, previous)


# The rows go in as bulk inserts (COPY on PostgreSQL). False stores them the way
# this migration first did, one ORM object per atom, edge and wave: kept only so a
# test can prove both paths store the same rows.
_BULK_STORE = True


def _store_bulk(
    session: Session,
    masterplan: MasterPlan,
    conversion: _Conversion,
    previous: dict[str, Any],
    responded: set[Any],
) -> None:
    """The rows `_store_rows` adds, written by `save_graph_bulk` with the same values."""
    work_of = {
        atom.id: (work, index) for work in conversion.works for index, atom in enumerate(work.atoms)
    }
    target_loc = conversion.config.target_loc

    def adjust(atom: Atom, values: dict[str, Any]) -> dict[str, Any]:
        work, index = work_of[atom.id]
        task = work.task
        status = AtomStatus(work.report.status)
        extra = {**values["extra"], "task_key": task.task_key, "migrated": True}
        if index == 0:
            extra["task"] = _task_snapshot(task, responded)
        if work.code is None:
            extra["estimated_atoms"] = max(1, math.ceil(atom.loc / target_loc))
            values["code"] = None
            values["start_byte"] = values["end_byte"] = None
            values["start_line"] = values["end_line"] = None
            values["description"] = task.description
        values["extra"] = extra
        values["status"] = status
        if status is AtomStatus.COMPLETED:
            values["generated_at"] = task.started_at or task.completed_at
            values["completed_at"] = task.completed_at
        return values

    masterplan.atomization_config = {
        **(masterplan.atomization_config or {}),
        **conversion.config.to_dict(),
    }
    marker = {"tool": _MARKER, "migrated_at": datetime.now(UTC).isoformat(), "previous": previous}
    save_graph_bulk(
        session,
        masterplan=masterplan,
        atoms=conversion.atoms,
        analysis=conversion.analysis,
        tasks={atom.id: work.task.id for work in conversion.works for atom in work.atoms},
        graph_data={"migration": marker},
        adjust=adjust,
    )


def _store_rows(
    session: Session,
    masterplan: MasterPlan,
    conversion: _Conversion,
    task_of: dict[str, MasterPlanTask],
    snapshots: list[dict[str, Any]],
    previous: dict[str, Any],
) -> None:
    graph = save_graph(
        session,
        masterplan=masterplan,
        atoms=conversion.atoms,
        analysis=conversion.analysis,
        tasks=task_of,
    )
    graph.graph_data = {
        **graph.graph_data,
        "migration": {
            "tool": _MARKER,
            "migrated_at": datetime.now(UTC).isoformat(),
            "previous": previous,
        },
    }
    rows = {row.atom_key: row for row in graph.atoms}
    for work, snapshot in zip(conversion.works, snapshots, strict=True):
        status = AtomStatus(work.report.status)
        for index, atom in enumerate(work.atoms):
            row = rows[atom.id]
            row.status = status
            extra = {**row.extra, "task_key": work.task.task_key, "migrated": True}
            if index == 0:
                extra["task"] = snapshot
            if work.code is None:
                extra["estimated_atoms"] = max(
                    1, math.ceil(atom.loc / conversion.config.target_loc)
                )
                row.code = None
                row.start_byte = row.end_byte = row.start_line = row.end_line = None
                row.description = work.task.description
            row.extra = extra
            if status is AtomStatus.COMPLETED:
                row.generated_at = work.task.started_at or work.task.completed_at
                row.completed_at = work.task.completed_at
    masterplan.atomization_config = {
        **(masterplan.atomization_config or {}),
        **conversion.config.to_dict(),
    }


def check_integrity(session: Session, masterplan_id: Any) -> list[str]:
    """What is wrong with a migrated masterplan's rows, read back from the database
    (flushed rows of the open transaction included); empty when all holds."""
    problems: list[str] = []
    head = session.execute(
        select(
            MasterPlan.v2_mode,
            MasterPlan.graph_id,
            MasterPlan.total_atoms,
            MasterPlan.total_waves,
            MasterPlan.max_parallelism,
        ).where(MasterPlan.id == masterplan_id)
    ).one()
    if not head.v2_mode:
        problems.append("v2_mode is not set")
    tasks = session.execute(
        select(
            _stored(MasterPlanTask.id, "id"), MasterPlanTask.task_key, MasterPlanTask.generated_code
        ).where(MasterPlanTask.masterplan_id == masterplan_id)
    ).all()
    atoms = session.execute(
        select(
            _stored(AtomicUnit.id, "id"),
            _stored(AtomicUnit.task_id, "task_id"),
            AtomicUnit.atom_key,
            AtomicUnit.kind,
            AtomicUnit.code,
        )
        .where(AtomicUnit.masterplan_id == masterplan_id)
        .order_by(AtomicUnit.atom_number)
    ).all()
    code_of: dict[Any, list[str]] = {}
    for atom in atoms:
        pieces = code_of.setdefault(atom.task_id, [])
        if atom.kind != PLACEHOLDER_KIND:
            pieces.append(atom.code or "")
    for task in tasks:
        if task.id not in code_of:
            problems.append(f"task {task.task_key} has no atom")
            continue
        code = task.generated_code
        if code is not None and code.strip() and "".join(code_of[task.id]) != code:
            problems.append(f"task {task.task_key}: atoms do not reproduce its code")
    if head.total_atoms != len(atoms):
        problems.append(f"total_atoms is {head.total_atoms}, but {len(atoms)} atoms are stored")
    elsewhere = session.scalar(
        select(func.count())
        .select_from(AtomicUnit)
        .where(
            AtomicUnit.masterplan_id == masterplan_id,
            AtomicUnit.graph_id.is_distinct_from(head.graph_id),
        )
    )
    if elsewhere:
        problems.append("atoms outside the masterplan's graph")
    waves = session.execute(
        select(ExecutionWave.total_atoms, ExecutionWave.atom_ids).where(
            ExecutionWave.graph_id == head.graph_id
        )
    ).all()
    if head.total_waves != len(waves):
        problems.append(f"total_waves is {head.total_waves}, but {len(waves)} waves are stored")
    widest = max((wave.total_atoms for wave in waves), default=0)
    if head.max_parallelism != widest:
        problems.append(f"max_parallelism is {head.max_parallelism}, the widest wave {widest}")
    keys = sorted(key for wave in waves for key in wave.atom_ids)
    if keys != sorted(atom.atom_key for atom in atoms):
        problems.append("the waves do not hold every atom exactly once")
    ours = {atom.id for atom in atoms}
    mine = select(AtomicUnit.id).where(AtomicUnit.masterplan_id == masterplan_id)
    edges = session.execute(
        select(
            _stored(AtomDependency.from_atom_id, "from_atom_id"),
            _stored(AtomDependency.to_atom_id, "to_atom_id"),
            (AtomDependency.graph_id == head.graph_id).label("in_graph"),
        ).where(
            (AtomDependency.graph_id == head.graph_id)
            | AtomDependency.from_atom_id.in_(mine)
            | AtomDependency.to_atom_id.in_(mine)
        )
    ).all()
    outside = [
        edge
        for edge in edges
        if edge.from_atom_id not in ours or edge.to_atom_id not in ours or not edge.in_graph
    ]
    if outside:
        problems.append(f"{len(outside)} edges point outside the masterplan")
    stored_edges = session.scalar(
        select(DependencyGraph.total_dependencies).where(DependencyGraph.id == head.graph_id)
    )
    own_edges = len(edges) - len(outside)
    if stored_edges != own_edges:
        problems.append(f"the graph counts {stored_edges} edges, but {own_edges} are stored")
    return problems


def _stored(column: Any, name: str) -> Any:
    """An id column read as the database returns it, not made a `uuid.UUID`: the
    check only compares ids with each other, and building 200,000 UUID objects
    took most of its time on SQLite (PostgreSQL's driver returns UUIDs either way)."""
    return type_coerce(column, String).label(name)


def require_v2_schema(url: str) -> None:
    """Refuse a database whose schema lacks the V2 tables, before anything is read."""
    revision = current_revision(url)
    if revision is None:
        raise DatabaseError("the database has no MGE schema; run `mge db upgrade` first")
    if revision == BASE_REVISION:
        raise DatabaseError("the database is at the MVP revision 0001; run `mge db upgrade` first")


@contextmanager
def _session(engine: Engine) -> Iterator[Session]:
    with database_errors(engine.url), session_factory(engine)() as session:
        yield session


def _migrate_one(
    engine: Engine,
    masterplan_id: Any,
    *,
    production: bool,
    progress: MigrationProgress,
    workers: int,
) -> MasterplanReport:
    with _session(engine) as session:
        if production:
            # Hold the masterplan row, so a concurrent migration waits and then sees
            # v2_mode set instead of migrating it twice (SQLite locks the whole file).
            session.execute(
                select(MasterPlan.id).where(MasterPlan.id == masterplan_id).with_for_update()
            )
        masterplan = session.get(
            MasterPlan,
            masterplan_id,
            options=[
                selectinload(MasterPlan.tasks).selectinload(MasterPlanTask.subtasks),
                # The ORM store adds each atom to its task's `atoms`, which would
                # otherwise load them task by task; the bulk store never reads them.
                *(
                    []
                    if _BULK_STORE
                    else [selectinload(MasterPlan.tasks).selectinload(MasterPlanTask.atoms)]
                ),
                selectinload(MasterPlan.tasks)
                .joinedload(MasterPlanTask.milestone)
                .joinedload(MasterPlanMilestone.phase),
                selectinload(MasterPlan.tasks).defer(MasterPlanTask.llm_response),
            ],
        )
        if masterplan is None:  # deleted since the listing
            return MasterplanReport(str(masterplan_id), "?", "failed", errors=["vanished"])
        name, identifier = masterplan.name, str(masterplan.id)
        if masterplan.v2_mode:
            report = _report(masterplan, None, "skipped")
            report.tasks = len(masterplan.tasks)
            report.atoms = masterplan.total_atoms or 0
            report.warnings.append("already migrated (v2_mode is set); left as it is")
            return report
        failed: Outcome = "failed" if production else "would_fail"
        try:
            conversion = _convert(masterplan, progress, workers)
            problems = _check_conversion(conversion)
            if not problems and production:
                _store(session, masterplan, conversion)
                session.flush()
                problems = check_integrity(session, masterplan.id)
        except Exception as error:  # one masterplan's failure must never stop the others
            session.rollback()
            report = MasterplanReport(identifier, name, failed)
            report.errors.append(f"{type(error).__name__}: {_one_line(error)}")
            return report
        if problems:
            session.rollback()
            report = _report(masterplan, conversion, failed)
            report.errors.extend(problems)
            return report
        if production:
            session.commit()
            return _report(masterplan, conversion, "migrated")
        session.rollback()
        return _report(masterplan, conversion, "would_migrate")


def _one_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(error).__name__


def migrate_tasks(
    engine: Engine,
    *,
    production: bool,
    masterplan_id: str | None = None,
    progress: MigrationProgress | None = None,
    workers: int = 1,
) -> MigrationReport:
    """Migrate every masterplan (or one), each in its own transaction.

    `workers` above 1 atomizes the tasks' code in that many forked processes (see
    `atomize_sources`): only from a process that runs no other threads.

    A dry run (`production=False`) converts and checks in memory and writes nothing.
    Already migrated masterplans are skipped. Failures are reported per masterplan,
    never raised, so one bad masterplan never stops the others.

    Raises:
        NotFound: `masterplan_id` names no masterplan.
        DatabaseError: the database cannot be reached.
    """
    sink = progress or _Silent()
    with _session(engine) as session:
        if masterplan_id is not None:
            ids = [get_masterplan(session, masterplan_id).id]
        else:
            ids = list(
                session.scalars(
                    select(MasterPlan.id).order_by(MasterPlan.created_at, MasterPlan.id)
                )
            )
        session.rollback()
    report = MigrationReport(mode="production" if production else "dry-run")
    for identifier in ids:
        # One masterplan's tasks, atoms and rows are hundreds of thousands of live
        # objects: see mge._collector (a quarter of the time at 10,000 tasks).
        with collector_paused():
            result = _migrate_one(
                engine, identifier, production=production, progress=sink, workers=workers
            )
        report.masterplans.append(result)
    return report


def revert_masterplan(engine: Engine, masterplan_id: str) -> MigrationReport:
    """Remove what `migrate_tasks` stored for one masterplan and restore its V2
    columns as they were; the MVP rows are never touched by either direction.

    Raises:
        NotFound: no such masterplan.
        Conflict: it is not migrated, or its V2 data was not made by this migration.
    """
    with _session(engine) as session:
        masterplan = get_masterplan(session, masterplan_id)
        if not masterplan.v2_mode:
            raise Conflict(f"masterplan {masterplan.id} is not migrated; nothing to revert")
        markers: list[dict[str, Any]] = [
            graph.graph_data["migration"]
            for graph in masterplan.graphs
            if isinstance(graph.graph_data.get("migration"), dict)
        ]
        if len(markers) != 1 or markers[0].get("tool") != _MARKER:
            raise Conflict(
                f"masterplan {masterplan.id} was not made V2 by migrate-tasks; not reverting"
            )
        previous = markers[0].get("previous", {})
        atoms = session.scalar(
            select(func.count())
            .select_from(AtomicUnit)
            .where(AtomicUnit.masterplan_id == masterplan.id)
        )
        report = _report(masterplan, None, "reverted")
        report.atoms = int(atoms or 0)
        report.tasks = len(masterplan.tasks)
        masterplan.graph = None
        session.flush()
        session.execute(
            delete(AtomicUnit).where(AtomicUnit.masterplan_id == masterplan.id),
            execution_options={"synchronize_session": False},
        )
        session.execute(
            delete(DependencyGraph).where(DependencyGraph.masterplan_id == masterplan.id),
            execution_options={"synchronize_session": False},
        )
        session.expire(masterplan, ["graphs", "atoms", "waves"])
        masterplan.v2_mode = False
        masterplan.atomization_config = previous.get("atomization_config")
        masterplan.total_atoms = previous.get("total_atoms")
        masterplan.total_waves = previous.get("total_waves")
        masterplan.max_parallelism = previous.get("max_parallelism")
        if previous.get("updated_at"):
            masterplan.updated_at = datetime.fromisoformat(previous["updated_at"])
        session.commit()
    return MigrationReport(mode="revert", masterplans=[report])
