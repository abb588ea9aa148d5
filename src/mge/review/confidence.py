"""How much to trust an atom, from the evidence its run stored, in [0, 1].

The score must rank the wrong atoms first, so a person who reads only the lowest
15-20% finds most of them. It is built only from what a real model's run would
store too — attempts, the checks that failed on the way, the verdicts of the
levels above and whom they blamed, size and shape — never from the reference code
(that is kept for measuring the score, in `mge.review.calibration`).

Formula: ``confidence = 1 / (1 + exp(-(BIAS - sum(weight_i * signal_i))))`` where
each signal is in [0, 1] and says "this is a reason for doubt". The logistic keeps
the scale readable (an atom with no doubt is near 0.95, each strong doubt costs a
lot) while the order — which is what review needs — comes from the weighted sum.
The weights, and why each signal is there, are in `WEIGHTS` and docs/REVIEW.md.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mge.db.models import (
    AtomDependency,
    AtomicUnit,
    AtomRetryHistory,
    AtomStatus,
    HumanReviewQueue,
    MasterPlanTask,
    ValidationLevel,
    ValidationResult,
)
from mge.review.suggestions import project_findings

__all__ = ["BIAS", "WEIGHTS", "AtomEvidence", "Confidence", "gather_evidence", "score", "score_run"]

BIAS = 3.0

#: Each signal's weight in the doubt sum (see the module docstring).
WEIGHTS: Mapping[str, float] = {
    # Failed after every attempt: its code never passed atomic validation.
    "failed": 6.0,
    # Blamed by L2-L4 and still suspected when the rounds or attempts ran out.
    "blamed_unresolved": 3.0,
    # Regenerated because a level above blamed it (the failure may have moved on).
    "blamed_before": 1.0,
    # The final L2 check of its own task fails: the defect is in this task's code,
    # but a failing task holds many correct atoms (on the development runs its atoms
    # were wrong no more often than any other), so it only breaks ties.
    "task_failing": 0.5,
    # A component (milestone) or system test run fails and this atom's task is in it.
    "scope_failing": 0.75,
    # A static finding that is almost always a defect (undefined name or attribute, a
    # near-miss name, a value that contradicts the skeleton, a bare `raise`, ...) in
    # the atom read within its file; warnings count for less. On the development runs
    # every atom with such a finding was wrong, so it outweighs a failing task plus
    # unresolved blame.
    "static_errors": 6.0,
    "static_warnings": 0.5,
    # Another atom of the file uses a name nothing defines: a lost import in the
    # module header, or a lost line at the end of the previous piece of a body.
    "implicated": 2.0,
    # Retries were needed: the model struggled with this atom (share of the limit).
    "retries": 1.0,
    # The kinds of error seen on the way: wrong names or contracts say the model
    # misunderstood its context, which a later passing attempt does not prove fixed.
    "semantic_errors": 0.75,
    # No doctest ran for it: nothing executed its body at the atomic level.
    "no_doctest": 0.75,
    # Bigger and more branching code hides more faults (share of the plan's limits).
    "size": 0.75,
    "complexity": 0.75,
    # Violations of atomicity: harder to generate and to judge in isolation.
    "atomicity": 0.5,
    # Missing context (types, callees, contracts) leaves the model guessing.
    "context_gap": 0.5,
    # Share of its function lines no passing acceptance test executed, as the run
    # stored it (`atomic_units.extra["test_coverage"]`, 0-1): silent faults live
    # where no test reaches. Absent coverage (no function line, no passing test, or
    # levels above L1 not run) is no signal either way.
    "untested": 2.5,
    # Share of its mutants (one operator or constant changed in a line a passing
    # acceptance test executed) that no test noticed, as the run stored it
    # (`atomic_units.extra["mutation"]`): code the tests run but do not pin down,
    # where a silent fault passes too. No mutant run is no signal.
    "unpinned": 2.0,
    # Acceptance tests still fail and point at it: its Ochiai score over the final
    # acceptance run (`atomic_units.extra["suspicion"]`, 0-1), the evidence blame
    # ranks by, kept for the atoms blame could not clear in time. Weight chosen on
    # the development half of the corpus alone (0.1 uniform; 0 to 6 tried, the
    # others fixed): 3 gave the best AUROC among the best bottom-20% shares.
    "suspected": 3.0,
    # Many atoms wait on it: a fault here spreads (a log scale, capped).
    "fan_out": 0.25,
}

_SEMANTIC = frozenset({"names", "contract", "doctest", "undefined_name", "signature"})


@dataclass
class AtomEvidence:
    """The stored facts about one atom that the score reads."""

    atom_id: uuid.UUID
    atom_key: str
    status: str
    attempts: int = 0
    max_attempts: int = 3
    loc: int = 0
    complexity: float = 0.0
    max_loc: int = 15
    max_complexity: float = 3.0
    atomicity_score: float = 1.0
    context_completeness: float = 1.0
    error_classes: list[str] = field(default_factory=list)
    doctest_passed: bool = False
    blame_regenerations: int = 0
    blamed_unresolved: bool = False
    task_failing: bool = False
    scope_failing: int = 0
    dependents: int = 0
    static_errors: int = 0
    static_warnings: int = 0
    implicated: int = 0
    test_coverage: float | None = None
    mutants: int = 0
    mutants_killed: int = 0
    suspicion: float = 0.0

    def signals(self) -> dict[str, float]:
        """Each doubt signal in [0, 1]."""
        semantic = sum(1 for c in self.error_classes if c in _SEMANTIC)
        return {
            "failed": 1.0 if self.status == AtomStatus.FAILED.value else 0.0,
            "blamed_unresolved": 1.0 if self.blamed_unresolved else 0.0,
            "blamed_before": min(1.0, float(self.blame_regenerations)),
            "task_failing": 1.0 if self.task_failing else 0.0,
            "scope_failing": min(1.0, self.scope_failing / 2.0),
            "retries": min(1.0, max(0, self.attempts - 1) / max(1, self.max_attempts - 1)),
            "semantic_errors": min(1.0, semantic / 2.0),
            "no_doctest": 0.0 if self.doctest_passed else 1.0,
            "size": min(1.0, self.loc / max(1, self.max_loc)),
            "complexity": min(1.0, self.complexity / max(1e-9, self.max_complexity)),
            "atomicity": min(1.0, max(0.0, 1.0 - self.atomicity_score)),
            "context_gap": min(1.0, max(0.0, 1.0 - self.context_completeness)),
            "fan_out": min(1.0, math.log1p(self.dependents) / math.log1p(20)),
            "static_errors": min(1.0, float(self.static_errors)),
            "static_warnings": min(1.0, self.static_warnings / 2.0),
            "implicated": min(1.0, float(self.implicated)),
            "untested": 0.0
            if self.test_coverage is None
            else min(1.0, max(0.0, 1.0 - self.test_coverage)),
            "suspected": min(1.0, max(0.0, self.suspicion)),
            "unpinned": 0.0
            if self.mutants <= 0
            else min(1.0, max(0.0, (self.mutants - self.mutants_killed) / self.mutants)),
        }


@dataclass(frozen=True)
class Confidence:
    """A score and the weighted signals that made it, for the reviewer to see."""

    score: float
    components: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "components": self.components}


def score(evidence: AtomEvidence) -> Confidence:
    """The confidence of one atom; the components are each signal times its weight."""
    components = {
        name: round(WEIGHTS[name] * value, 4)
        for name, value in evidence.signals().items()
        if value > 0
    }
    doubt = sum(components.values())
    value = 1.0 / (1.0 + math.exp(-(BIAS - doubt)))
    return Confidence(score=round(value, 4), components=components)


def _atomization_limits(atom: AtomicUnit) -> tuple[int, float]:
    config = atom.masterplan.atomization_config or {}
    return int(config.get("max_loc", 15)), float(config.get("max_complexity", 3.0))


def gather_evidence(session: Session, *, masterplan_id: uuid.UUID) -> list[AtomEvidence]:
    """The evidence of every atom of a masterplan, read in a few queries."""
    atoms = list(
        session.scalars(
            select(AtomicUnit)
            .where(AtomicUnit.masterplan_id == masterplan_id)
            .order_by(AtomicUnit.atom_number)
        )
    )
    if not atoms:
        return []
    max_loc, max_complexity = _atomization_limits(atoms[0])
    classes: dict[uuid.UUID, list[str]] = defaultdict(list)
    blame_regens: dict[uuid.UUID, int] = defaultdict(int)
    for history in session.scalars(
        select(AtomRetryHistory)
        .join(AtomicUnit, AtomicUnit.id == AtomRetryHistory.atom_id)
        .where(AtomicUnit.masterplan_id == masterplan_id)
    ):
        classes[history.atom_id].extend(_classes_of(history))
        if history.trigger.startswith("blame:") and history.attempt_number > 0:
            blame_regens[history.atom_id] += 1
    last_attempt = {atom.id: atom.attempts for atom in atoms}
    doctests = {
        result.atom_id
        for result in session.scalars(
            select(ValidationResult).where(
                ValidationResult.masterplan_id == masterplan_id,
                ValidationResult.level == ValidationLevel.ATOMIC,
                ValidationResult.check_name == "doctest",
                ValidationResult.passed.is_(True),
            )
        )
        if result.atom_id is not None and result.attempt_number == last_attempt.get(result.atom_id)
    }
    failing_levels, settled = _latest_failures(session, masterplan_id)
    findings = project_findings(session, masterplan_id=masterplan_id)
    tasks = {
        task.id: task
        for task in session.scalars(
            select(MasterPlanTask).where(MasterPlanTask.masterplan_id == masterplan_id)
        )
    }
    unresolved = {
        review.atom_id
        for review in session.scalars(
            select(HumanReviewQueue).where(HumanReviewQueue.masterplan_id == masterplan_id)
        )
        if (review.evidence.get("level") or review.evidence.get("blame")) and not settled
    }
    fan_out: dict[uuid.UUID, int] = defaultdict(int)
    for edge in session.scalars(
        select(AtomDependency)
        .join(AtomicUnit, AtomicUnit.id == AtomDependency.from_atom_id)
        .where(AtomicUnit.masterplan_id == masterplan_id)
    ):
        fan_out[edge.from_atom_id] += 1
    evidence: list[AtomEvidence] = []
    for atom in atoms:
        task = tasks.get(atom.task_id) if atom.task_id else None
        scopes = _scopes_of(task)
        evidence.append(
            AtomEvidence(
                atom_id=atom.id,
                atom_key=atom.atom_key,
                status=atom.status.value,
                attempts=atom.attempts,
                max_attempts=atom.max_attempts,
                loc=atom.loc,
                complexity=atom.complexity,
                max_loc=max_loc,
                max_complexity=max_complexity,
                atomicity_score=atom.atomicity_score,
                context_completeness=atom.context_completeness,
                error_classes=classes.get(atom.id, []),
                doctest_passed=atom.id in doctests,
                blame_regenerations=blame_regens.get(atom.id, 0),
                blamed_unresolved=atom.id in unresolved,
                task_failing=task is not None
                and failing_levels.get(("module", task.task_key), False),
                scope_failing=sum(1 for key in scopes if failing_levels.get(key, False)),
                dependents=fan_out.get(atom.id, 0),
                static_errors=sum(f.severity == "error" for f in findings.get(atom.atom_key, [])),
                static_warnings=sum(
                    f.severity == "warning" and f.source != "related"
                    for f in findings.get(atom.atom_key, [])
                ),
                implicated=sum(f.source == "related" for f in findings.get(atom.atom_key, [])),
                test_coverage=_coverage(atom.extra.get("test_coverage")),
                suspicion=_coverage(atom.extra.get("suspicion")) or 0.0,
                **_mutation(atom.extra.get("mutation")),
            )
        )
    return evidence


def _coverage(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _mutation(value: object) -> dict[str, int]:
    """`mutants` and `mutants_killed` from `extra["mutation"]`; nothing if malformed."""
    if not isinstance(value, dict):
        return {}
    mutants, killed = value.get("mutants"), value.get("killed")
    if not isinstance(mutants, int) or not isinstance(killed, int) or mutants <= 0:
        return {}
    return {"mutants": mutants, "mutants_killed": min(max(killed, 0), mutants)}


def _classes_of(history: AtomRetryHistory) -> Iterable[str]:
    if history.succeeded:
        return ()
    analysis = history.error_analysis or {}
    found = [str(c) for c in analysis.get("classes", [])]
    found += [str(f.get("check")) for f in analysis.get("failures", []) if f.get("check")]
    return found or ([history.error_type] if history.error_type else [])


def _latest_failures(
    session: Session, masterplan_id: uuid.UUID
) -> tuple[dict[tuple[str, str], bool], bool]:
    """Whether the last check of each (level, scope) still fails, and whether the run
    is settled: its last acceptance check passed after every other check. Blame may
    fix a failure after its level gave up (a later regeneration, a later level), so
    once acceptance passes, earlier failures and suspicions are no longer doubts."""
    latest: dict[tuple[str, str, str], tuple[Any, bool]] = {}
    for result in session.scalars(
        select(ValidationResult).where(
            ValidationResult.masterplan_id == masterplan_id,
            ValidationResult.level != ValidationLevel.ATOMIC,
        )
    ):
        key = (result.level.value, result.scope or "", result.check_name or "")
        seen = latest.get(key)
        if seen is None or seen[0] <= result.created_at:
            latest[key] = (result.created_at, result.passed)
    final = latest.get(("system", "acceptance", "tests"))
    settled = (
        final is not None and final[1] and all(when <= final[0] for when, _ in latest.values())
    )
    failing: dict[tuple[str, str], bool] = {}
    for (level, scope, _check), (_when, passed) in latest.items():
        failing[(level, scope)] = failing.get((level, scope), False) or (not passed and not settled)
    return failing, settled


def _scopes_of(task: MasterPlanTask | None) -> list[tuple[str, str]]:
    scopes: list[tuple[str, str]] = [("system", "project"), ("system", "acceptance")]
    if task is not None and task.milestone is not None:
        scopes.append(("component", task.milestone.name))
    return scopes


def score_run(session: Session, *, masterplan_id: uuid.UUID) -> dict[uuid.UUID, Confidence]:
    """Score every atom of a masterplan and store the score on the atom."""
    scores: dict[uuid.UUID, Confidence] = {}
    for evidence in gather_evidence(session, masterplan_id=masterplan_id):
        result = score(evidence)
        scores[evidence.atom_id] = result
        atom = session.get_one(AtomicUnit, evidence.atom_id)
        atom.confidence_score = result.score
        atom.extra = {**atom.extra, "confidence": result.to_dict()}
    session.flush()
    return scores
