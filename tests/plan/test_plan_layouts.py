"""`plan from-code` on every common project layout, against golden plans.

Each folder of `fixtures/layouts` is a small real project; `<name>.plan.yaml` beside
them is the plan `from_code` makes of it with the plan written into that folder
(so `reference` is the project's folder name). Set MGE_UPDATE_GOLDEN=1 to rewrite
them after a deliberate change, then read the diff.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mge.cli.app import app
from mge.plan import check_plan, dump_plan, from_code

LAYOUTS = Path(__file__).parent / "fixtures" / "layouts"
MGE = Path(sys.executable).parent / "mge"
runner = CliRunner()

# name: (SRC, --tests or None), relative to LAYOUTS; the golden is <name>.plan.yaml.
CASES: dict[str, tuple[str, str | None]] = {
    "src_layout": ("src_layout/src/shapes", "src_layout/tests"),
    "tests_inside": ("tests_inside/clock", None),
    "namespace": ("namespace/plugins", None),
    "single_module": ("single_module/tool.py", "single_module/test_tool.py"),
    "empty_files": ("empty_files/marks", None),
    "with_assets": ("with_assets/units", "with_assets/tests"),
}
# Other ways to point at the same projects, which must give the same plans.
SAME_AS: dict[str, tuple[str, str | None]] = {
    "src_layout": ("src_layout", None),
    "namespace": ("namespace", None),
}


def _plan_text(src: str, tests: str | None) -> str:
    plan = from_code(LAYOUTS / src, tests=LAYOUTS / tests if tests else None, plan_dir=LAYOUTS)
    assert check_plan(plan) == []
    return dump_plan(plan)


@pytest.mark.parametrize("name", sorted(CASES))
def test_layout_gives_the_golden_plan(name: str) -> None:
    text = _plan_text(*CASES[name])
    golden = LAYOUTS / f"{name}.plan.yaml"
    if os.environ.get("MGE_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


@pytest.mark.parametrize("name", sorted(SAME_AS))
def test_the_project_folder_gives_the_same_plan(name: str) -> None:
    assert _plan_text(*SAME_AS[name]) == (LAYOUTS / f"{name}.plan.yaml").read_text()


def test_what_each_layout_plans() -> None:
    """The goldens say what they should: checked here so a regenerated golden that
    lost a test or a dependency fails."""

    def load(name: str) -> dict[str, dict[str, object]]:
        data = yaml.safe_load((LAYOUTS / f"{name}.plan.yaml").read_text())
        return {
            task["id"]: task
            for phase in data["phases"]
            for milestone in phase["milestones"]
            for task in milestone["tasks"]
        }

    src = load("src_layout")
    assert src["shapes.area"]["files"] == ["src/shapes/area.py"]
    assert src["shapes.area"]["tests"] == ["tests/test_area.py"]
    inside = load("tests_inside")
    assert inside["clock.ticks"]["tests"] == ["clock/test_module.py", "clock/tests/test_ticks.py"]
    assert set(inside) == {"clock", "clock.ticks"}  # test code is no task
    namespace = load("namespace")
    assert namespace["plugins.shout"]["depends_on"] == ["plugins.text.upper"]
    single = load("single_module")
    assert single["tool"]["tests"] == ["test_tool.py"]
    assert set(load("empty_files")) == {"marks", "marks.blank", "marks.doc", "marks.notes"}
    assert set(load("with_assets")) == {"units", "units.convert"}  # helpers are no task


def test_files_that_are_not_generated_are_copied_with_their_hash() -> None:
    """The test helper, its data and the configuration go with the suite; the
    package's data, marker and stub go with the package, each with its sha256."""
    plan = yaml.safe_load((LAYOUTS / "with_assets.plan.yaml").read_text())
    assert plan["support"] == ["pyproject.toml", "tests/data/cases.csv", "tests/helpers.py"]
    root = LAYOUTS / "with_assets"
    assert plan["assets"] == [
        {"path": path, "sha256": hashlib.sha256((root / path).read_bytes()).hexdigest()}
        for path in ("units/convert.pyi", "units/factors.json", "units/py.typed")
    ]
    assert plan["acceptance"] == ["tests/test_convert.py"]


@pytest.mark.parametrize("name", ["src_layout", "single_module"])
def test_the_cli_writes_the_same_plan(name: str, tmp_path: Path) -> None:
    src, tests = CASES[name]
    out = tmp_path / "plan.yaml"
    args = ["plan", "from-code", str(LAYOUTS / src), "-o", str(out)]
    if tests:
        args += ["--tests", str(LAYOUTS / tests)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    written = yaml.safe_load(out.read_text())
    golden = yaml.safe_load((LAYOUTS / f"{name}.plan.yaml").read_text())
    assert (tmp_path / written.pop("reference")).resolve() == (
        LAYOUTS / golden.pop("reference")
    ).resolve()
    assert written == golden


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["single_module/tool.py", "--tests", "single_module/nope.py"], "tests not found: "),
        (["src_layout/src/shapes", "--tests", "tests_inside/clock/tests"], "are outside the"),
        (["empty_files/marks/notes.py", "--tests", "src_layout/tests"], "are outside the"),
        (["single_module/tool.py", "--support", "src_layout/tests"], "is not inside the"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(
    args: list[str], message: str, tmp_path: Path
) -> None:
    paths = [arg if arg.startswith("-") else str(LAYOUTS / arg) for arg in args]
    result = subprocess.run(
        [str(MGE), "plan", "from-code", *paths, "-o", str(tmp_path / "p.yaml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode != 0
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "p.yaml").exists()
