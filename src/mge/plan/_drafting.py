"""The pure rules of drafting a plan from a request: what each stage's answer must be.

`mge plan new` asks a model three times (see `mge.planner`); this module judges
the answers without calling anything, so every rule is testable on its own:

- the request: not empty, not oversized;
- the discovery document (`Discovery`): a JSON object of a fixed shape;
- the masterplan: the plan format of `mge.plan`, plus what a *generated* plan owes
  its reader: every task sketches its interface in names a stub can stand in for;
- the acceptance tests: files that parse, hold tests, and are the ones the plan
  names. Whether they check anything is settled by running them against the stub
  skeleton (`stub_files`): `vacuous_tests` names those that passed there.

Problems are `DraftIssue`s with the path of the field (or file) that holds them,
so a retry prompt can quote them and a person can find them.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mge.errors import PlanError
from mge.plan._load import _format_loc, validate_plan
from mge.plan._models import Plan

__all__ = [
    "MAX_REQUEST_CHARS",
    "Discovery",
    "DraftIssue",
    "DraftRejected",
    "check_request",
    "parse_discovery",
    "parse_masterplan",
    "parse_test_files",
    "planned_tests",
    "render_test_files",
    "stub_files",
    "vacuous_tests",
]

# A request is a description, not a specification dump: past this it is refused
# rather than silently cut, because the cut part would be planned by nobody.
MAX_REQUEST_CHARS = 20_000


@dataclass(frozen=True)
class DraftIssue:
    """One problem with a stage's answer, at `path` (a field path or a file)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class DraftRejected(PlanError):
    """A stage's answer that breaks its rules; `issues` holds every problem found."""

    def __init__(self, stage: str, issues: list[DraftIssue]) -> None:
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(f"{stage}: {issues[0]}{more}")
        self.stage = stage
        self.issues = issues


def check_request(text: str) -> str:
    """The request stripped, or a `PlanError` for an empty or oversized one."""
    stripped = text.strip()
    if not stripped:
        raise PlanError("the request is empty: say what you want built")
    if len(stripped) > MAX_REQUEST_CHARS:
        raise PlanError(
            f"the request is {len(stripped):,} characters; the limit is {MAX_REQUEST_CHARS:,}"
        )
    return stripped


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Field_(_Doc):
    name: str = Field(min_length=1)
    type: str = Field(min_length=1)
    description: str = ""


class Entity(_Doc):
    name: str = Field(min_length=1)
    description: str = ""
    fields: list[Field_] = Field(default_factory=list)


class UseCase(_Doc):
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)


class Interface(_Doc):
    kind: str = Field(pattern=r"^(cli|api|library)$")
    name: str = Field(min_length=1)
    description: str = ""


class Discovery(_Doc):
    """What the user wants, structured: the first stage's answer and the plan's source."""

    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$")
    summary: str = Field(min_length=1)
    goals: list[str] = Field(min_length=1)
    non_goals: list[str] = Field(default_factory=list)
    entities: list[Entity] = Field(default_factory=list)
    use_cases: list[UseCase] = Field(min_length=1)
    constraints: list[str] = Field(default_factory=list)
    interfaces: list[Interface] = Field(min_length=1)
    open_questions: list[str] = Field(default_factory=list)


_FENCE = re.compile(r"```[A-Za-z0-9_+-]*[^\n]*\n(.*?)```", re.DOTALL)


def _body(answer: str) -> str:
    """The first fenced block of an answer, or the whole answer when it has none."""
    found = _FENCE.search(answer)
    return found.group(1) if found else answer


def parse_discovery(answer: str) -> Discovery:
    """The discovery document in a model's answer (JSON, fenced or bare)."""
    try:
        data = json.loads(_body(answer))
    except json.JSONDecodeError as exc:
        raise DraftRejected("discovery", [DraftIssue("", f"not JSON: {exc.msg}")]) from None
    try:
        return Discovery.model_validate(data)
    except ValidationError as exc:
        issues = [DraftIssue(_format_loc(e["loc"]), e["msg"]) for e in exc.errors()]
        raise DraftRejected("discovery", issues) from None


# An interface entry a stub can stand in for: a class, a function, or a constant.
_CLASS = re.compile(r"^class\s+([A-Za-z_]\w*)\b")
_DEF = re.compile(r"^(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(")
_CONSTANT = re.compile(r"^([A-Za-z_]\w*)\s*(?::[^=]+)?(?:=.*)?$")


def _interface_name(entry: str) -> tuple[str, str] | None:
    """(kind, name) of an interface entry, or None when it is prose."""
    for kind, pattern in (("class", _CLASS), ("def", _DEF), ("constant", _CONSTANT)):
        found = pattern.match(entry.strip())
        if found:
            return kind, found.group(1)
    return None


def _is_marker(file: str) -> bool:
    return PurePosixPath(file).name == "__init__.py"


def parse_masterplan(answer: str) -> Plan:
    """The masterplan in a model's answer (YAML), held to the plan format and to the
    interface rule: each task that writes a module names what it defines, in
    entries a stub can be made of."""
    try:
        data = yaml.safe_load(_body(answer))
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DraftRejected("masterplan", [DraftIssue("", f"not YAML: {problem}")]) from None
    plan, plan_issues = validate_plan(data)
    issues = [DraftIssue(i.path, i.message) for i in plan_issues]
    if plan is not None:
        paths = plan.task_paths()
        for task in plan.tasks():
            where = f"{paths[task.id]}.interface"
            if not task.interface and not all(_is_marker(f) for f in task.files):
                issues.append(DraftIssue(where, "names nothing the task's files define"))
            for index, entry in enumerate(task.interface):
                if _interface_name(entry) is None:
                    issues.append(
                        DraftIssue(
                            f"{where}[{index}]",
                            f"{entry!r} is not a `class Name`, `def name(...)` or `NAME`",
                        )
                    )
    if issues:
        raise DraftRejected("masterplan", issues)
    assert plan is not None
    return plan


def planned_tests(plan: Plan) -> list[str]:
    """Every test file the plan names, in plan order, each once."""
    return list(
        dict.fromkeys(
            [t for task in plan.tasks() for t in task.tests]
            + [t for phase in plan.phases for m in phase.milestones for t in m.tests]
            + list(plan.acceptance)
        )
    )


_FILE_HEADER = re.compile(r"(?m)^#{1,6}\s*(?:FILE:\s*)?`?([\w./-]+\.py)`?\s*$")


def parse_test_files(answer: str, plan: Plan) -> dict[str, str]:
    """The test files in a model's answer: `### FILE: path` then a fenced block, per file.

    Each must parse and hold at least one `test_` function, and together they must be
    exactly the test files the plan names (a missing one would leave a task unproven;
    an extra one would be run by nobody).
    """
    files: dict[str, str] = {}
    issues: list[DraftIssue] = []
    headers = 0
    position = 0
    # Headers are looked for only between code blocks: a comment naming a file
    # inside a test is code, not the start of another file.
    while (header := _FILE_HEADER.search(answer, position)) is not None:
        headers += 1
        block = _FENCE.search(answer, header.end())
        following = _FILE_HEADER.search(answer, header.end())
        if block is None or (following is not None and following.start() < block.start()):
            issues.append(DraftIssue(header.group(1), "no code block follows the file name"))
            position = header.end()
            continue
        files[header.group(1)] = block.group(1)
        position = block.end()
    expected = planned_tests(plan)
    if not headers:
        issues.append(DraftIssue("", "no `### FILE: path` headers with code blocks"))
    for path, code in files.items():
        try:
            tree = ast.parse(code)
        except SyntaxError as exc:
            issues.append(DraftIssue(path, f"does not parse: line {exc.lineno}: {exc.msg}"))
            continue
        if path in expected and not PurePosixPath(path).name.startswith("conftest"):
            tests = [
                node
                for node in ast.walk(tree)
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and node.name.startswith("test")
            ]
            if not tests:
                issues.append(DraftIssue(path, "holds no test function"))
            issues += [
                DraftIssue(f"{path}::{test.name}", "checks nothing: it asserts only constants")
                for test in tests
                if _checks_nothing(test)
            ]
    for path in expected:
        if path not in files:
            issues.append(DraftIssue(path, "named by the plan but not written"))
    for path in files:
        if path not in expected and not PurePosixPath(path).name.startswith("conftest"):
            issues.append(DraftIssue(path, "not named by the plan's tests"))
    if issues:
        raise DraftRejected("tests", issues)
    return files


def _checks_nothing(test: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A body of nothing but constant asserts, `pass` and literals passes whatever the
    code does, even when a fixture it uses would fail on the stubs first."""
    for statement in test.body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue
        if isinstance(statement, ast.Assert) and isinstance(statement.test, ast.Constant):
            continue
        return False
    return True


def render_test_files(files: Mapping[str, str]) -> str:
    """Test files in the answer format `parse_test_files` reads."""
    return "".join(f"### FILE: {path}\n```python\n{code}```\n\n" for path, code in files.items())


# What every stub module starts with: stand-ins for the attributes of classes and
# constants nobody has written yet (an enum member in a `parametrize` list must
# exist at collection; using it must fail).
_STUB_PRELUDE = [
    "class _Missing:",
    "    def __call__(self, *args: object, **kwargs: object) -> object:",
    "        raise NotImplementedError",
    "",
    "    def __getattr__(self, name: str) -> object:",
    "        if name.startswith('__'):",
    "            raise AttributeError(name)",
    "        return _Missing()",
    "",
    "",
    "class _Unwritten(type):",
    "    def __getattr__(cls, name: str) -> object:",
    "        if name.startswith('__'):",
    "            raise AttributeError(name)",
    "        return _Missing()",
    "",
    "",
]


def stub_files(plan: Plan) -> dict[str, str]:
    """The empty skeleton: every planned file, defining its task's interface names
    with bodies that raise, so importing works and every behaviour is missing.

    A test that passes against this checks nothing the plan's code will do.
    """
    files: dict[str, str] = {}
    for task in plan.tasks():
        lines: list[str] = []
        for entry in task.interface:
            found = _interface_name(entry)
            if found is None:
                continue
            kind, name = found
            if kind == "class":
                lines += [
                    f"class {name}(metaclass=_Unwritten):",
                    "    def __init__(self, *args: object, **kwargs: object) -> None:",
                    "        raise NotImplementedError",
                    "",
                ]
            elif kind == "def":
                lines += [
                    f"def {name}(*args: object, **kwargs: object) -> object:",
                    "    raise NotImplementedError",
                    "",
                ]
            else:
                lines.append(f"{name} = _Missing()")
        if lines:
            lines = [*_STUB_PRELUDE, *lines]
        for number, file in enumerate(task.files):
            # The names go into the task's first file (a package re-exports them).
            files.setdefault(file, "\n".join(lines) + "\n" if number == 0 and lines else "")
    for file in list(files):
        for parent in PurePosixPath(file).parents:
            if str(parent) not in ("", ".") and any(
                f.startswith(f"{parent}/") and f.endswith(".py") for f in files
            ):
                files.setdefault(f"{parent}/__init__.py", "")
    return files


def vacuous_tests(verdicts: Mapping[str, bool]) -> list[str]:
    """The tests (node ids) that passed against the stub skeleton."""
    return sorted(nodeid for nodeid, passed in verdicts.items() if passed)
