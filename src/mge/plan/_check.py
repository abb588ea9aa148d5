"""Cross-field rules of a plan that pydantic cannot see field by field.

Every rule reports *all* its findings, each as a `PlanIssue` naming the field that
holds the problem, so that one `mge plan check` shows everything to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mge.plan._models import Plan

_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True, slots=True)
class PlanIssue:
    """One problem in a plan: the dotted path of the field and what is wrong with it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def path_problem(value: str) -> str | None:
    """Say why `value` is not a project-relative path, or return None when it is one.

    Plans are shared between machines and feed a code generator that writes files,
    so only plain relative POSIX paths inside the project root are accepted.
    """
    if not value:
        return "empty path"
    if value.startswith(("/", "\\")) or _WINDOWS_DRIVE.match(value):
        return f"{value!r} is absolute; paths are relative to the project root"
    if "\\" in value:
        return f"{value!r} uses backslashes; write POSIX paths with '/'"
    parts = value.split("/")
    if ".." in parts:
        return f"{value!r} is outside the project root"
    if any(part in ("", ".") for part in parts):
        return f"{value!r} is not a normalized path"
    return None


def _check_paths(field_path: str, values: list[str]) -> Iterator[PlanIssue]:
    seen: set[str] = set()
    for value in values:
        problem = path_problem(value)
        if problem is not None:
            yield PlanIssue(field_path, problem)
        elif value in seen:
            yield PlanIssue(field_path, f"{value!r} is listed twice")
        seen.add(value)


def _check_ids(plan: Plan) -> Iterator[PlanIssue]:
    first: dict[str, str] = {}
    for pi, phase in enumerate(plan.phases):
        for mi, milestone in enumerate(phase.milestones):
            for ti, task in enumerate(milestone.tasks):
                here = f"phases[{pi}].milestones[{mi}].tasks[{ti}]"
                if task.id in first:
                    yield PlanIssue(
                        f"{here}.id", f"duplicate task id {task.id!r} (first at {first[task.id]})"
                    )
                else:
                    first[task.id] = here


def _check_files(plan: Plan) -> Iterator[PlanIssue]:
    owner: dict[str, str] = {}
    for pi, phase in enumerate(plan.phases):
        for mi, milestone in enumerate(phase.milestones):
            mpath = f"phases[{pi}].milestones[{mi}]"
            yield from _check_paths(f"{mpath}.tests", milestone.tests)
            for ti, task in enumerate(milestone.tasks):
                tpath = f"{mpath}.tasks[{ti}]"
                yield from _check_paths(f"{tpath}.files", task.files)
                yield from _check_paths(f"{tpath}.tests", task.tests)
                for file in dict.fromkeys(task.files):
                    if path_problem(file) is not None:
                        continue
                    if file in owner and owner[file] != task.id:
                        yield PlanIssue(
                            f"{tpath}.files", f"{file!r} is already owned by task {owner[file]!r}"
                        )
                    owner.setdefault(file, task.id)
    yield from _check_paths("acceptance", plan.acceptance)
    if plan.reference is not None and not plan.reference:
        yield PlanIssue("reference", "empty path")


def _check_dependencies(plan: Plan) -> Iterator[PlanIssue]:
    phase_of: dict[str, int] = {}
    for pi, phase in enumerate(plan.phases):
        for milestone in phase.milestones:
            for task in milestone.tasks:
                phase_of.setdefault(task.id, pi)
    for pi, phase in enumerate(plan.phases):
        for mi, milestone in enumerate(phase.milestones):
            for ti, task in enumerate(milestone.tasks):
                where = f"phases[{pi}].milestones[{mi}].tasks[{ti}].depends_on"
                seen: set[str] = set()
                for dep in task.depends_on:
                    if dep in seen:
                        yield PlanIssue(where, f"task {dep!r} is listed twice")
                    elif dep == task.id:
                        yield PlanIssue(where, f"task {dep!r} depends on itself")
                    elif dep not in phase_of:
                        yield PlanIssue(where, f"unknown task {dep!r}")
                    elif phase_of[dep] > pi:
                        yield PlanIssue(
                            where,
                            f"task {dep!r} is in a later phase (phases[{phase_of[dep]}])",
                        )
                    seen.add(dep)


def strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components of `graph`, every node of which must be a key.

    Tarjan's algorithm, iterative so that long dependency chains cannot overflow the
    stack; components come out in reverse topological order (dependencies first when
    edges point from a node to what it depends on).
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child_i = work[-1]
            if child_i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = graph[node]
            if child_i < len(children):
                work[-1] = (node, child_i + 1)
                child = children[child_i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


def _cycle_through(start: str, graph: dict[str, list[str]], members: set[str]) -> list[str]:
    """The shortest cycle from `start` back to itself inside one component (BFS)."""
    parent: dict[str, str] = {}
    queue = [start]
    for node in queue:
        for child in graph[node]:
            if child not in members:
                continue
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if child not in parent:
                parent[child] = node
                queue.append(child)
    return [start, start]  # unreachable for a real component; keeps the type total


def _check_cycles(plan: Plan) -> Iterator[PlanIssue]:
    paths = plan.task_paths()
    order = {task_id: i for i, task_id in enumerate(paths)}
    graph: dict[str, list[str]] = {}
    for task in plan.tasks():
        if task.id not in graph:  # a duplicated id is reported once, by _check_ids
            graph[task.id] = [d for d in dict.fromkeys(task.depends_on) if d in paths]
    components = [c for c in strongly_connected(graph) if len(c) > 1]
    for component in sorted(components, key=lambda c: min(order[n] for n in c)):
        start = min(component, key=order.__getitem__)
        cycle = _cycle_through(start, graph, set(component))
        yield PlanIssue(f"{paths[start]}.depends_on", "dependency cycle " + " -> ".join(cycle))


def check_plan(plan: Plan) -> list[PlanIssue]:
    """All semantic problems of a plan that parsed: ids, dependencies, cycles, paths.

    Pure: no file is read. `check_reference` does the checks that need the disk.
    """
    return [
        *_check_ids(plan),
        *_check_dependencies(plan),
        *_check_cycles(plan),
        *_check_files(plan),
    ]


def check_reference(plan: Plan, plan_dir: Path) -> list[PlanIssue]:
    """Check that the plan's reference directory exists and holds every file and test.

    A replay run answers from these files, so a missing one is found here, before
    anything is generated, rather than halfway through a run.
    """
    if not plan.reference:
        return []
    root = plan_dir / plan.reference
    if not root.is_dir():
        return [PlanIssue("reference", f"directory not found: {plan.reference!r}")]
    issues: list[PlanIssue] = []

    def missing(field_path: str, values: list[str]) -> None:
        for value in values:
            if path_problem(value) is None and not (root / value).is_file():
                issues.append(PlanIssue(field_path, f"{value!r} not found in the reference"))

    for pi, phase in enumerate(plan.phases):
        for mi, milestone in enumerate(phase.milestones):
            mpath = f"phases[{pi}].milestones[{mi}]"
            missing(f"{mpath}.tests", milestone.tests)
            for ti, task in enumerate(milestone.tasks):
                missing(f"{mpath}.tasks[{ti}].files", task.files)
                missing(f"{mpath}.tasks[{ti}].tests", task.tests)
    missing("acceptance", plan.acceptance)
    return issues


__all__ = ["PlanIssue", "check_plan", "check_reference", "path_problem", "strongly_connected"]
