"""A pytest plugin, loaded only inside the sandbox, that reports every test's result
to MGE as it happens, over the report channel the sandbox opened.

Why not a JUnit file: the project directory belongs to the code under test, which
can rewrite any file there (an `atexit` hook did, and a wrong `add()` was reported
as passing). A pipe can only be appended to, so a result written when the test
finished cannot be taken back later; each line carries the run's key (read once,
here, before any project code is imported) and a sequence number, so MGE notices
lines that did not come from this plugin, lines repeated, and anything written
after the session ended. It also notes when a test's own call raised but its
report says it passed (a conftest rewrote the report).

With `MGE_TRACE_ROOT` set it also records which project lines each test ran (for
blame and coverage). With `MGE_SCOPE` set it drops test items the project's own
configuration would not collect (`python_files`, `testpaths`, `norecursedirs`):
paths named on the command line bypass those settings in pytest.

Kept free of MGE imports: it runs in the generated project's interpreter.
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest


def _channel() -> Callable[[dict[str, Any]], None]:
    """The writer, holding the descriptor and key in a closure; both leave the
    environment at once, so code imported later has to dig for them."""
    fd = int(os.environ.pop("MGE_REPORT_FD"))
    key_fd = int(os.environ.pop("MGE_REPORT_KEY_FD"))
    key = os.read(key_fd, 256).decode("ascii")
    os.close(key_fd)
    os.set_inheritable(fd, False)
    counter = [0]

    def send(record: dict[str, Any]) -> None:
        line = json.dumps({**record, "k": key, "n": counter[0]}) + "\n"
        counter[0] += 1
        data = line.encode("utf-8")
        while data:
            data = data[os.write(fd, data) :]

    return send


_send = _channel()
# MGE's settings leave the environment the project's tests see.
_TRACE_ROOT = os.environ.pop("MGE_TRACE_ROOT", "")
_ROOT = os.path.realpath(_TRACE_ROOT) + os.sep if _TRACE_ROOT else ""
_SCOPE = bool(os.environ.pop("MGE_SCOPE", ""))
_lines: dict[str, set[int]] = {}
_raised: dict[str, bool] = {}
_covered: dict[str, dict[str, list[int]]] = {}


def _tracer(frame: FrameType, event: str, arg: object) -> Any:
    filename = frame.f_code.co_filename
    if not filename.startswith(_ROOT) or "/tests/" in filename[len(_ROOT) - 1 :]:
        return None
    if event in ("call", "line"):
        _lines.setdefault(filename[len(_ROOT) :], set()).add(frame.f_lineno)
    return _tracer


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Innermost wrapper of the test's call: whether the test itself raised."""
    if _ROOT:
        _lines.clear()
        sys.settrace(_tracer)
        threading.settrace(_tracer)
    try:
        result = yield
    except BaseException as exc:
        # Skips and expected failures are pytest's own outcomes, not errors.
        _raised[item.nodeid] = not isinstance(exc, pytest.skip.Exception | pytest.xfail.Exception)
        raise
    finally:
        if _ROOT:
            sys.settrace(None)
            threading.settrace(None)
            _covered[item.nodeid] = {name: sorted(lines) for name, lines in _lines.items()}
    _raised[item.nodeid] = False
    return result


def _message(report: pytest.TestReport | pytest.CollectReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    return str(getattr(crash, "message", "") or "")


def _is_subtest(report: pytest.TestReport) -> bool:
    """A report of one `subTest` (or `subtests` fixture) block inside a test: the
    test is counted once, and a failing block fails it."""
    return type(report).__name__ == "SubtestReport"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _is_subtest(report):
        if report.failed:
            _send(
                {
                    "t": "subtest",
                    "id": report.nodeid,
                    "outcome": "failed",
                    "text": report.longreprtext[-6000:],
                    "msg": _message(report)[:800],
                }
            )
        return
    record: dict[str, Any] = {
        "t": "test",
        "id": report.nodeid,
        "when": report.when,
        "outcome": report.outcome,
        "file": report.location[0],
    }
    if report.failed:
        record["text"] = report.longreprtext[-6000:]
        record["msg"] = _message(report)[:800]
    if report.when == "call":
        if report.passed and _raised.get(report.nodeid) and not hasattr(report, "wasxfail"):
            record["forged"] = True
        if report.nodeid in _covered:
            record["lines"] = _covered.pop(report.nodeid)
    _send(record)


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _send({"t": "done", "id": nodeid})


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        text = report.longreprtext[-6000:]
        _send({"t": "collect", "id": report.nodeid, "text": text, "msg": text[-800:]})


def _matches(patterns: list[str], path: Path) -> bool:
    """pytest's rule: a pattern with a separator matches the whole path, else the name."""
    for pattern in patterns:
        if os.sep not in pattern:
            found = fnmatch.fnmatch(path.name, pattern)
        else:
            anchored = pattern if os.path.isabs(pattern) else "*" + os.sep + pattern
            found = fnmatch.fnmatch(str(path), anchored)
        if found:
            return True
    return False


def _collected_by_config(config: pytest.Config, item: pytest.Item) -> bool:
    path = Path(item.path)
    root = Path(config.rootpath)
    try:
        parts = path.relative_to(root).parts[:-1]
    except ValueError:
        return False
    norecurse = list(config.getini("norecursedirs"))
    if any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in norecurse):
        return False
    testpaths = [str(entry) for entry in config.getini("testpaths")]
    if testpaths:
        bases = [found for entry in testpaths for found in root.glob(entry)]
        if not any(path == base or base in path.parents for base in bases):
            return False
    if type(item).__name__ == "DoctestItem":
        return True  # pytest makes these only when the configuration asks for doctests
    patterns = list(config.getini("python_files"))
    return path.suffix != ".py" or _matches(patterns, path)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _SCOPE:
        return
    kept = [item for item in items if _collected_by_config(config, item)]
    chosen = {id(item) for item in kept}
    dropped = [item for item in items if id(item) not in chosen]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _send({"t": "end", "status": int(exitstatus)})
