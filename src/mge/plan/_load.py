"""Reading plans from YAML or JSON, with every error named by the path of its field.

`validate_plan` never raises for bad content: it returns the plan (or None) and the
list of issues, which is what `mge plan check` prints. `parse_plan` and `load_plan`
are for callers that need a good plan or a stop: they raise `PlanInvalid`, a
`PlanError` that carries the issues and whose message is one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from mge.errors import PlanError
from mge.plan._check import PlanIssue, check_plan, check_reference
from mge.plan._models import LANGUAGES, Plan


class PlanInvalid(PlanError):
    """A plan that does not validate; `issues` holds every problem found."""

    def __init__(self, source: str, issues: list[PlanIssue]) -> None:
        more = f" (and {len(issues) - 1} more; see `mge plan check`)" if len(issues) > 1 else ""
        super().__init__(f"{source}: {issues[0]}{more}")
        self.source = source
        self.issues = issues


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys instead of keeping the last one.

    A plan with two `tasks:` keys under one milestone would otherwise lose tasks
    silently.
    """


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    keys: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in keys:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        keys.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _format_loc(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    value = error.get("input")
    loc = error["loc"]
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        return "unknown field"
    if loc == ("language",) and kind == "literal_error":
        return f"unknown language {value!r} (known: {', '.join(sorted(LANGUAGES))})"
    if loc == ("version",) and kind == "literal_error":
        return f"unsupported version {value!r} (this MGE reads version 1)"
    if kind == "literal_error":
        return f"{value!r} is not one of {ctx.get('expected', '')}"
    if kind == "too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "string_pattern_mismatch" and loc[-1:] == ("sha256",):
        return f"{value!r} is not a sha256 (64 lowercase hex digits)"
    if kind == "string_pattern_mismatch":
        return f"{value!r} is not a valid id (letters, digits, '_', '.', '-'; not first '.'/'-')"
    text = str(error["msg"])
    if text.startswith("Value error, "):
        text = text[len("Value error, ") :]
    return text[:1].lower() + text[1:]


def _yaml_issue(exc: yaml.YAMLError) -> PlanIssue:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return PlanIssue("", f"{where}{problem} (not valid YAML)")


def parse_data(text: str, *, json_only: bool = False) -> tuple[Any, list[PlanIssue]]:
    """Turn plan text into data; JSON is valid YAML, so YAML parsing covers both."""
    if json_only:
        try:
            return json.loads(text), []
        except json.JSONDecodeError as exc:
            return None, [PlanIssue("", f"line {exc.lineno}, column {exc.colno}: {exc.msg}")]
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader), []  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        return None, [_yaml_issue(exc)]


def validate_plan(
    data: Any, *, plan_dir: Path | None = None
) -> tuple[Plan | None, list[PlanIssue]]:
    """Validate plan data; return the plan (None if its shape is wrong) and all issues.

    With `plan_dir`, the reference directory is resolved against it and checked too.
    """
    if not isinstance(data, dict):
        kind = "nothing" if data is None else type(data).__name__
        return None, [PlanIssue("", f"a plan must be a mapping at the top level, got {kind}")]
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        return None, [PlanIssue(_format_loc(e["loc"]), _message(e)) for e in exc.errors()]
    issues = check_plan(plan)
    if plan_dir is not None:
        issues.extend(check_reference(plan, plan_dir))
    return plan, issues


def read_plan_file(path: str | Path) -> tuple[Plan | None, list[PlanIssue]]:
    """Read and validate a plan file (`.json` is read as JSON, anything else as YAML).

    Raises:
        PlanError: the file cannot be read at all.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(f"plan file not found: {file}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"cannot read plan file {file}: {exc}") from None
    data, issues = parse_data(text, json_only=file.suffix.lower() == ".json")
    if issues:
        return None, issues
    return validate_plan(data, plan_dir=file.parent)


def parse_plan(text: str, *, source: str = "<plan>") -> Plan:
    """Parse and validate plan text (YAML or JSON); the reference is not checked.

    Raises:
        PlanInvalid: the plan has at least one issue.
    """
    data, issues = parse_data(text)
    plan, more = (None, []) if issues else validate_plan(data)
    issues.extend(more)
    if issues or plan is None:
        raise PlanInvalid(source, issues)
    return plan


def load_plan(path: str | Path) -> Plan:
    """Read a plan file and validate it, its reference directory included.

    Raises:
        PlanError: the file cannot be read.
        PlanInvalid: the plan has at least one issue.
    """
    plan, issues = read_plan_file(path)
    if issues or plan is None:
        raise PlanInvalid(str(path), issues)
    return plan


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of the plan format, for editors and other tools."""
    schema = Plan.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "MGE masterplan"
    return schema


__all__ = [
    "PlanInvalid",
    "load_plan",
    "parse_data",
    "parse_plan",
    "plan_json_schema",
    "read_plan_file",
    "validate_plan",
]
