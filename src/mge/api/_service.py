"""What the routes do with the database, as keyword-only functions (no HTTP here).

Routes parse, call one of these, and shape the answer; every failure is an
`MgeError` that the app's handlers turn into `{"error", "detail"}` once.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mge.api._text import text_problem
from mge.atomize import AtomizeConfig, FileResult, atomize_source
from mge.db.models import (
    AtomicUnit,
    GenerationRun,
    MasterPlan,
    MasterPlanTask,
    ValidationResult,
)
from mge.errors import AtomizeError, ConfigError, Conflict, NotFound, PlanError
from mge.execute import build_settings
from mge.execute.service import store_run
from mge.plan import Plan, PlanInvalid, PlanIssue, check_reference, validate_plan
from mge.plan._load import parse_data
from mge.planner import gate_run
from mge.store import load_graph
from mge.store.drafts import link_run
from mge.store.plans import export_plan, get_masterplan, import_plan

__all__ = [
    "PlanPlace",
    "atom_by_id",
    "check_plan_body",
    "create_run",
    "decompose",
    "import_plan_body",
    "parse_uuid",
    "plan_from_body",
]

MAX_PLAN_BYTES = 5_000_000


def parse_uuid(text: str, what: str) -> uuid.UUID:
    """An id from a URL; anything that is not a UUID names nothing, so it is a 404."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound(f"no {what} {text!r}") from None


# -- plans ------------------------------------------------------------------------


OUTSIDE_ROOTS = "is not a directory below the service's plan roots (MGE_PLAN_ROOTS)"


@dataclass(frozen=True)
class PlanPlace:
    """Where a plan sent to the service is said to live (`base_dir`), and the only
    directories (`roots`) its reference code may be read from.

    Without the roots, `base_dir` and `reference:` would let any caller learn whether
    a path exists on the server and, once a plan is imported, read the files below
    it. A path outside the roots gets the same answer whether it exists or not, and
    nothing outside them is ever looked at."""

    base_dir: str | None
    roots: tuple[Path, ...]

    def _inside(self, path: Path) -> bool:
        return any(path == root or path.is_relative_to(root) for root in self.roots)

    def directory(self) -> Path:
        """The resolved `base_dir` (default: the working directory).

        Raises:
            PlanError: it is not storable text or not below a plan root.
        """
        if self.base_dir:
            problem = text_problem(self.base_dir, "base_dir")
            if problem:
                raise PlanError(problem)
        directory = Path(self.base_dir).expanduser() if self.base_dir else Path.cwd()
        directory = directory.resolve()
        if not self._inside(directory):
            raise PlanError(f"base_dir {OUTSIDE_ROOTS}")
        return directory

    def reference_problem(self, plan: Plan) -> PlanIssue | None:
        """An issue when the plan's reference directory lies outside the roots."""
        if not plan.reference or self._inside((self.directory() / plan.reference).resolve()):
            return None
        return PlanIssue("reference", f"the reference directory {OUTSIDE_ROOTS}")


def check_plan_body(
    body: bytes, *, content_type: str, place: PlanPlace
) -> tuple[Plan | None, list[PlanIssue]]:
    """Validate a plan sent as JSON or YAML; never raises for bad content."""
    if len(body) > MAX_PLAN_BYTES:
        return None, [PlanIssue("", f"the plan is larger than {MAX_PLAN_BYTES} bytes")]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None, [PlanIssue("", "the plan is not UTF-8 text")]
    data, issues = parse_data(text, json_only="json" in content_type.lower())
    if issues:
        return None, issues
    return plan_data_check(data, place=place)


def plan_data_check(data: Any, *, place: PlanPlace) -> tuple[Plan | None, list[PlanIssue]]:
    problem = text_problem(data)
    if problem:
        return None, [PlanIssue("", problem)]
    directory = place.directory()
    plan, issues = validate_plan(data)
    if plan is not None:
        outside = place.reference_problem(plan)
        issues.extend([outside] if outside else check_reference(plan, directory))
    return plan, issues


def plan_from_body(data: Any, *, place: PlanPlace) -> Plan:
    """A valid plan from already-parsed data (a run's `plan` field).

    Raises:
        PlanInvalid: the plan or its reference directory has a problem.
    """
    plan, issues = plan_data_check(data, place=place)
    if issues or plan is None:
        raise PlanInvalid("plan", issues)
    return plan


def _store_plan(session: Session, plan: Plan, place: PlanPlace) -> MasterPlan:
    masterplan = import_plan(session, plan)
    if plan.reference is not None:
        masterplan.reference_path = str((place.directory() / plan.reference).resolve())
    return masterplan


def import_plan_body(
    session: Session, *, body: bytes, content_type: str, place: PlanPlace
) -> MasterPlan:
    plan, issues = check_plan_body(body, content_type=content_type, place=place)
    if issues or plan is None:
        raise PlanInvalid("plan", issues)
    masterplan = _store_plan(session, plan, place)
    session.commit()
    return masterplan


def plan_summary(session: Session, masterplan: MasterPlan) -> dict[str, Any]:
    runs = session.scalar(
        select(func.count())
        .select_from(GenerationRun)
        .where(GenerationRun.masterplan_id == masterplan.id)
    )
    return {
        "id": str(masterplan.id),
        "name": masterplan.name,
        "description": masterplan.description,
        "language": masterplan.language,
        "status": masterplan.status.value,
        "tasks": len(masterplan.tasks),
        "atoms": masterplan.total_atoms,
        "has_graph": masterplan.graph_id is not None,
        "runs": runs or 0,
        "reference": masterplan.reference_path,
        "created_at": masterplan.created_at,
    }


def plan_detail(session: Session, masterplan: MasterPlan) -> dict[str, Any]:
    run_ids = session.scalars(
        select(GenerationRun.id)
        .where(GenerationRun.masterplan_id == masterplan.id)
        .order_by(GenerationRun.created_at)
    )
    return {
        **plan_summary(session, masterplan),
        "plan": export_plan(masterplan).model_dump(mode="json"),
        "run_ids": [str(run_id) for run_id in run_ids],
    }


def masterplan_by_id(session: Session, text: str) -> MasterPlan:
    return get_masterplan(session, text.strip())


# -- atoms ------------------------------------------------------------------------


def _file_out(result: FileResult, source: bytes) -> dict[str, Any]:
    return {
        "path": result.path,
        "language": result.language,
        "size_bytes": result.size_bytes,
        "atoms": len(result.atoms),
        "loc": sum(atom.loc for atom in result.atoms),
        "has_syntax_error": result.has_syntax_error,
        "partition_ok": result.partition_ok(source),
    }


def _stored_spans_partition(rows: list[AtomicUnit]) -> bool | None:
    """Whether the stored spans cover the file from byte 0 in order, each exactly once;
    None when an atom has no span (a placeholder still to be generated)."""
    spans = [(row.start_byte, row.end_byte) for row in rows]
    if any(start is None or end is None for start, end in spans):
        return None
    position = 0
    for start, end in sorted(spans, key=lambda span: span[0] or 0):
        assert start is not None and end is not None
        if start != position or end <= start:
            return False
        position = end
    return True


def _stored_syntax_error(file: str, rows: list[AtomicUnit]) -> bool | None:
    """Whether the file as its atoms hold it now (the generated code) has a syntax
    error; None when an atom has no code yet or the language cannot be parsed."""
    texts = [row.code for row in rows]
    if any(text is None for text in texts):
        return None
    source = "".join(text or "" for text in texts).encode("utf-8", errors="surrogateescape")
    try:
        return atomize_source(source, file, language=rows[0].language).has_syntax_error
    except AtomizeError:
        return None


def _stored_file_out(file: str, rows: list[AtomicUnit]) -> dict[str, Any]:
    return {
        "path": file,
        "language": rows[0].language,
        "size_bytes": max((row.end_byte or 0) for row in rows),
        "atoms": len(rows),
        "loc": sum(row.loc for row in rows),
        "has_syntax_error": _stored_syntax_error(file, rows),
        "partition_ok": _stored_spans_partition(rows),
    }


def _stored_atom_out(row: AtomicUnit) -> dict[str, Any]:
    code = row.code or ""  # what the model wrote; reference code is never shown
    return {
        "id": row.atom_key,
        "file": row.file_path,
        "language": row.language,
        "kind": row.kind,
        "name": row.name,
        "qualname": row.qualname or row.name,
        "start_byte": row.start_byte or 0,
        "end_byte": row.end_byte or 0,
        "start_line": row.start_line or 0,
        "end_line": row.end_line or 0,
        "loc": row.loc,
        "complexity": row.complexity,
        "atomicity_score": row.atomicity_score,
        "violations": [str(v) for v in row.atomicity_violations],
        "context": {
            "imports": row.context_imports,
            "types": row.context_types,
            "preconditions": row.context_preconditions,
            "postconditions": row.context_postconditions,
            "callees": row.context_callees,
            "signature": row.signature,
        },
        "context_completeness": row.context_completeness,
        "depends_on": [
            {"atom": edge.prerequisite.atom_key, "type": edge.dependency_type.name}
            for edge in row.dependencies
        ],
        "code": code,
    }


def decompose(
    session: Session,
    *,
    code: str | None,
    path: str | None,
    language: str | None,
    masterplan_id: str | None,
    task_id: str | None,
    config: AtomizeConfig,
) -> dict[str, Any]:
    """Atoms of a piece of code, or of a stored task (its stored atoms, else its
    reference files atomized with the plan's settings)."""
    problem = text_problem(
        {"code": code, "path": path, "masterplan_id": masterplan_id, "task_id": task_id}
    )
    if problem:
        raise AtomizeError(problem)
    if code is not None and path is not None:
        source = code.encode("utf-8")
        result = atomize_source(source, path, language=language, config=config)
        return {
            "source": "code",
            "files": [_file_out(result, source)],
            "atoms": [atom.to_dict() for atom in result.atoms],
        }
    assert masterplan_id is not None and task_id is not None
    masterplan = masterplan_by_id(session, masterplan_id)
    task = session.scalar(
        select(MasterPlanTask).where(
            MasterPlanTask.masterplan_id == masterplan.id, MasterPlanTask.task_key == task_id
        )
    )
    if task is None:
        raise NotFound(f"masterplan {masterplan.id} has no task {task_id!r}")
    if task.atoms:
        rows = sorted(task.atoms, key=lambda row: row.atom_number)
        files: dict[str, list[AtomicUnit]] = {}
        for row in rows:
            files.setdefault(row.file_path, []).append(row)
        return {
            "source": "stored",
            "files": [_stored_file_out(file, group) for file, group in files.items()],
            "atoms": [_stored_atom_out(row) for row in rows],
        }
    raise PlanError(
        f"task {task_id!r} has no atoms yet: they are planned from the model's skeleton "
        "when the plan runs"
    )


def atom_by_id(session: Session, text: str) -> AtomicUnit:
    row = session.get(AtomicUnit, parse_uuid(text, "atom"))
    if row is None:
        raise NotFound(f"no atom {text}")
    return row


def atom_detail(row: AtomicUnit) -> dict[str, Any]:
    def link(atom: AtomicUnit, edge_type: str) -> dict[str, str]:
        return {"atom_id": str(atom.id), "key": atom.atom_key, "type": edge_type}

    return {
        "id": str(row.id),
        "key": row.atom_key,
        "masterplan_id": str(row.masterplan_id),
        "task": row.task.task_key if row.task is not None else None,
        "file": row.file_path,
        "language": row.language,
        "kind": row.kind,
        "name": row.name,
        "qualname": row.qualname,
        "start_line": row.start_line,
        "end_line": row.end_line,
        "loc": row.loc,
        "complexity": row.complexity,
        "status": row.status.value,
        "wave": row.wave_number,
        "attempts": row.attempts,
        "max_attempts": row.max_attempts,
        "atomicity_score": row.atomicity_score,
        "atomicity_violations": list(row.atomicity_violations),
        "context_completeness": row.context_completeness,
        "confidence_score": row.confidence_score,
        "needs_review": row.needs_review,
        "signature": row.signature,
        "code": row.code,
        "last_error": row.last_error,
        "depends_on": [link(e.prerequisite, e.dependency_type.name) for e in row.dependencies],
        "dependents": [link(e.dependent, e.dependency_type.name) for e in row.dependents],
    }


def validation_of(session: Session, row: AtomicUnit) -> dict[str, Any]:
    results = list(
        session.scalars(
            select(ValidationResult)
            .where(ValidationResult.atom_id == row.id)
            .order_by(ValidationResult.created_at, ValidationResult.attempt_number)
        )
    )
    latest: dict[str, bool] = {}
    for result in results:
        latest[result.level.value] = result.passed
    return {
        "atom_id": str(row.id),
        "key": row.atom_key,
        "status": row.status.value,
        "latest": latest,
        "results": [
            {
                "id": str(r.id),
                "run_id": str(r.run_id) if r.run_id else None,
                "level": r.level.value,
                "test_type": r.test_type.value,
                "check": r.check_name,
                "scope": r.scope,
                "attempt": r.attempt_number,
                "passed": r.passed,
                "output": r.output,
                "error_message": r.error_message,
                "duration_seconds": r.duration_seconds,
                "created_at": r.created_at,
            }
            for r in results
        ],
    }


# -- graphs -----------------------------------------------------------------------


def graph_of(session: Session, masterplan_text: str) -> dict[str, Any]:
    masterplan = masterplan_by_id(session, masterplan_text)
    if masterplan.graph_id is None:
        raise NotFound(f"masterplan {masterplan.id} has no graph yet: start a run first")
    loaded = load_graph(session, masterplan.graph_id)
    analysis = loaded.analysis
    summary = analysis.summary()
    wave_of = analysis.wave_of()
    return {
        "masterplan_id": str(masterplan.id),
        "graph_id": str(loaded.graph.id),
        "figures": {
            "atoms": summary["atoms"],
            "edges": summary["edges"],
            "edges_by_type": summary["edges_by_type"],
            "waves": summary["waves"],
            "wave_widths": summary["wave_widths"],
            "max_parallelism": summary["max_parallelism"],
            "critical_path_length": summary["critical_path_length"],
            "critical_path_loc": summary["critical_path_loc"],
            "has_cycles": summary["has_cycles"],
            "cycles": len(analysis.cycles),
        },
        "waves": analysis.waves,
        "critical_path": list(analysis.critical_path),
        "cycles": summary["cycles"],
        "nodes": [
            {
                "id": atom.atom_key,
                "atom_id": str(atom.id),
                "file": atom.file_path,
                "kind": atom.kind,
                "loc": atom.loc,
                "wave": wave_of.get(atom.atom_key),
                "status": atom.status.value,
            }
            for atom in loaded.atoms
        ],
        "edges": [
            {
                "source": edge.source,
                "target": edge.target,
                "type": edge.type.name,
                "types": [kind.name for kind in edge.all_types],
                "strength": edge.strength,
            }
            for edge in analysis.edges
        ],
    }


# -- runs -------------------------------------------------------------------------


def create_run(
    session: Session,
    *,
    masterplan_id: str | None,
    plan_data: dict[str, Any] | None,
    place: PlanPlace,
    options: dict[str, Any],
    runs_dir: Path,
    run_unapproved: bool = False,
) -> uuid.UUID:
    """Check everything about a run request, then store the run (pending).

    A plan drafted by `mge plan new` is refused until approved, as `mge run` refuses
    it, unless `run_unapproved`; the run then records the version it executes and
    reads the draft's tests.

    A masterplan's atoms and graph belong to it, so it gets one run: later work on
    it is a resume of that run, and a fresh start means importing the plan again.

    Raises:
        NotFound, PlanInvalid, ConfigError, ProviderUnavailable: the request is wrong.
        Conflict: the masterplan already has a run, or is a draft not approved.
    """
    problem = text_problem({"options": options})
    if problem:
        raise ConfigError(problem)
    if masterplan_id is not None:
        masterplan = masterplan_by_id(session, masterplan_id)
        existing = session.scalar(
            select(GenerationRun).where(GenerationRun.masterplan_id == masterplan.id).limit(1)
        )
        if existing is not None:
            raise Conflict(
                f"masterplan {masterplan.id} already has run {existing.id} "
                f"({existing.status.value}); resume that run or import the plan again"
            )
        plan = export_plan(masterplan)
        gate = gate_run(session, plan, yes=run_unapproved)
    else:
        plan = plan_from_body(plan_data, place=place)
        gate = gate_run(session, plan, yes=run_unapproved)  # before anything is stored
        masterplan = _store_plan(session, plan, place)
    if gate.tests_dir is not None and not options.get("tests_dir"):
        options = {**options, "tests_dir": gate.tests_dir}
    out = (runs_dir / uuid.uuid4().hex).resolve()
    settings = build_settings(**options, out_dir=str(out))
    run_id = store_run(session, masterplan, settings, plan_path=masterplan.source_path)
    if gate.version is not None:
        link_run(session, run_id, gate.version.id)
        session.commit()
    return run_id


def encode_event(seq: int, kind: str, payload: str) -> bytes:
    return f"id: {seq}\nevent: {kind}\ndata: {payload}\n\n".encode()


def encode_comment(text: str) -> bytes:
    return f": {text}\n\n".encode()


def dumps(data: Any) -> str:
    return json.dumps(data, default=str)
