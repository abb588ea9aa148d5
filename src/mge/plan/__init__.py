"""Masterplans: the format (pydantic models + JSON Schema), validation, and from-code.

A pure core: it reads and writes plan files and reads source code, and knows
nothing of the database or the network. The format and the path conventions are
described in `mge.plan._models`; the from-code rules in `mge.plan._from_code`.
"""

from __future__ import annotations

from mge.plan._check import (
    PlanIssue,
    asset_problem,
    check_plan,
    check_reference,
    file_sha256,
)
from mge.plan._dump import dump_plan, plan_to_data
from mge.plan._from_code import from_code
from mge.plan._load import (
    PlanInvalid,
    load_plan,
    parse_plan,
    plan_json_schema,
    read_plan_file,
    validate_plan,
)
from mge.plan._models import (
    COMPLEXITIES,
    LANGUAGES,
    Asset,
    Atomization,
    Complexity,
    Language,
    Milestone,
    Phase,
    Plan,
    Task,
    TestRunner,
)

__all__ = [
    "COMPLEXITIES",
    "LANGUAGES",
    "Asset",
    "Atomization",
    "Complexity",
    "Language",
    "Milestone",
    "Phase",
    "Plan",
    "PlanInvalid",
    "PlanIssue",
    "Task",
    "TestRunner",
    "asset_problem",
    "check_plan",
    "check_reference",
    "dump_plan",
    "file_sha256",
    "from_code",
    "load_plan",
    "parse_plan",
    "plan_json_schema",
    "plan_to_data",
    "read_plan_file",
    "validate_plan",
]
