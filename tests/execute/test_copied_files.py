"""Files a project needs that are not generated code reach the output, end to end.

The project (`tests/plan/fixtures/layouts/with_assets`) has a suite that imports a
helper module by bare name and reads a CSV beside it, a package that loads its
factors from a JSON data file at import, a `py.typed` marker and a `.pyi` stub.
`mge plan from-code` names them (`support`, `assets`) and `mge run` copies them,
so every level of validation and the final test run see the project whole.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.execute.conftest import mge_cli

from mge.db import make_engine, migrate
from mge.db.models import GenerationRun, ValidationLevel, ValidationResult
from mge.errors import PlanError
from mge.execute import build_settings, create_run

FIXTURE = Path(__file__).resolve().parents[1] / "plan" / "fixtures" / "layouts" / "with_assets"
COPIED = (
    "pyproject.toml",
    "tests/helpers.py",
    "tests/data/cases.csv",
    "units/factors.json",
    "units/py.typed",
    "units/convert.pyi",
)


def _planned(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project)
    plan = tmp_path / "plan" / "plan.yaml"
    done = mge_cli(
        "plan", "from-code", "project/units", "--tests", "project/tests", "-o", str(plan),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return plan


def test_the_suite_runs_on_the_output_with_its_helpers_data_and_package_files(
    tmp_path: Path,
) -> None:
    plan = _planned(tmp_path)
    database = f"sqlite:///{tmp_path / 'mge.db'}"
    out = tmp_path / "out"
    done = mge_cli(
        "run", str(plan), "--fault-rate", "0", "--no-mutation", "--json", "--quiet",
        "--db", database, "--out", str(out),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "completed"
    # Four cases read from the CSV by the helper, and the py.typed check.
    assert report["tests"] == {"total": 5, "passed": 5, "failed": 0}
    for path in COPIED:
        assert (out / path).read_bytes() == (FIXTURE / path).read_bytes(), path
    engine = make_engine(database)
    try:
        with Session(engine) as session:
            levels = session.execute(
                select(ValidationResult.level, ValidationResult.passed).where(
                    ValidationResult.level != ValidationLevel.ATOMIC
                )
            ).all()
    finally:
        engine.dispose()
    # The module, component and system levels ran the suite and it passed.
    assert {level for level, _ in levels} == {
        ValidationLevel.MODULE,
        ValidationLevel.COMPONENT,
        ValidationLevel.SYSTEM,
    }
    assert all(passed for _, passed in levels)


def test_an_asset_changed_since_planning_stops_the_run_before_it_starts(
    tmp_path: Path,
) -> None:
    plan = _planned(tmp_path)
    (tmp_path / "project" / "units" / "factors.json").write_text('{"m": 2.0}\n')
    done = mge_cli(
        "run", str(plan), "--db", f"sqlite:///{tmp_path / 'mge.db'}",
        "--out", str(tmp_path / "out"), "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.endswith(
        "assets[1]: 'units/factors.json' is not the planned file (its sha256 differs)"
        " in the reference"
    )
    assert not (tmp_path / "out").exists()


def test_a_run_reading_its_inputs_elsewhere_needs_them_there(tmp_path: Path) -> None:
    """With `tests_dir` the inputs come from another folder: one that lacks a
    support file, or holds another asset, is refused before the run is stored."""
    plan = _planned(tmp_path)
    inputs = tmp_path / "inputs"
    shutil.copytree(FIXTURE, inputs)
    (inputs / "tests" / "helpers.py").unlink()
    url = f"sqlite:///{tmp_path / 'mge.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    settings = build_settings(out_dir=str(tmp_path / "out"), tests_dir=str(inputs))
    try:
        with pytest.raises(PlanError, match=r"^support file 'tests/helpers.py' not found in "):
            create_run(engine, plan, settings)
        shutil.copy(FIXTURE / "tests" / "helpers.py", inputs / "tests" / "helpers.py")
        (inputs / "units" / "py.typed").write_text("partial\n")
        with pytest.raises(PlanError, match=r"^asset 'units/py.typed' is not the planned file"):
            create_run(engine, plan, settings)
        with Session(engine) as session:
            assert session.scalars(select(GenerationRun)).all() == []
    finally:
        engine.dispose()
