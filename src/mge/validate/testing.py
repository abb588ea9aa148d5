"""Running a generated project's tests in the sandbox and reading the outcome.

The tests run the way the project's own developers run them: `python -m pytest` in
the project directory, with the project's configuration (`pytest.ini`,
`pyproject.toml`, `tox.ini` or `setup.cfg`: `addopts`, `filterwarnings`,
`testpaths`, `python_files`, conftest files) and nothing of MGE's: plugin
auto-loading is off (MGE's environment has plugins the project never asked for),
the interpreter ignores user site-packages and MGE's environment variables, and
the sandbox shows no configuration file above the project. Only MGE's own two
plugins are loaded, by name: the per-test time limit and the reporter.

The verdict comes from the reporter, one line per test phase as it happens, over
a pipe only MGE reads (see `_report_plugin`). Nothing the tests leave in the
project directory is read. Counts are per test (a test whose setup, call or
teardown failed is one failed test); a file that cannot be collected is one
failure; a stream that was forged, repeated, written to after the session ended,
or that stops before the session ended, fails the run.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import shlex
import shutil
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mge.validate.sandbox import Limits, SandboxResult, run_python

_REPORTER = Path(__file__).with_name("_report_plugin.py")
_REPORTER_MODULE = "mge_report_plugin"
_GUARD = Path(__file__).with_name("_guard_plugin.py")
_GUARD_MODULE = "mge_guard_plugin"


@dataclass
class TestFailure:
    __test__ = False  # not a pytest class

    test: str
    message: str
    text: str
    nodeid: str = ""
    #: The failure happened before any test ran: a file could not be collected
    #: (imported), or the session stopped while collecting (a conftest).
    collection: bool = False


@dataclass
class TestOutcome:
    __test__ = False  # not a pytest class

    total: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    timed_out: bool = False
    collection_error: bool = False
    #: The report stream was not this run's reporter's alone (see the module doc).
    tampered: bool = False
    failures: list[TestFailure] = field(default_factory=list)
    coverage: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    verdicts: dict[str, bool] = field(default_factory=dict)
    output: str = ""
    duration_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.failed == 0
            and not self.timed_out
            and not self.collection_error
            and not self.tampered
        )

    def to_dict(self) -> dict[str, int]:
        return {"total": self.total, "passed": self.passed, "failed": self.failed}


@dataclass(frozen=True)
class ProjectConfig:
    """The project's own pytest configuration, as far as MGE needs to know it."""

    inifile: Path | None
    addopts: tuple[str, ...] = ()

    @property
    def doctest_modules(self) -> bool:
        return "--doctest-modules" in self.addopts


def project_config(root: Path) -> ProjectConfig:
    """The configuration file pytest would choose in `root`, in pytest's order of
    precedence, and its `addopts`."""
    for name in ("pytest.ini", ".pytest.ini"):
        path = root / name
        if path.is_file():
            return ProjectConfig(path, _ini_addopts(path, "pytest"))
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            tool = {}
        section = tool.get("pytest", {})
        options = section.get("ini_options", section) if isinstance(section, dict) else None
        if isinstance(options, dict) and "pytest" in tool:
            addopts = options.get("addopts", "")
            split = shlex.split(addopts) if isinstance(addopts, str) else list(addopts)
            return ProjectConfig(pyproject, tuple(str(part) for part in split))
    for name, section_name in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        path = root / name
        if path.is_file() and _has_section(path, section_name):
            return ProjectConfig(path, _ini_addopts(path, section_name))
    return ProjectConfig(None)


def _parser(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    with contextlib.suppress(configparser.Error, UnicodeDecodeError):
        parser.read(path, encoding="utf-8")
    return parser


def _has_section(path: Path, section: str) -> bool:
    return _parser(path).has_section(section)


def _ini_addopts(path: Path, section: str) -> tuple[str, ...]:
    parser = _parser(path)
    if not parser.has_section(section):
        return ()
    return tuple(shlex.split(parser.get(section, "addopts", fallback="")))


def run_pytest(
    root: Path,
    tests: list[str],
    *,
    timeout: float = 300.0,
    coverage: bool = False,
    select: list[str] | None = None,
    per_test_timeout: float = 30.0,
    modules: list[str] | None = None,
) -> TestOutcome:
    """Run `tests` (paths relative to `root`) with pytest in the sandbox.

    Only the tests the project's configuration collects count: a planned test file
    its `python_files` or `testpaths` leave out is not run. `modules` are source
    files whose doctests are collected too when the configuration asks for
    doctests (`--doctest-modules`). A test running longer than `per_test_timeout`
    seconds fails on its own; `timeout` bounds the whole run.
    """
    if not tests:
        return TestOutcome()
    root = root.resolve()
    config = project_config(root)
    targets = list(select if select else tests)
    if config.doctest_modules and not select:
        targets += [m for m in modules or () if m.endswith(".py") and m not in targets]
    with tempfile.TemporaryDirectory(prefix="mge-plugins-") as plugins_name:
        plugins = Path(plugins_name)
        shutil.copyfile(_GUARD, plugins / f"{_GUARD_MODULE}.py")
        shutil.copyfile(_REPORTER, plugins / f"{_REPORTER_MODULE}.py")
        args = ["-m", "pytest", "-q", "--tb=long", "--rootdir", str(root)]
        if config.inifile is None:
            # No file of the project's own: pytest must not go looking above it.
            empty = plugins / "pytest.ini"
            empty.write_text("[pytest]\n", encoding="utf-8")
            args += ["-c", str(empty)]
        args += ["-p", "no:cacheprovider", "-p", _GUARD_MODULE, "-p", _REPORTER_MODULE]
        args += ["--continue-on-collection-errors", "--", *targets]
        result = run_python(
            args,
            cwd=root,
            # A src layout's packages are imported from `src/`, as an editable
            # install would have them.
            pythonpath=[plugins, *([root / "src"] if (root / "src").is_dir() else [])],
            limits=Limits(timeout_seconds=timeout, cpu_seconds=int(timeout) + 5),
            extra_env={
                "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                "MGE_TEST_TIMEOUT": str(per_test_timeout),
                "MGE_SCOPE": "1",
                **({"MGE_TRACE_ROOT": str(root)} if coverage else {}),
            },
            report=True,
        )
    return read_outcome(result, len(targets))


@dataclass
class _Test:
    outcome: str = "passed"
    done: bool = False
    failure: TestFailure | None = None
    lines: dict[str, list[int]] | None = None


def read_outcome(result: SandboxResult, planned: int) -> TestOutcome:
    """The outcome of a sandboxed pytest run, from its report stream only."""
    outcome = TestOutcome(
        timed_out=result.timed_out,
        output=(result.stdout + result.stderr)[-6000:],
        duration_seconds=result.duration_seconds,
    )
    tests: dict[str, _Test] = {}
    uncollected: list[TestFailure] = []
    seen: set[tuple[str, str]] = set()
    status: int | None = None
    problem = ""
    for number, line in enumerate(result.report.decode("utf-8", errors="replace").splitlines()):
        record = _record(line)
        if record is None or record.get("k") != result.report_key or record.get("n") != number:
            problem = "a report line did not come from MGE's reporter"
            break
        if status is not None:
            problem = "the report was written to after the test session ended"
            break
        kind = record.get("t")
        nodeid = str(record.get("id", ""))
        if kind == "end":
            status = int(record.get("status", -1))
        elif kind == "collect":
            failure = _failure(nodeid, record, "could not be collected")
            failure.collection = True
            uncollected.append(failure)
        elif kind == "test":
            phase = (nodeid, str(record.get("when")))
            if phase in seen or tests.get(nodeid, _Test()).done:
                problem = f"{nodeid} was reported twice"
                break
            seen.add(phase)
            _phase(tests.setdefault(nodeid, _Test()), record)
        elif kind == "subtest":
            # A failing block of a test's subtests fails the test; it is not a test.
            _phase(tests.setdefault(nodeid, _Test()), record)
        elif kind == "done" and nodeid in tests:
            tests[nodeid].done = True
    for nodeid, test in tests.items():
        if not test.done and test.outcome != "failed":
            test.outcome = "failed"
            test.failure = TestFailure(nodeid, "the test did not finish", outcome.output, nodeid)
        _count(outcome, nodeid, test)
    # A file that cannot be collected is one failed test: its tests are unknown.
    outcome.total += len(uncollected)
    outcome.failed += len(uncollected)
    outcome.failures.extend(uncollected)
    outcome.collection_error = bool(uncollected) and not tests
    if problem:
        outcome.tampered = True
        outcome.failures.append(TestFailure("<report>", problem, outcome.output))
    elif status is None:
        why = "the run timed out" if result.timed_out else "the test session did not finish"
        outcome.collection_error = not tests
        outcome.failures.append(
            TestFailure(
                "<session>",
                why,
                outcome.output,
                collection=outcome.collection_error and not result.timed_out,
            )
        )
    elif status != result.returncode and not result.timed_out:
        outcome.tampered = True
        message = (
            f"pytest ended with status {status} but the process exited with {result.returncode}"
        )
        outcome.failures.append(TestFailure("<session>", message, outcome.output))
    elif status not in (0, 1, 5):
        # Interrupted, internal error, usage error: the tests did not all run.
        outcome.collection_error = True
        message = f"pytest could not run the tests (exit status {status})"
        outcome.failures.append(TestFailure("<session>", message, outcome.output))
    if not outcome.ok and outcome.failed == 0:
        outcome.failed = max(1, len(outcome.failures))
        outcome.total = outcome.passed + outcome.failed
    if outcome.collection_error and outcome.total == 0:
        outcome.total = outcome.failed = max(planned, 1)
    if outcome.tampered:
        # Nothing in a tampered stream vouches for a test: none passed.
        outcome.failed, outcome.passed = outcome.total or 1, 0
        outcome.total = outcome.failed
        outcome.verdicts = dict.fromkeys(outcome.verdicts, False)
    return outcome


def _record(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _failure(nodeid: str, record: dict[str, Any], default: str) -> TestFailure:
    return TestFailure(
        test=nodeid,
        message=str(record.get("msg") or default)[:800],
        text=str(record.get("text") or "")[-6000:],
        nodeid=nodeid,
    )


def _phase(test: _Test, record: dict[str, Any]) -> None:
    """Fold one phase (setup, call, teardown) into its test's result."""
    result = str(record.get("outcome"))
    if "lines" in record and isinstance(record["lines"], dict):
        test.lines = record["lines"]
    if record.get("forged"):
        result = "failed"
        record = {**record, "msg": "the test raised, yet its report said it passed"}
    if result == "failed" and test.outcome != "failed":
        test.outcome = "failed"
        test.failure = _failure(str(record.get("id")), record, "failed")
    elif result == "skipped" and test.outcome == "passed":
        test.outcome = "skipped"


def _count(outcome: TestOutcome, nodeid: str, test: _Test) -> None:
    if test.lines is not None:
        outcome.coverage[nodeid] = test.lines
    if test.outcome == "skipped":
        outcome.skipped += 1
        return
    outcome.total += 1
    outcome.verdicts[nodeid] = test.outcome == "passed"
    if test.outcome == "passed":
        outcome.passed += 1
    else:
        outcome.failed += 1
        outcome.failures.append(test.failure or TestFailure(nodeid, "failed", "", nodeid))
