"""A pytest plugin, loaded only inside the sandbox, that fails one test when it runs
longer than `MGE_TEST_TIMEOUT` seconds, so a single endless loop in generated code
costs one test instead of the whole run. Kept free of MGE imports.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Generator
from types import FrameType

import pytest

_LIMIT = float(os.environ.pop("MGE_TEST_TIMEOUT", "0") or 0)  # read, then gone from the tests' view


class TestTimedOut(Exception):
    __test__ = False


def _expire(signum: int, frame: FrameType | None) -> None:
    raise TestTimedOut(f"the test ran longer than {_LIMIT:g} s")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    if _LIMIT <= 0 or not hasattr(signal, "setitimer"):
        yield
        return
    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, _LIMIT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
