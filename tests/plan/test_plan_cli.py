"""`mge plan schema|check|from-code`, driven through the real `mge` app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from mge.cli.app import app
from mge.errors import PlanError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PLAN = ROOT / "examples" / "inventory" / "plan.yaml"
MGE = Path(sys.executable).parent / "mge"

runner = CliRunner()

BAD_PLAN = """\
version: 1
name: broken
language: cobol
phases:
  - name: Core
    milestones:
      - name: Domain
        tasks:
          - id: models
            name: Models
            files: [../models.py]
            depends_on: [billing]
"""


def test_schema_prints_the_json_schema() -> None:
    result = runner.invoke(app, ["plan", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "MGE masterplan"
    assert "Task" in schema["$defs"]


def test_check_summarises_a_valid_plan() -> None:
    result = runner.invoke(app, ["plan", "check", str(EXAMPLE_PLAN)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"{EXAMPLE_PLAN}: valid plan 'inventory': "
        "6 phases, 6 milestones, 13 tasks, 13 files, 12 tests"
    )


def test_check_json_on_a_valid_plan() -> None:
    result = runner.invoke(app, ["plan", "check", "--json", str(EXAMPLE_PLAN)])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report == {
        "path": str(EXAMPLE_PLAN),
        "valid": True,
        "errors": [],
        "name": "inventory",
        "phases": 6,
        "milestones": 6,
        "tasks": 13,
        "files": 13,
        "tests": 12,
    }


def test_check_prints_every_error_on_its_own_line_and_exits_2(tmp_path: Path) -> None:
    plan = tmp_path / "bad.yaml"
    plan.write_text(BAD_PLAN)
    result = runner.invoke(app, ["plan", "check", str(plan)])
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        "language: unknown language 'cobol' (known: javascript, python, tsx, typescript)"
    ]
    plan.write_text(BAD_PLAN.replace("cobol", "python"))
    result = runner.invoke(app, ["plan", "check", str(plan)])
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        "phases[0].milestones[0].tasks[0].depends_on: unknown task 'billing'",
        "phases[0].milestones[0].tasks[0].files: '../models.py' is outside the project root",
    ]


def test_check_json_on_an_invalid_plan(tmp_path: Path) -> None:
    plan = tmp_path / "bad.yaml"
    plan.write_text(BAD_PLAN)
    result = runner.invoke(app, ["plan", "check", "--json", str(plan)])
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "path": str(plan),
        "valid": False,
        "errors": [
            {
                "path": "language",
                "message": "unknown language 'cobol' (known: javascript, python, tsx, typescript)",
            }
        ],
    }


def test_check_of_a_missing_file_is_a_plan_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["plan", "check", str(tmp_path / "none.yaml")])
    assert isinstance(result.exception, PlanError)
    assert "plan file not found" in str(result.exception)


def test_the_installed_command_reports_one_line_and_exit_code(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(MGE), "plan", "check", str(tmp_path / "none.yaml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: plan file not found: {tmp_path / 'none.yaml'}"
    assert "Traceback" not in result.stderr


def test_from_code_writes_a_plan_that_checks(tmp_path: Path) -> None:
    src = tmp_path / "proj"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "__init__.py").write_text("")
    (src / "pkg" / "a.py").write_text("X = 1\n")
    (src / "pkg" / "b.py").write_text("from pkg.a import X\n")
    (src / "checks").mkdir()
    (src / "checks" / "test_b.py").write_text("from pkg.b import X\n")
    out = tmp_path / "plans" / "p.yaml"
    result = runner.invoke(
        app,
        [
            "plan",
            "from-code",
            str(src),
            "--tests",
            str(src / "checks"),
            "--name",
            "demo",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"wrote {out}: 2 phases, 2 milestones, 3 tasks, 3 files, 1 test"
    )
    text = out.read_text()
    assert "name: demo\n" in text and "reference: ../proj\n" in text
    check = runner.invoke(app, ["plan", "check", str(out)])
    assert check.exit_code == 0, check.output


def test_from_code_on_a_real_package_then_check(tmp_path: Path) -> None:
    import h11

    out = tmp_path / "h11.yaml"
    result = runner.invoke(
        app, ["plan", "from-code", str(Path(h11.__file__).parent), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "modules in import cycles" in result.stdout
    check = runner.invoke(app, ["plan", "check", "--json", str(out)])
    assert check.exit_code == 0, check.output
    report = json.loads(check.stdout)
    assert report["valid"] is True
    assert report["tasks"] == report["files"] == len(list(Path(h11.__file__).parent.glob("*.py")))


def test_from_code_on_a_missing_source_is_a_plan_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["plan", "from-code", str(tmp_path / "nope"), "-o", str(tmp_path / "p.yaml")]
    )
    assert isinstance(result.exception, PlanError)
    assert not (tmp_path / "p.yaml").exists()
