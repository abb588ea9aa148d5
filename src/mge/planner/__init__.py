"""From a request to an approved masterplan: discovery, plan, tests first (issue 21).

The model calls live here; the rules their answers are held to live in the pure
core `mge.plan._drafting`, and the drafts and their versions in `mge.store`.
"""

from mge.planner._review import (
    RunGate,
    approve_draft,
    draft_summary,
    edit_draft,
    gate_run,
    reject_draft,
)
from mge.planner._service import (
    Draft,
    StageCost,
    TestRunner,
    draft_plan,
    sandbox_runner,
    stub_verdict,
)

__all__ = [
    "Draft",
    "RunGate",
    "StageCost",
    "TestRunner",
    "approve_draft",
    "draft_plan",
    "draft_summary",
    "edit_draft",
    "gate_run",
    "reject_draft",
    "sandbox_runner",
    "stub_verdict",
]
