"""A pytest plugin, loaded only inside the sandbox, that records which lines of the
project each test executed (for blame). It is copied next to the tests and loaded
with `-p`; it writes one JSON file when the session ends.

Kept free of MGE imports: it runs in the generated project's interpreter.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Generator
from types import FrameType
from typing import Any

import pytest

_ROOT = os.path.realpath(os.environ.get("MGE_TRACE_ROOT", os.getcwd())) + os.sep
_OUT = os.environ.get("MGE_TRACE_OUT", "mge-trace.json")
_lines: dict[str, set[int]] = {}
_results: dict[str, dict[str, Any]] = {}


def _tracer(frame: FrameType, event: str, arg: object) -> Any:
    filename = frame.f_code.co_filename
    if not filename.startswith(_ROOT) or "/tests/" in filename[len(_ROOT) - 1 :]:
        return None
    if event in ("call", "line"):
        _lines.setdefault(filename[len(_ROOT) :], set()).add(frame.f_lineno)
    return _tracer


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    _lines.clear()
    sys.settrace(_tracer)
    threading.settrace(_tracer)
    try:
        yield
    finally:
        sys.settrace(None)
        threading.settrace(None)
        _results.setdefault(item.nodeid, {})["lines"] = {
            name: sorted(lines) for name, lines in _lines.items()
        }


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _results.setdefault(report.nodeid, {})["passed"] = report.outcome == "passed"


def pytest_sessionfinish(session: pytest.Session) -> None:
    with open(_OUT, "w", encoding="utf-8") as handle:
        json.dump(_results, handle)
