"""Running a generated project's tests: outcomes, collection errors, per-test timeouts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mge.validate.testing import project_config, run_pytest


def _project(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_one_endless_test_fails_alone(tmp_path: Path) -> None:
    _project(
        tmp_path,
        {
            "tests/test_a.py": "def test_ok():\n    assert 2 + 2 == 4\n\n\n"
            "def test_endless():\n    while True:\n        pass\n",
        },
    )
    outcome = run_pytest(tmp_path, ["tests/test_a.py"], timeout=60, per_test_timeout=1)
    assert (outcome.total, outcome.passed, outcome.failed) == (2, 1, 1)
    assert not outcome.timed_out
    (failure,) = outcome.failures
    assert failure.nodeid == "tests/test_a.py::test_endless"
    assert "longer than 1 s" in failure.message


def test_a_file_that_cannot_be_imported_does_not_hide_the_others(tmp_path: Path) -> None:
    _project(
        tmp_path,
        {
            "tests/test_good.py": "def test_fine():\n    assert True\n",
            "tests/test_broken.py": "import no_such_module\n\n\ndef test_x():\n    pass\n",
        },
    )
    outcome = run_pytest(tmp_path, ["tests/test_good.py", "tests/test_broken.py"], timeout=60)
    assert outcome.passed == 1 and outcome.failed == 1
    assert not outcome.collection_error
    # The file that could not be imported is told apart from failing tests: blame
    # looks for code that fails at import in its traceback (issue 19).
    [failure] = outcome.failures
    assert failure.collection and failure.test == "tests/test_broken.py"
    assert "no_such_module" in failure.text


def test_a_conftest_that_cannot_be_imported_is_a_collection_failure(tmp_path: Path) -> None:
    _project(
        tmp_path,
        {
            "tests/conftest.py": "import no_such_module\n",
            "tests/test_good.py": "def test_fine():\n    assert True\n",
        },
    )
    outcome = run_pytest(tmp_path, ["tests/test_good.py"], timeout=60)
    assert outcome.collection_error and outcome.passed == 0
    assert [f.collection for f in outcome.failures] == [True]
    assert "no_such_module" in outcome.failures[0].text


def test_coverage_is_recorded_per_test_only_for_project_files(tmp_path: Path) -> None:
    _project(
        tmp_path,
        {
            "calc.py": "def double(x):\n    return 2 * x\n",
            "tests/test_calc.py": "from calc import double\n\n\n"
            "def test_double():\n    assert double(2) == 4\n",
        },
    )
    outcome = run_pytest(tmp_path, ["tests/test_calc.py"], timeout=60, coverage=True)
    assert outcome.verdicts == {"tests/test_calc.py::test_double": True}
    assert outcome.coverage["tests/test_calc.py::test_double"]["calc.py"] == [1, 2]


CONFIGURED = Path(__file__).parent / "fixtures" / "configured"
_SUMMARY = re.compile(r"^(PASSED|FAILED|ERROR|XPASS|XFAIL) (\S+)", re.MULTILINE)


def _independent_run(project: Path) -> tuple[dict[str, str], int]:
    """The project's suite as its developers run it: `python -m pytest` in the
    project, no arguments, in an environment without MGE's plugins. Returns each
    test's outcome and the number skipped."""
    env = {key: os.environ[key] for key in ("PATH", "LANG") if key in os.environ}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    outcomes: dict[str, str] = {}
    for kind, nodeid in _SUMMARY.findall(result.stdout):
        outcomes[nodeid] = "failed" if "failed" in (outcomes.get(nodeid), kind.lower()) else kind
    skipped = re.search(r"(\d+) skipped", result.stdout)
    return outcomes, int(skipped.group(1)) if skipped else 0


def test_the_project_runs_as_its_developers_run_it(tmp_path: Path) -> None:
    """setup.cfg sets filterwarnings = error, two python_files patterns, testpaths
    and --doctest-modules; a conftest fixture, unittest classes and a test that
    fails if MGE's plugins or settings reach it. MGE's count must equal an
    independent `python -m pytest` run's, test by test."""
    project = tmp_path / "configured"
    shutil.copytree(CONFIGURED, project)
    planned = [
        "tests/test_area.py",
        "tests/test_unit.py",
        "tests/check_area.py",
        "tests/scratch_notes.py",  # planned, but not one of the `python_files`
        "extra/test_outside.py",  # planned, but outside the `testpaths`
    ]
    outcome = run_pytest(
        project, planned, timeout=120, modules=["shapes/__init__.py", "shapes/area.py"]
    )
    expected, skipped = _independent_run(project)
    assert expected, "the independent run found no tests"
    mine = {nodeid: "PASSED" if ok else "failed" for nodeid, ok in outcome.verdicts.items()}
    theirs = {
        nodeid: "failed" if kind in ("FAILED", "ERROR") else kind
        for nodeid, kind in expected.items()
    }
    assert mine == theirs
    assert outcome.skipped == skipped == 1
    assert (outcome.total, outcome.passed, outcome.failed) == (9, 8, 1)
    assert "shapes/area.py::shapes.area.square" in outcome.verdicts
    assert "tests/test_unit.py::RectangleTest::test_wide" in outcome.verdicts
    (failure,) = outcome.failures
    assert failure.nodeid == "tests/test_area.py::test_a_known_bug"


def test_doctests_run_only_when_the_configuration_asks(tmp_path: Path) -> None:
    project = tmp_path / "configured"
    shutil.copytree(CONFIGURED, project)
    config = project / "setup.cfg"
    config.write_text(config.read_text().replace("addopts = --doctest-modules\n", ""))
    outcome = run_pytest(project, ["tests/check_area.py"], timeout=60, modules=["shapes/area.py"])
    assert list(outcome.verdicts) == ["tests/check_area.py::test_zero"]


_WARNINGS_ARE_ERRORS = {
    "pytest.ini": "[pytest]\nfilterwarnings = error\n",
    "pyproject.toml": '[tool.pytest.ini_options]\nfilterwarnings = ["error"]\n',
    "tox.ini": "[tox]\nenvlist = py311\n\n[pytest]\nfilterwarnings = error\n",
    "setup.cfg": "[metadata]\nname = x\n\n[tool:pytest]\nfilterwarnings = error\n",
}


@pytest.mark.parametrize("config", sorted(_WARNINGS_ARE_ERRORS))
def test_each_kind_of_configuration_file_is_honoured(tmp_path: Path, config: str) -> None:
    _project(
        tmp_path,
        {
            config: _WARNINGS_ARE_ERRORS[config],
            "tests/test_w.py": "import warnings\n\nimport pytest\n\n\n"
            "def test_warnings_are_errors():\n"
            "    with pytest.raises(UserWarning):\n"
            "        warnings.warn('boom', UserWarning, stacklevel=1)\n",
        },
    )
    assert project_config(tmp_path).inifile == tmp_path / config
    outcome = run_pytest(tmp_path, ["tests/test_w.py"], timeout=60)
    assert (outcome.passed, outcome.failed) == (1, 0)


def test_without_a_configuration_file_warnings_stay_warnings(tmp_path: Path) -> None:
    _project(
        tmp_path,
        {
            "tests/test_w.py": "import warnings\n\n\ndef test_warns():\n"
            "    warnings.warn('boom', UserWarning, stacklevel=1)\n",
        },
    )
    assert project_config(tmp_path).inifile is None
    outcome = run_pytest(tmp_path, ["tests/test_w.py"], timeout=60)
    assert (outcome.passed, outcome.failed) == (1, 0)


def test_without_a_configuration_file_conftest_fixtures_still_load(tmp_path: Path) -> None:
    _project(
        tmp_path,
        {
            "conftest.py": "import pytest\n\n\n@pytest.fixture\ndef top():\n    return 1\n",
            "tests/conftest.py": "import pytest\n\n\n@pytest.fixture\ndef inner():\n    return 2\n",
            "tests/test_f.py": "def test_fixtures(top, inner):\n    assert top + inner == 3\n",
        },
    )
    outcome = run_pytest(tmp_path, ["tests/test_f.py"], timeout=60)
    assert (outcome.passed, outcome.failed) == (1, 0), outcome.failures


def test_subtests_count_as_their_test_and_a_failing_one_fails_it(tmp_path: Path) -> None:
    """unittest's `subTest` blocks report on their own; a test is still one test
    (as pytest counts it), failed when one of its blocks fails."""
    _project(
        tmp_path,
        {
            "tests/test_sub.py": (
                "import unittest\n\n\n"
                "class T(unittest.TestCase):\n"
                "    def test_all_even(self):\n"
                "        for n in (2, 4, 6):\n"
                "            with self.subTest(n=n):\n"
                "                self.assertEqual(n % 2, 0)\n\n"
                "    def test_one_odd(self):\n"
                "        for n in (2, 3, 4):\n"
                "            with self.subTest(n=n):\n"
                "                self.assertEqual(n % 2, 0)\n"
            )
        },
    )
    outcome = run_pytest(tmp_path, ["tests/test_sub.py"], timeout=120)
    assert not outcome.tampered
    assert (outcome.total, outcome.passed, outcome.failed) == (2, 1, 1)
    assert [f.test for f in outcome.failures] == ["tests/test_sub.py::T::test_one_odd"]
