"""Every MGE table as a typed SQLAlchemy model; import models from here."""

from mge.db.models.atom_retry import AtomRetryHistory
from mge.db.models.atomic_unit import AtomicUnit, AtomStatus
from mge.db.models.dependency_graph import AtomDependency, DependencyGraph, DependencyType
from mge.db.models.execution_wave import ExecutionWave, WaveStatus
from mge.db.models.human_review import (
    HumanReviewQueue,
    ReviewAuditEvent,
    ReviewResolution,
    ReviewStatus,
)
from mge.db.models.masterplan import (
    MasterPlan,
    MasterPlanMilestone,
    MasterPlanPhase,
    MasterPlanStatus,
    MasterPlanSubtask,
    MasterPlanTask,
    TaskComplexity,
    TaskStatus,
)
from mge.db.models.plan_draft import DraftStatus, PlanDraft, PlanVersion
from mge.db.models.run import GenerationRun, RunStatus
from mge.db.models.validation_result import TestType, ValidationLevel, ValidationResult

__all__ = [
    "AtomDependency",
    "AtomRetryHistory",
    "AtomStatus",
    "AtomicUnit",
    "DependencyGraph",
    "DependencyType",
    "DraftStatus",
    "ExecutionWave",
    "GenerationRun",
    "HumanReviewQueue",
    "MasterPlan",
    "MasterPlanMilestone",
    "MasterPlanPhase",
    "MasterPlanStatus",
    "MasterPlanSubtask",
    "MasterPlanTask",
    "PlanDraft",
    "PlanVersion",
    "ReviewAuditEvent",
    "ReviewResolution",
    "ReviewStatus",
    "RunStatus",
    "TaskComplexity",
    "TaskStatus",
    "TestType",
    "ValidationLevel",
    "ValidationResult",
    "WaveStatus",
]
