"""The mutation driver: runs inside the sandbox (`python -c`), never in MGE.

It imports pytest once, then forks one child per mutant. The child serves the
mutated text of one file through an import hook — the file on disk is never
written — and runs only the tests that executed the mutated line; the parent
kills a child that outlives its timeout (an endless loop counts as killed). The
fork saves the interpreter start and pytest's own import for every mutant, which
is most of the cost of a small test selection.

Input on stdin (JSON): root, budget_seconds, min_timeout, tests (the baseline
selection) and mutants ([{path, source, tests}]). Output on stdout, one JSON line
per result, flushed at once, so a driver killed by the sandbox still reports
what it finished. Kept free of MGE imports: it runs in the project's interpreter.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any, NoReturn

MARK = "@@mge-mutation "


class _Loader(importlib.abc.Loader):
    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.source = source

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        code = compile(self.source, self.path, "exec", dont_inherit=True)
        exec(code, module.__dict__)

    def get_source(self, fullname: str) -> str:
        return self.source


class _Serve(importlib.abc.MetaPathFinder):
    """Finds modules as the normal path finder does, but loads one file's mutated
    text instead of what is on disk."""

    def __init__(self, path: str, source: str) -> None:
        self.path = os.path.realpath(path)
        self.source = source

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        found = importlib.machinery.PathFinder.find_spec(fullname, path)
        if found is None or found.origin is None:
            return None
        if os.path.realpath(found.origin) != self.path:
            return None
        return importlib.util.spec_from_file_location(
            fullname,
            found.origin,
            loader=_Loader(self.path, self.source),
            submodule_search_locations=found.submodule_search_locations,
        )


#: The child's exit code when it fails before pytest runs (no verdict).
DRIVER_FAILED = 70


def _child(root: str, tests: list[str], path: str | None, source: str | None) -> NoReturn:
    code = DRIVER_FAILED
    try:
        os.setpgid(0, 0)
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        if path is not None and source is not None:
            sys.meta_path.insert(0, _Serve(path, source))
        import pytest

        args = ["-x", "-q", "-p", "no:cacheprovider", "--rootdir", root]
        code = int(pytest.main([*args, *tests]))
    finally:
        os._exit(code)


def _spawn(root: str, tests: list[str], path: str | None, source: str | None) -> int:
    pid = os.fork()
    if pid == 0:
        _child(root, tests, path, source)
    return pid


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _run(
    root: str, tests: list[str], path: str | None, source: str | None, timeout: float
) -> tuple[int, bool, float]:
    """One child: its exit code (negative: killed by that signal), whether the
    timeout killed it, and how long it took."""
    started = time.monotonic()
    pid = _spawn(root, tests, path, source)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), False, time.monotonic() - started
        if time.monotonic() >= started + timeout:
            _kill(pid)
            return -signal.SIGKILL, True, time.monotonic() - started
        time.sleep(0.005)


def _run_mutants(
    root: str, mutants: list[dict[str, Any]], timeout: float, ends: float, workers: int
) -> None:
    """Every mutant in a child of its own, `workers` at a time (the mutants are
    independent: each child has its own copy of the warm parent and serves its own
    text), each result reported as it comes. A child the budget's end cuts short
    gets no verdict, and nothing more starts after it."""
    queue = list(enumerate(mutants))
    running: dict[int, tuple[int, float, float]] = {}  # pid -> (index, started, limit)
    stopped = False
    while running or (queue and not stopped):
        while queue and not stopped and len(running) < workers:
            left = ends - time.monotonic()
            if left <= 0.5:
                stopped = True
                break
            number, mutant = queue.pop(0)
            pid = _spawn(root, list(mutant["tests"]), str(mutant["path"]), str(mutant["source"]))
            running[pid] = (number, time.monotonic(), min(timeout, left))
        pid, status = os.waitpid(-1, os.WNOHANG) if running else (0, 0)
        if pid in running:
            number, started, _limit = running.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            took = time.monotonic() - started
            _say({"index": number, "code": code, "timed_out": False, "seconds": took})
            continue
        now = time.monotonic()
        for pid, (number, started, limit) in list(running.items()):
            if now < started + limit:
                continue
            _kill(pid)
            del running[pid]
            if limit < timeout:  # cut short by the budget, not by its own timeout
                stopped = True
                continue
            took = now - started
            _say({"index": number, "code": -signal.SIGKILL, "timed_out": True, "seconds": took})
        time.sleep(0.005)


def _say(entry: dict[str, Any]) -> None:
    sys.stdout.write(MARK + json.dumps(entry) + "\n")
    sys.stdout.flush()


def _warm_up() -> None:
    """Import pytest and load its plugins once, here, so every forked child starts
    warm (the first `pytest.main` of a process costs over a second, the next ones a
    tenth of that). It collects an empty directory: no project module is imported
    into the parent, so each child imports the project afresh, mutant included."""
    import pytest

    saved = os.dup(1), os.dup(2)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    try:
        with tempfile.TemporaryDirectory() as empty:
            pytest.main(
                ["-q", "-p", "no:cacheprovider", "--collect-only", "--rootdir", empty, empty]
            )
    finally:
        sys.stdout.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        # No spare copy of the output pipe may reach a child: results go through it.
        for fd in (*saved, quiet):
            os.close(fd)


def _private() -> None:
    """Children run generated tests as this process's uid: without this they could
    open /proc/<driver>/fd/1 and write result lines of their own. A non-dumpable
    process's descriptors are closed to them (and the children inherit the flag)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0


def main() -> None:
    _private()
    spec = json.load(sys.stdin)
    root = str(spec["root"])
    started = time.monotonic()
    budget = float(spec["budget_seconds"])
    # Compiled modules (the project's unchanged files, the rewritten test files) are
    # cached outside the project, so each child loads them instead of compiling
    # them again; the mutated file is compiled by its own loader, never cached.
    sys.dont_write_bytecode = False
    sys.pycache_prefix = tempfile.mkdtemp(prefix="mge-mutation-pyc-")
    _warm_up()
    # Every object the parent holds moves out of the collector's reach: pytest runs
    # full collections when a session ends, which in a fork would otherwise walk
    # the whole inherited heap (two thirds of a small run's time).
    gc.freeze()
    code, timed_out, took = _run(root, list(spec["tests"]), None, None, budget)
    _say({"baseline": code, "timed_out": timed_out, "seconds": took})
    if code != 0:
        return
    timeout = max(float(spec["min_timeout"]), 3.0 * took + 1.0)
    workers = max(1, int(spec.get("workers", 1)))
    _run_mutants(root, list(spec["mutants"]), timeout, started + budget, workers)


if __name__ == "__main__":
    main()
