"""Running a generated project's tests: outcomes, collection errors, per-test timeouts."""

from __future__ import annotations

from pathlib import Path

from mge.validate.testing import run_pytest


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
