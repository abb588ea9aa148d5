"""Bad plans in, exact error lines out: shape errors from the models, rules from check_plan."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import mge.plan
from mge.errors import PlanError
from mge.plan import (
    Plan,
    PlanInvalid,
    check_plan,
    dump_plan,
    load_plan,
    parse_plan,
    plan_json_schema,
    read_plan_file,
    validate_plan,
)

GOOD: dict[str, Any] = {
    "version": 1,
    "name": "shop",
    "language": "python",
    "phases": [
        {
            "name": "Core",
            "milestones": [
                {
                    "name": "Domain",
                    "tasks": [
                        {"id": "models", "name": "Models", "files": ["shop/models.py"]},
                        {
                            "id": "money",
                            "name": "Money",
                            "files": ["shop/money.py"],
                            "tests": ["tests/test_money.py"],
                        },
                    ],
                },
                {
                    "name": "Services",
                    "tasks": [
                        {
                            "id": "orders",
                            "name": "Orders",
                            "files": ["shop/orders.py"],
                            "depends_on": ["models", "money"],
                            "complexity": "high",
                        }
                    ],
                },
            ],
        },
        {
            "name": "Surface",
            "milestones": [
                {
                    "name": "Reports",
                    "tasks": [
                        {
                            "id": "report",
                            "name": "Report",
                            "files": ["shop/report.py"],
                            "depends_on": ["orders"],
                        }
                    ],
                }
            ],
        },
    ],
}


def _task(data: dict[str, Any], phase: int, milestone: int, task: int) -> dict[str, Any]:
    found: dict[str, Any] = data["phases"][phase]["milestones"][milestone]["tasks"][task]
    return found


def _errors(data: Any) -> list[str]:
    _, issues = validate_plan(data)
    return [str(issue) for issue in issues]


def test_the_good_plan_is_valid_and_fills_defaults() -> None:
    plan, issues = validate_plan(GOOD)
    assert issues == []
    assert plan is not None
    assert plan.atomization.target_loc == 10
    assert plan.atomization.max_loc == 15
    assert plan.atomization.max_complexity == 3.0
    assert [t.id for t in plan.tasks()] == ["models", "money", "orders", "report"]
    assert plan.tasks()[0].complexity == "medium"
    assert plan.task_paths()["report"] == "phases[1].milestones[0].tasks[0]"


def _set(path: str, value: Any) -> Any:
    """A copy of GOOD with one field set; `path` is like `phases.0.name`."""
    data = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is _DELETE:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


_DELETE = object()

BAD_SHAPES = [
    ("version", 2, "version: unsupported version 2 (this MGE reads version 1)"),
    (
        "language",
        "cobol",
        "language: unknown language 'cobol' (known: javascript, python, tsx, typescript)",
    ),
    ("name", _DELETE, "name: field required"),
    ("colour", "blue", "colour: unknown field"),
    ("phases", [], "phases: must not be empty"),
    ("phases.0.milestones.1.tasks", [], "phases[0].milestones[1].tasks: must not be empty"),
    (
        "phases.0.milestones.0.tasks.0.files",
        [],
        "phases[0].milestones[0].tasks[0].files: must not be empty",
    ),
    (
        "phases.0.milestones.0.tasks.1.complexity",
        "hard",
        "phases[0].milestones[0].tasks[1].complexity: 'hard' is not one of "
        "'low', 'medium', 'high' or 'critical'",
    ),
    (
        "phases.1.milestones.0.tasks.0.id",
        "-report",
        "phases[1].milestones[0].tasks[0].id: '-report' is not a valid id "
        "(letters, digits, '_', '.', '-'; not first '.'/'-')",
    ),
    (
        "phases.0.milestones.0.tasks.0.depends_on",
        "money",
        "phases[0].milestones[0].tasks[0].depends_on: input should be a valid list",
    ),
    ("phases.0.milestones.0.name", _DELETE, "phases[0].milestones[0].name: field required"),
    (
        "atomization",
        {"target_loc": 20, "max_loc": 15},
        "atomization: target_loc 20 is above max_loc 15",
    ),
    (
        "atomization",
        {"max_loc": 0},
        "atomization.max_loc: input should be greater than or equal to 1",
    ),
    (
        "assets",
        [{"path": "shop/py.typed", "sha256": "ABC"}],
        "assets[0].sha256: 'ABC' is not a sha256 (64 lowercase hex digits)",
    ),
    ("assets", [{"path": "shop/py.typed", "size": 3}], "assets[0].size: unknown field"),
    ("support", "tests/helpers.py", "support: input should be a valid list"),
]


@pytest.mark.parametrize(("path", "value", "expected"), BAD_SHAPES)
def test_shape_errors_name_the_field(path: str, value: Any, expected: str) -> None:
    assert _errors(_set(path, value)) == [expected]


BAD_RULES = [
    (
        "phases.0.milestones.1.tasks.0.depends_on",
        ["models", "billing"],
        "phases[0].milestones[1].tasks[0].depends_on: unknown task 'billing'",
    ),
    (
        "phases.0.milestones.1.tasks.0.depends_on",
        ["orders"],
        "phases[0].milestones[1].tasks[0].depends_on: task 'orders' depends on itself",
    ),
    (
        "phases.0.milestones.1.tasks.0.depends_on",
        ["models", "models"],
        "phases[0].milestones[1].tasks[0].depends_on: task 'models' is listed twice",
    ),
    (
        "phases.1.milestones.0.tasks.0.id",
        "money",
        "phases[1].milestones[0].tasks[0].id: duplicate task id 'money' "
        "(first at phases[0].milestones[0].tasks[1])",
    ),
    (
        "phases.1.milestones.0.tasks.0.files",
        ["/etc/passwd"],
        "phases[1].milestones[0].tasks[0].files: '/etc/passwd' is absolute; "
        "paths are relative to the project root",
    ),
    (
        "phases.1.milestones.0.tasks.0.files",
        ["C:/shop/report.py"],
        "phases[1].milestones[0].tasks[0].files: 'C:/shop/report.py' is absolute; "
        "paths are relative to the project root",
    ),
    (
        "phases.1.milestones.0.tasks.0.files",
        ["shop/../../secrets.py"],
        "phases[1].milestones[0].tasks[0].files: 'shop/../../secrets.py' is outside the "
        "project root",
    ),
    (
        "phases.1.milestones.0.tasks.0.files",
        ["shop\\report.py"],
        "phases[1].milestones[0].tasks[0].files: 'shop\\\\report.py' uses backslashes; "
        "write POSIX paths with '/'",
    ),
    (
        "phases.1.milestones.0.tasks.0.files",
        ["shop/./report.py"],
        "phases[1].milestones[0].tasks[0].files: 'shop/./report.py' is not a normalized path",
    ),
    (
        "phases.1.milestones.0.tasks.0.files",
        ["shop/orders.py"],
        "phases[1].milestones[0].tasks[0].files: 'shop/orders.py' is already owned by "
        "task 'orders'",
    ),
    (
        "phases.1.milestones.0.tasks.0.tests",
        ["../tests/test_report.py"],
        "phases[1].milestones[0].tasks[0].tests: '../tests/test_report.py' is outside the "
        "project root",
    ),
    (
        "acceptance",
        ["tests/a.py", "tests/a.py"],
        "acceptance: 'tests/a.py' is listed twice",
    ),
    ("support", ["../data.csv"], "support: '../data.csv' is outside the project root"),
    (
        "support",
        ["tests/test_money.py"],
        "support: 'tests/test_money.py' is a test file of the plan already",
    ),
    ("support", ["shop/money.py"], "support: 'shop/money.py' is generated by task 'money'"),
    (
        "assets",
        ["shop/orders.py"],
        "assets[0].path: 'shop/orders.py' is generated by task 'orders'",
    ),
    (
        "assets",
        ["shop/py.typed", {"path": "shop/py.typed"}],
        "assets[1].path: 'shop/py.typed' is listed twice",
    ),
    (
        "assets",
        ["/etc/shadow"],
        "assets[0].path: '/etc/shadow' is absolute; paths are relative to the project root",
    ),
]


@pytest.mark.parametrize(("path", "value", "expected"), BAD_RULES)
def test_rule_errors_name_the_field(path: str, value: Any, expected: str) -> None:
    assert _errors(_set(path, value)) == [expected]


def test_a_dependency_on_a_later_phase_is_refused() -> None:
    data = copy.deepcopy(GOOD)
    _task(data, 1, 0, 0)["depends_on"] = []
    _task(data, 0, 0, 0)["depends_on"] = ["report"]
    assert _errors(data) == [
        "phases[0].milestones[0].tasks[0].depends_on: task 'report' is in a later phase (phases[1])"
    ]


def test_every_problem_is_reported_at_once() -> None:
    data = _set("phases.0.milestones.1.tasks.0.depends_on", ["billing", "invoices"])
    _task(data, 1, 0, 0)["files"] = ["/abs.py"]
    assert _errors(data) == [
        "phases[0].milestones[1].tasks[0].depends_on: unknown task 'billing'",
        "phases[0].milestones[1].tasks[0].depends_on: unknown task 'invoices'",
        "phases[1].milestones[0].tasks[0].files: '/abs.py' is absolute; "
        "paths are relative to the project root",
    ]


def test_a_cycle_is_shown_from_its_first_task() -> None:
    data = copy.deepcopy(GOOD)
    _task(data, 0, 0, 0)["depends_on"] = ["orders"]  # models -> orders -> models
    assert _errors(data) == [
        "phases[0].milestones[0].tasks[0].depends_on: dependency cycle models -> orders -> models"
    ]


def test_a_longer_cycle_and_a_separate_one_are_both_shown() -> None:
    data = copy.deepcopy(GOOD)
    _task(data, 0, 0, 0)["depends_on"] = ["money"]  # models -> money
    _task(data, 0, 0, 1)["depends_on"] = ["orders"]  # money -> orders -> models
    _task(data, 1, 0, 0)["depends_on"] = ["extra"]
    data["phases"][1]["milestones"][0]["tasks"].append(
        {"id": "extra", "name": "E", "files": ["e.py"], "depends_on": ["report"]}
    )
    assert _errors(data) == [
        "phases[0].milestones[0].tasks[0].depends_on: dependency cycle "
        "models -> money -> orders -> models",
        "phases[1].milestones[0].tasks[0].depends_on: dependency cycle report -> extra -> report",
    ]


def test_a_long_dependency_chain_is_checked_without_recursion() -> None:
    tasks = [
        {"id": f"t{i}", "name": "T", "files": [f"m/t{i}.py"], "depends_on": [f"t{i - 1}"]}
        for i in range(1, 5000)
    ]
    tasks.insert(0, {"id": "t0", "name": "T", "files": ["m/t0.py"], "depends_on": ["t4999"]})
    data = {
        "name": "long",
        "phases": [{"name": "P", "milestones": [{"name": "M", "tasks": tasks}]}],
    }
    errors = _errors(data)
    assert len(errors) == 1
    assert errors[0].startswith("phases[0].milestones[0].tasks[0].depends_on: dependency cycle t0 ")
    assert errors[0].count("->") == 5000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "a plan must be a mapping at the top level, got list"),
        ("", "a plan must be a mapping at the top level, got nothing"),
        (
            "name: x\nphases: [\n",
            "line 3, column 1: expected the node content, but found '<stream end>' "
            "(not valid YAML)",
        ),
        (
            "name: a\nname: b\nphases: []\n",
            "line 2, column 1: duplicate key 'name' (not valid YAML)",
        ),
    ],
)
def test_unreadable_text_gives_one_line(text: str, expected: str) -> None:
    with pytest.raises(PlanInvalid) as error:
        parse_plan(text, source="p.yaml")
    assert [str(i) for i in error.value.issues] == [expected]
    assert "\n" not in str(error.value)
    assert str(error.value) == f"p.yaml: {expected}"


def test_plan_invalid_is_a_plan_error_with_a_one_line_summary() -> None:
    data = _set("phases.0.milestones.1.tasks.0.depends_on", ["a", "b", "c"])
    with pytest.raises(PlanError) as error:
        parse_plan(json.dumps(data), source="shop.json")
    assert str(error.value) == (
        "shop.json: phases[0].milestones[1].tasks[0].depends_on: unknown task 'a' "
        "(and 2 more; see `mge plan check`)"
    )
    assert error.value.exit_code == 2


def test_yaml_and_json_files_read_the_same(tmp_path: Path) -> None:
    plan = Plan.model_validate(GOOD)
    (tmp_path / "p.yaml").write_text(dump_plan(plan))
    (tmp_path / "p.json").write_text(json.dumps(GOOD))
    assert load_plan(tmp_path / "p.yaml") == load_plan(tmp_path / "p.json") == plan


def test_a_json_file_with_a_syntax_error_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text('{"name": "x",\n "phases": [}\n')
    plan, issues = read_plan_file(tmp_path / "p.json")
    assert plan is None
    assert [str(i) for i in issues] == ["line 2, column 13: Expecting value"]


def test_a_missing_file_is_a_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"plan file not found: .*nope\.yaml"):
        load_plan(tmp_path / "nope.yaml")


def test_dump_round_trips_and_drops_empty_optional_fields() -> None:
    plan = Plan.model_validate(GOOD)
    text = dump_plan(plan)
    assert parse_plan(text) == plan
    assert "acceptance" not in text and "reference" not in text
    assert "    - id: models\n      name: Models\n      files: [shop/models.py]\n" in text
    assert "atomization: {target_loc: 10, max_loc: 15, max_complexity: 3.0}\n" in text


def test_dump_keeps_multi_line_text_readable() -> None:
    data = copy.deepcopy(GOOD)
    _task(data, 0, 0, 0)["description"] = "First line.\nSecond line: with a colon."
    data["acceptance"] = ["tests/test_all.py"]
    data["reference"] = "ref"
    plan = Plan.model_validate(data)
    text = dump_plan(plan)
    assert "description: |-\n        First line.\n        Second line: with a colon.\n" in text
    assert parse_plan(text) == plan


def test_reference_files_must_exist(tmp_path: Path) -> None:
    data = copy.deepcopy(GOOD)
    data["reference"] = "ref"
    data["acceptance"] = ["tests/test_money.py"]
    _, issues = validate_plan(data, plan_dir=tmp_path)
    assert [str(i) for i in issues] == ["reference: directory not found: 'ref'"]
    for rel in ["shop/models.py", "shop/money.py", "shop/orders.py", "tests/test_money.py"]:
        (tmp_path / "ref" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "ref" / rel).write_text("")
    _, issues = validate_plan(data, plan_dir=tmp_path)
    assert [str(i) for i in issues] == [
        "phases[1].milestones[0].tasks[0].files: 'shop/report.py' not found in the reference"
    ]


def test_copied_files_round_trip_and_a_bare_asset_path_is_read() -> None:
    digest = "0123456789abcdef" * 4
    data = copy.deepcopy(GOOD)
    data["support"] = ["tests/helpers.py", "tests/data/cases.csv"]
    data["assets"] = ["shop/py.typed", {"path": "shop/table.json", "sha256": digest}]
    plan = Plan.model_validate(data)
    assert [(a.path, a.sha256) for a in plan.assets] == [
        ("shop/py.typed", None),
        ("shop/table.json", digest),
    ]
    text = dump_plan(plan)
    assert f"- path: shop/py.typed\n- path: shop/table.json\n  sha256: {digest}\n" in text
    assert parse_plan(text) == plan
    assert check_plan(plan) == []


def test_support_files_and_assets_must_be_the_reference_s(tmp_path: Path) -> None:
    data = copy.deepcopy(GOOD)
    data["reference"] = "ref"
    data["support"] = ["tests/helpers.py"]
    data["assets"] = [
        {"path": "shop/table.json", "sha256": mge.plan.file_sha256(Path(__file__))},
        "shop/py.typed",
    ]
    for rel in [*(f"shop/{m}.py" for m in ("models", "money", "orders", "report")), "tests/t.py"]:
        (tmp_path / "ref" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "ref" / rel).write_text("")
    (tmp_path / "ref" / "tests" / "t.py").rename(tmp_path / "ref" / "tests" / "test_money.py")
    (tmp_path / "ref" / "shop" / "table.json").write_text("{}")
    _, issues = validate_plan(data, plan_dir=tmp_path)
    assert [str(i) for i in issues] == [
        "support: 'tests/helpers.py' not found in the reference",
        "assets[0]: 'shop/table.json' is not the planned file (its sha256 differs) in the"
        " reference",
        "assets[1]: 'shop/py.typed' not found in the reference",
    ]
    data["assets"][0]["sha256"] = mge.plan.file_sha256(tmp_path / "ref" / "shop" / "table.json")
    (tmp_path / "ref" / "shop" / "py.typed").write_text("")
    (tmp_path / "ref" / "tests" / "helpers.py").write_text("")
    assert validate_plan(data, plan_dir=tmp_path)[1] == []


def test_check_plan_is_pure_and_accepts_a_built_plan() -> None:
    plan = Plan.model_validate(GOOD)
    plan.phases[0].milestones[0].tasks[0].depends_on.append("nowhere")
    assert [str(i) for i in check_plan(plan)] == [
        "phases[0].milestones[0].tasks[0].depends_on: unknown task 'nowhere'"
    ]


def test_schema_describes_the_contract_fields() -> None:
    schema = plan_json_schema()
    assert schema["title"] == "MGE masterplan"
    assert set(schema["required"]) == {"name", "phases"}
    assert schema["properties"]["language"]["enum"] == ["python", "typescript", "tsx", "javascript"]
    assert schema["properties"]["test_runner"]["enum"] == ["node", "vitest", "jest"]
    assert "test_runner" not in schema["required"]
    task = schema["$defs"]["Task"]
    assert set(task["properties"]) == {
        "id",
        "name",
        "description",
        "files",
        "depends_on",
        "complexity",
        "interface",
        "tests",
    }
    assert task["properties"]["complexity"]["enum"] == ["low", "medium", "high", "critical"]
    assert task["additionalProperties"] is False
    assert set(schema["$defs"]["Atomization"]["properties"]) == {
        "target_loc",
        "max_loc",
        "max_complexity",
    }
    assert schema["properties"]["support"]["items"] == {"type": "string"}
    asset = schema["$defs"]["Asset"]
    assert asset["required"] == ["path"] and set(asset["properties"]) == {"path", "sha256"}


def test_public_api_is_pinned() -> None:
    assert sorted(mge.plan.__all__) == sorted(
        [
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
    )
    for name in mge.plan.__all__:
        assert hasattr(mge.plan, name)


def test_a_test_runner_is_for_typescript_and_javascript_plans() -> None:
    text = "name: p\nlanguage: python\ntest_runner: vitest\n" + (
        "phases:\n- name: A\n  milestones:\n  - name: M\n    tasks:\n"
        "    - {id: a, name: A, files: [a.py]}\n"
    )
    with pytest.raises(PlanInvalid, match="test_runner: vitest runs TypeScript or JavaScript"):
        parse_plan(text)
    plan = parse_plan(text.replace("python", "typescript").replace("a.py", "a.ts"))
    assert plan.test_runner == "vitest"
    assert "test_runner: vitest" in dump_plan(plan)
