"""Replay answers to the planning calls of `mge plan new`, with planning faults.

The right answer is what the reference project already is: its plan is the one
`mge plan from-code` makes of it, each task's interface is the names its module
defines at the top level, its tests are the reference's own test files, and its
discovery document is what those say about the domain. A model that plans well
would land there; one that plans badly makes the faults below, injected at
`fault_rate` per call, deterministically by seed, stage and attempt (so a retry
may come back clean, as with a real model):

- `dropped_task`       a task left out of the masterplan (its files go unplanned;
                       tasks that depended on it name a task that is gone)
- `missing_dependency` one `depends_on` entry left out
- `wrong_file_owner`   a file moved from its task to another one
- `vague_interface`    a task's interface replaced with a sentence
- `vacuous_test`       a test's body replaced with one that checks nothing

Only this module (inside the model layer) reads the reference for planning; the
planner sees the answers, exactly as it would a real model's.
"""

from __future__ import annotations

import ast
import hashlib
import json
import random
from functools import cached_property
from pathlib import Path
from typing import Any

from mge.plan import Plan, dump_plan, from_code
from mge.plan._drafting import planned_tests, render_test_files

__all__ = ["PLANNING_FAULT_KINDS", "PlanningAnswers", "planning_fault"]

PLANNING_FAULT_KINDS: tuple[str, ...] = (
    "dropped_task",
    "missing_dependency",
    "wrong_file_owner",
    "vague_interface",
    "vacuous_test",
)
_STAGE_FAULTS = {
    "masterplan": PLANNING_FAULT_KINDS[:4],
    "tests": PLANNING_FAULT_KINDS[4:],
}


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return f"{prefix} {node.name}({ast.unparse(node.args)}){returns}"


def _interface(source: str, *, package: str | None) -> tuple[list[str], list[dict[str, Any]]]:
    """The top-level names a module defines (a package's also those it re-exports),
    and its classes as domain entities."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return [], []
    names: list[str] = []
    entities: list[dict[str, Any]] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names.append(f"class {node.name}")
            fields = [
                {"name": item.target.id, "type": ast.unparse(item.annotation)}
                for item in node.body
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
            ]
            doc = (ast.get_docstring(node) or "").strip().splitlines()
            entities.append(
                {"name": node.name, "description": doc[0] if doc else "", "fields": fields}
            )
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.append(_signature(node))
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name) and t.id != "__all__"]
        elif (
            package is not None
            and isinstance(node, ast.ImportFrom)
            and (node.level or (node.module or "").split(".")[0] == package)
        ):
            names += [a.asname or a.name for a in node.names if a.name != "*"]
    return names, entities


class PlanningAnswers:
    """The reference's answers to the three planning stages."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _read(self, file: str) -> str:
        path = self.root / file
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    @cached_property
    def _planned(self) -> tuple[Plan, list[dict[str, Any]]]:
        plan = from_code(self.root, plan_dir=self.root)
        entities: list[dict[str, Any]] = []
        for phase in plan.phases:
            for milestone in phase.milestones:
                for index, task in enumerate(milestone.tasks):
                    names: list[str] = []
                    for file in task.files:
                        path = Path(file)
                        package = path.parent.name if path.name == "__init__.py" else None
                        found, classes = _interface(self._read(file), package=package)
                        names += found
                        entities += classes
                    milestone.tasks[index] = task.model_copy(update={"interface": names})
        # A name a package re-exports is sketched as what it is where it is defined.
        defined = {
            entry.split("(")[0].split()[-1]: entry
            for task in plan.tasks()
            for entry in task.interface
            if " " in entry.split("(")[0]
        }
        for phase in plan.phases:
            for milestone in phase.milestones:
                for task in milestone.tasks:
                    task.interface = [defined.get(entry, entry) for entry in task.interface]
        # A plan drafted from a request names no files copied from a reference:
        # there is none, only the tests the third stage writes.
        plan = plan.model_copy(update={"reference": None, "support": [], "assets": []})
        return plan, entities

    @property
    def plan(self) -> Plan:
        return self._planned[0]

    def discovery(self) -> str:
        plan, entities = self._planned
        tasks = plan.tasks()
        document = {
            "name": plan.name.replace(".", "_") or "project",
            "summary": plan.description or f"The {plan.name} library.",
            "goals": [task.name for task in tasks],
            "non_goals": [],
            "entities": entities,
            "use_cases": [
                {"name": task.id, "description": task.description or task.name} for task in tasks
            ],
            "constraints": [f"written in {plan.language}"],
            "interfaces": [
                {"kind": "library", "name": task.id, "description": task.name} for task in tasks
            ],
            "open_questions": [],
        }
        return "```json\n" + json.dumps(document, indent=2) + "\n```\n"

    def masterplan(self, fault: str | None, rng: random.Random) -> str:
        plan = self.plan
        if fault is not None:
            plan = _plan_fault(plan, fault, rng) or plan
        return "```yaml\n" + dump_plan(plan) + "```\n"

    def tests(self, fault: str | None, rng: random.Random) -> str:
        files: dict[str, str] = {}
        for test in planned_tests(self.plan):
            for parent in reversed(Path(test).parents):
                conftest = (parent / "conftest.py").as_posix()
                if (self.root / conftest).is_file():
                    files.setdefault(conftest, self._read(conftest))
            files[test] = self._read(test)
        if fault == "vacuous_test":
            _vacuous(files, rng)
        return render_test_files(files)

    def answer(self, stage: str, *, seed: int, attempt: int, rate: float) -> str:
        """The answer to one planning call, faulted or not by seed, stage and attempt."""
        fault, rng = planning_fault(stage, seed=seed, attempt=attempt, rate=rate)
        if stage == "discovery":
            return self.discovery()
        if stage == "masterplan":
            return self.masterplan(fault, rng)
        return self.tests(fault, rng)


def planning_fault(
    stage: str, *, seed: int, attempt: int, rate: float
) -> tuple[str | None, random.Random]:
    """The fault (or None) of one planning call, and the generator that places it."""
    digest = hashlib.sha256(f"{seed}\x00plan\x00{stage}\x00{attempt}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    kinds = _STAGE_FAULTS.get(stage, ())
    fault = rng.choice(kinds) if kinds and rng.random() < rate else None
    return fault, rng


def _plan_fault(plan: Plan, kind: str, rng: random.Random) -> Plan | None:
    """`plan` with one planning fault of `kind`, or None when nothing fits it."""
    data = plan.model_dump(mode="json")
    tasks = [t for p in data["phases"] for m in p["milestones"] for t in m["tasks"]]
    if kind == "dropped_task":
        milestones = [m for p in data["phases"] for m in p["milestones"] if len(m["tasks"]) > 1]
        if not milestones:
            return None
        milestone = rng.choice(milestones)
        milestone["tasks"].pop(rng.randrange(len(milestone["tasks"])))
    elif kind == "missing_dependency":
        dependent = [t for t in tasks if t["depends_on"]]
        if not dependent:
            return None
        task = rng.choice(dependent)
        task["depends_on"].pop(rng.randrange(len(task["depends_on"])))
    elif kind == "wrong_file_owner":
        owners = [t for t in tasks if len(t["files"]) > 1] or [t for t in tasks if t["files"]]
        if len(tasks) < 2 or not owners:
            return None
        source = rng.choice(owners)
        target = rng.choice([t for t in tasks if t is not source])
        file = source["files"].pop(rng.randrange(len(source["files"])))
        target["files"].append(file)
        if not source["files"]:
            # The task keeps a file so the plan stays well formed: the two swap.
            source["files"].append(target["files"].pop(0))
    elif kind == "vague_interface":
        named = [t for t in tasks if t["interface"]]
        if not named:
            return None
        rng.choice(named)["interface"] = ["the functions and classes this module needs"]
    else:
        raise ValueError(f"unknown planning fault {kind!r}")
    return Plan.model_validate(data)


def _vacuous(files: dict[str, str], rng: random.Random) -> None:
    """One test function's body replaced with an assertion that holds for any code."""
    candidates: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for path, code in files.items():
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        candidates += [
            (path, node)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name.startswith("test")
            and node.body
        ]
    if not candidates:
        return
    path, node = rng.choice(candidates)
    lines = files[path].splitlines(keepends=True)
    first = node.body[0]
    start = first.lineno - 1
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        start = first.end_lineno or first.lineno  # keep the docstring
    assert node.end_lineno is not None
    indent = " " * first.col_offset
    files[path] = "".join([*lines[:start], f"{indent}assert True\n", *lines[node.end_lineno :]])
