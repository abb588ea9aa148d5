"""The pure rules a drafted plan's answers are held to (`mge.plan._drafting`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mge.errors import PlanError
from mge.plan._drafting import (
    MAX_REQUEST_CHARS,
    DraftRejected,
    check_request,
    parse_discovery,
    parse_masterplan,
    parse_test_files,
    render_test_files,
    stub_files,
    vacuous_tests,
)


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "the request is empty"), ("  \n\t", "the request is empty")],
)
def test_empty_requests_are_refused(text: str, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        check_request(text)


def test_an_oversized_request_is_refused_not_cut() -> None:
    with pytest.raises(PlanError, match="limit is 20,000"):
        check_request("x" * (MAX_REQUEST_CHARS + 1))
    assert check_request("  a todo list  ") == "a todo list"


def test_discovery_is_read_from_a_fenced_json_block(discovery: dict[str, Any]) -> None:
    doc = parse_discovery("Here it is:\n```json\n" + json.dumps(discovery) + "\n```\n")
    assert doc.name == "counter"
    assert doc.entities[0].fields[0].type == "int"


def test_discovery_errors_name_their_fields(discovery: dict[str, Any]) -> None:
    broken = {**discovery, "goals": [], "interfaces": [{"kind": "gui", "name": "x"}]}
    with pytest.raises(DraftRejected) as caught:
        parse_discovery(json.dumps(broken))
    paths = {issue.path for issue in caught.value.issues}
    assert paths == {"goals", "interfaces[0].kind"}
    with pytest.raises(DraftRejected, match="not JSON"):
        parse_discovery("goals: add")


def test_a_masterplan_answer_becomes_a_plan_with_interfaces(plan_answer: str) -> None:
    plan = parse_masterplan(plan_answer)
    assert plan.tasks()[0].interface[1] == "def add(a, b) -> int"


def test_a_vague_or_missing_interface_is_refused_with_its_path(plan_answer: str) -> None:
    vague = plan_answer.replace('"LIMIT: int = 10"', '"helpers for adding things"')
    with pytest.raises(DraftRejected) as caught:
        parse_masterplan(vague)
    assert [str(i) for i in caught.value.issues] == [
        "phases[0].milestones[0].tasks[0].interface[2]: 'helpers for adding things' is not"
        " a `class Name`, `def name(...)` or `NAME`"
    ]
    with pytest.raises(DraftRejected, match=r"tasks\[0\]\.interface: names nothing"):
        parse_masterplan(plan_answer.replace("interface:", "# interface:"))


def test_plan_format_errors_come_through_with_their_paths(plan_answer: str) -> None:
    with pytest.raises(DraftRejected) as caught:
        parse_masterplan(
            plan_answer.replace("tests: [tests/test_core.py]\n```", "depends_on: [gone]\n```")
        )
    assert any(
        str(i) == "phases[0].milestones[0].tasks[0].depends_on: unknown task 'gone'"
        for i in caught.value.issues
    )


def test_test_files_must_be_the_planned_ones_and_parse(plan_answer: str) -> None:
    plan = parse_masterplan(plan_answer)
    good = {"tests/test_core.py": "def test_add():\n    assert add(1, 2) == 3\n"}
    assert parse_test_files(render_test_files(good), plan) == good
    with pytest.raises(DraftRejected) as caught:
        parse_test_files(
            render_test_files({"tests/test_other.py": "def test_x(:\n", "tests/conftest.py": ""}),
            plan,
        )
    assert sorted(str(i) for i in caught.value.issues) == [
        "tests/test_core.py: named by the plan but not written",
        "tests/test_other.py: does not parse: line 1: invalid syntax",
        "tests/test_other.py: not named by the plan's tests",
    ]
    with pytest.raises(DraftRejected, match="holds no test function"):
        parse_test_files(render_test_files({"tests/test_core.py": "x = 1\n"}), plan)


def test_the_stub_skeleton_defines_every_interface_name_and_does_nothing(plan_answer: str) -> None:
    files = stub_files(parse_masterplan(plan_answer))
    assert sorted(files) == ["counter/__init__.py", "counter/core.py"]
    namespace: dict[str, object] = {}
    exec(files["counter/core.py"], namespace)
    counter = namespace["Counter"]
    # Attributes exist (an enum member in a parametrize list), but do nothing.
    for name in ("LIMIT", "Counter", "add"):
        with pytest.raises(NotImplementedError):
            namespace[name]()  # type: ignore[operator]
    with pytest.raises(NotImplementedError):
        counter.RED.value()  # type: ignore[attr-defined]
    assert not hasattr(counter, "__wrapped__")


def test_tests_that_passed_on_stubs_are_vacuous() -> None:
    verdicts = {"tests/test_core.py::test_b": True, "tests/test_core.py::test_a": False}
    assert vacuous_tests(verdicts) == ["tests/test_core.py::test_b"]


def test_a_comment_naming_a_file_inside_a_test_is_code(plan_answer: str) -> None:
    plan = parse_masterplan(plan_answer)
    code = "# tests/test_other.py\n# helpers.py\ndef test_add():\n    assert add(1, 2) == 3\n"
    assert parse_test_files(render_test_files({"tests/test_core.py": code}), plan) == {
        "tests/test_core.py": code
    }
    with pytest.raises(DraftRejected, match="no code block follows the file name"):
        parse_test_files("### FILE: tests/test_core.py\nno code here\n", plan)


def test_a_test_of_constants_is_vacuous_before_it_runs(plan_answer: str) -> None:
    plan = parse_masterplan(plan_answer)
    code = (
        "def test_real(counter):\n    assert counter.add(1, 2) == 3\n\n\n"
        'def test_nothing(counter):\n    """Uses a fixture, checks nothing."""\n    assert True\n'
    )
    with pytest.raises(DraftRejected) as caught:
        parse_test_files(render_test_files({"tests/test_core.py": code}), plan)
    assert [str(i) for i in caught.value.issues] == [
        "tests/test_core.py::test_nothing: checks nothing: it asserts only constants"
    ]
