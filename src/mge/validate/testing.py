"""Running a generated project's tests in the sandbox and reading the outcome.

pytest writes JUnit XML (outcomes, failure messages, tracebacks); with
`coverage=True` a small plugin also records, per test, the project lines it ran,
which blame uses when a failing test's traceback never enters project code (a
wrong value returned and caught only by an assertion in the test).
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from mge.validate.sandbox import Limits, run_python

_PLUGIN = Path(__file__).with_name("_trace_plugin.py")
_PLUGIN_MODULE = "mge_trace_plugin"
_GUARD = Path(__file__).with_name("_guard_plugin.py")
_GUARD_MODULE = "mge_guard_plugin"


@dataclass
class TestFailure:
    __test__ = False  # not a pytest class

    test: str
    message: str
    text: str
    nodeid: str = ""


@dataclass
class TestOutcome:
    __test__ = False  # not a pytest class

    total: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    timed_out: bool = False
    collection_error: bool = False
    failures: list[TestFailure] = field(default_factory=list)
    coverage: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    verdicts: dict[str, bool] = field(default_factory=dict)
    output: str = ""
    duration_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.timed_out and not self.collection_error

    def to_dict(self) -> dict[str, int]:
        return {"total": self.total, "passed": self.passed, "failed": self.failed}


def run_pytest(
    root: Path,
    tests: list[str],
    *,
    timeout: float = 300.0,
    coverage: bool = False,
    select: list[str] | None = None,
    per_test_timeout: float = 30.0,
) -> TestOutcome:
    """Run `tests` (paths relative to `root`) with pytest in the sandbox.

    A run that cannot even collect (an import error in the project) counts every
    planned test file as failed, so a broken project never scores as passing. A
    test running longer than `per_test_timeout` seconds fails on its own; `timeout`
    bounds the whole run.
    """
    if not tests:
        return TestOutcome()
    root = root.resolve()
    report = root / ".mge-junit.xml"
    trace = root / ".mge-trace.json"
    for stale in (report, trace):
        stale.unlink(missing_ok=True)
    args = [
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        f"--junitxml={report}",
        "--rootdir",
        str(root),
        "--tb=long",
        "--continue-on-collection-errors",
    ]
    plugin_dir = root / ".mge-plugin"
    plugin_dir.mkdir(exist_ok=True)
    # A src layout's packages are imported from `src/`, as an editable install would.
    source = [root / "src"] if (root / "src").is_dir() else []
    pythonpath = [root, *source, plugin_dir]
    shutil.copyfile(_GUARD, plugin_dir / f"{_GUARD_MODULE}.py")
    args += ["-p", _GUARD_MODULE]
    if coverage:
        shutil.copyfile(_PLUGIN, plugin_dir / f"{_PLUGIN_MODULE}.py")
        args += ["-p", _PLUGIN_MODULE]
    args += select if select else tests
    result = run_python(
        args,
        cwd=root,
        pythonpath=pythonpath,
        limits=Limits(timeout_seconds=timeout, cpu_seconds=int(timeout) + 5),
        extra_env={
            "MGE_TEST_TIMEOUT": str(per_test_timeout),
            **({"MGE_TRACE_ROOT": str(root), "MGE_TRACE_OUT": str(trace)} if coverage else {}),
        },
    )
    outcome = TestOutcome(
        timed_out=result.timed_out,
        output=(result.stdout + result.stderr)[-6000:],
        duration_seconds=result.duration_seconds,
    )
    if report.is_file():
        _read_junit(report, outcome, root)
    if trace.is_file():
        data = json.loads(trace.read_text(encoding="utf-8"))
        outcome.coverage = {test: entry.get("lines", {}) for test, entry in data.items()}
        outcome.verdicts.update(
            {test: bool(entry["passed"]) for test, entry in data.items() if "passed" in entry}
        )
    for leftover in (report, trace):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(plugin_dir, ignore_errors=True)
    if outcome.total == 0 and not result.ok:
        outcome.collection_error = True
        outcome.total = outcome.failed = len(tests)
        outcome.failures.append(
            TestFailure(test="<collection>", message="the tests could not run", text=outcome.output)
        )
    return outcome


def _read_junit(report: Path, outcome: TestOutcome, root: Path) -> None:
    for case in ET.parse(report).getroot().iter("testcase"):
        if case.find("skipped") is not None:
            outcome.skipped += 1
            continue
        outcome.total += 1
        classname = case.get("classname", "") or ""
        name = case.get("name", "") or ""
        test_id = f"{classname}::{name}"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is None:
            outcome.passed += 1
            continue
        outcome.failed += 1
        outcome.failures.append(
            TestFailure(
                test=test_id,
                message=(problem.get("message") or "")[:800],
                text=(problem.text or "")[-6000:],
                nodeid=_nodeid(root, case.get("file") or "", classname, name),
            )
        )


def _nodeid(root: Path, file: str, classname: str, name: str) -> str:
    """pytest's node id (`tests/test_x.py::Class::test`) from a JUnit test case: the
    module is the longest dotted prefix of the class name that is a file under root."""
    parts = classname.split(".")
    for cut in range(len(parts), 0, -1):
        candidate = "/".join(parts[:cut]) + ".py"
        if (file and candidate == file) or (root / candidate).is_file():
            return "::".join([candidate, *parts[cut:], name])
    return f"{file or classname}::{name}"
