"""Running a TypeScript or JavaScript project's own vitest suite in the sandbox.

The sibling of `node_testing` for projects whose `package.json` names vitest: the
same `TestOutcome`, counted the same way (a test is one verdict, a skipped or todo
test none, a file that fails to load one failure, a run without its closing record
a failure of the whole run). Vitest compiles TypeScript itself (through vite) and
maps stack traces to the sources, so failures name `src/x.ts` lines blame reads as
it reads node's. No per-test coverage: blame falls back to the stack traces.

Vitest is the project's own, installed in the project root the plan names
(`npm ci`): that `node_modules` is shown read-only and linked into the sandbox's
copy of the project, so the tests' `import "vitest"` and the runner are one
module (a project with a `node_modules` of its own uses that one). Its results
cache is off (the directory is read-only, and no run may depend on another's
leftovers).

The verdict comes from `ts/vitest-driver.mjs`, which starts vitest through its API
with a reporter of its own, over the sandbox's report channel, as pytest's
reporter does: generated code is hostile, and nothing it writes may decide its
own verdict. The tests run in forked workers (the driver forces the `forks` pool:
a worker thread would share the driver's descriptors), and a fork inherits every
descriptor not marked close-on-exec. So the driver never holds MGE's pipe: bash
relays a pipe of the sandbox's own to it (`cat`, which runs no project code), and
the driver, before any project code runs (the project's vitest config and vite
plugins run in its process), reopens that pipe close-on-exec, closes the
inherited descriptor and reads the key from its pipe once; both variables leave
the environment. A worker therefore holds neither the channel nor the key. It may
still reach a pipe through /proc (MGE's own too, unless MGE runs as root, whose
pipe the sandbox's user cannot reopen): each record carries the key and a
sequence number, so what it writes there has neither and spoils the run instead
of passing it. What a test prints goes to the process's output, never read for a
verdict. Project code in the driver's process (a config, a plugin) could dig the
key out of it, as a conftest could out of pytest's reporter: that is not guarded.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from mge.validate.sandbox import Limits, SandboxResult, run_command
from mge.validate.testing import TestFailure, TestOutcome
from mge.validate.typescript import SERVICE_DIR, ToolchainMissing, node_binary

_DRIVER = SERVICE_DIR / "vitest-driver.mjs"
#: The report channel both drivers take before any project code runs.
_CHANNEL = SERVICE_DIR / "report-channel.cjs"
#: The vitest module the driver starts runs from (the package's `vitest/node`).
_VITEST_NODE = Path("vitest") / "dist" / "node.js"
_RELAY_FD = 99
#: The least address space a vitest process is given (see `run_vitest_tests`).
MEMORY_BYTES = 64 * 1024**3


def runner_entry(modules_dir: Path, entry: Path, runner: str) -> Path:
    """The runner's node API (`entry`, relative to `modules_dir`), or a one-line
    error saying how to get it."""
    found = modules_dir / entry
    if not found.is_file():
        raise runner_missing(modules_dir, runner)
    return found


def runner_missing(modules_dir: Path, runner: str) -> ToolchainMissing:
    """The one line for a project whose `node_modules` lacks its test runner."""
    return ToolchainMissing(
        f"{runner} is not installed in {modules_dir}; run `npm ci` in {modules_dir.parent}"
    )


def _script(
    project: Path, tests: Sequence[str], modules_dir: Path, driver: Path, entry: Path
) -> str:
    node = shlex.quote(node_binary())
    lines = ["set -u"]
    if modules_dir != project / "node_modules":
        # The copy has none of its own (`run_driver` uses one it has): the
        # tests must import the runner that runs them. A link an earlier run left
        # (unsandboxed, in the project itself) is replaced.
        link = shlex.quote(str(modules_dir))
        lines.append(f"rm -f node_modules && ln -s {link} node_modules || exit 1")
    # Absolute paths: vitest's filters match substrings of the file's path.
    files = " ".join(shlex.quote(str(project / test)) for test in tests)
    driver_arg, entry_arg = shlex.quote(str(driver)), shlex.quote(str(entry))
    # The driver holds a pipe of this sandbox's own, relayed to MGE's by `cat`:
    # MGE's pipe cannot be reopened close-on-exec here, so the driver could not
    # keep it from its workers (see the module doc). A high number, as a fork
    # inherits (node takes some low ones for itself at start). bash waits for the
    # relay so that the sandbox does not end before the last record is through.
    lines += [
        f'exec {_RELAY_FD}> >(exec cat 1>&"$MGE_REPORT_FD" {{MGE_REPORT_KEY_FD}}<&-) || exit 1',
        "relayed=$!",
        "exec {MGE_REPORT_FD}>&-",
        f"MGE_REPORT_FD={_RELAY_FD} {node} --enable-source-maps {driver_arg} {entry_arg} {files}",
        "status=$?",
        f"exec {_RELAY_FD}>&-",
        'wait "$relayed"',
        'exit "$status"',
    ]
    return "\n".join(lines)


def vitest_name(project: Path, record: dict[str, Any]) -> str:
    """The stable name of a test: "file > describe > test", the file relative to
    the project (as the plan names it)."""
    parts = record.get("name")
    names = [str(part) for part in parts] if isinstance(parts, list) else [str(parts)]
    return " > ".join([_relative(project, str(record.get("file", ""))), *names])


def _relative(project: Path, file: str) -> str:
    prefix = str(project) + "/"
    return file[len(prefix) :] if file.startswith(prefix) else file


def _failure_text(errors: Any) -> tuple[str, str]:
    """The first error's message, and every error's stack (project frames kept as
    node prints them, which blame reads)."""
    if not isinstance(errors, list) or not errors:
        return "failed", ""
    texts: list[str] = []
    for error in errors:
        if isinstance(error, dict):
            stack = str(error.get("stack") or "")
            message = str(error.get("message") or "")
            texts.append(stack if message in stack else f"{message}\n{stack}")
    first = errors[0] if isinstance(errors[0], dict) else {}
    message = str(first.get("message") or "failed").split("\n", 1)[0]
    return message[:800], "\n".join(texts)[-6000:]


def read_report(
    project: Path,
    report: str,
    key: str,
    *,
    returncode: int,
    timed_out: bool = False,
    runner: str = "vitest",
) -> TestOutcome:
    """The outcome of a run from the driver's records only (see the module doc);
    jest's driver writes the same records, so `runner` only names it in messages."""
    outcome = TestOutcome(timed_out=timed_out)
    tested_files: set[str] = set()
    failed_files: set[str] = set()
    end: dict[str, Any] | None = None
    problem = ""
    lines = report.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict) or record.get("k") != key or record.get("n") != number:
            problem = f"a report line did not come from MGE's {runner} driver"
            break
        if end is not None:
            problem = "the report was written to after the run ended"
            break
        kind = record.get("t")
        if kind == "end":
            end = record
        elif kind == "test":
            _count_test(project, record, outcome, tested_files, failed_files)
        elif kind == "module":
            file = _relative(project, str(record.get("file", "")))
            errors = record.get("errors")
            # A file that did not load (or whose hooks failed) without a failed
            # test to show for it: one failure, its tests unknown.
            if errors and file not in failed_files:
                message, text = _failure_text(errors)
                unloaded = file not in tested_files
                outcome.failures.append(TestFailure(file, message, text, file, unloaded))
                outcome.total += 1
                outcome.failed += 1
                outcome.verdicts[file] = False
    if problem:
        outcome.tampered = True
        outcome.failures.append(TestFailure("<report>", problem, ""))
    elif end is None:
        why = "the run timed out" if timed_out else f"{runner} did not finish the run"
        outcome.collection_error = True
        outcome.failures.append(TestFailure("<session>", why, "", collection=not timed_out))
    else:
        _check_end(end, outcome, returncode, timed_out, runner)
    if outcome.tampered:
        # Nothing in a spoilt stream vouches for a test: none passed.
        outcome.failed, outcome.passed = outcome.total or 1, 0
        outcome.total = outcome.failed
        outcome.verdicts = dict.fromkeys(outcome.verdicts, False)
    return outcome


def _count_test(
    project: Path,
    record: dict[str, Any],
    outcome: TestOutcome,
    tested: set[str],
    failed: set[str],
) -> None:
    name = vitest_name(project, record)
    file = _relative(project, str(record.get("file", "")))
    tested.add(file)
    state = record.get("state")
    if state in ("skipped", "pending"):
        # Skipped and todo tests are not counted, as pytest's skips are not.
        outcome.skipped += 1
        return
    outcome.total += 1
    if state == "passed":
        outcome.passed += 1
        outcome.verdicts.setdefault(name, True)
        return
    outcome.failed += 1
    failed.add(file)
    outcome.verdicts[name] = False
    message, text = _failure_text(record.get("errors"))
    outcome.failures.append(TestFailure(name, message, text, name))


def _check_end(
    end: dict[str, Any], outcome: TestOutcome, returncode: int, timed_out: bool, runner: str
) -> None:
    """Errors outside any test fail the run; the exit status must agree with the
    record (a forged stream would end in "passed" from a run that did not)."""
    reason = str(end.get("reason"))
    errors = end.get("errors")
    if errors:
        message, text = _failure_text(errors)
        outcome.failures.append(TestFailure("<unhandled>", message, text))
        outcome.total += 1
        outcome.failed += 1
    if reason == "failed" and outcome.failed == 0:
        # A failure no test or file carries (a suite's hook, say) still fails the run.
        outcome.failures.append(TestFailure("<session>", f"{runner} failed outside any test", ""))
        outcome.total += 1
        outcome.failed += 1
    if reason == "interrupted":
        outcome.collection_error = True
        outcome.failures.append(TestFailure("<session>", "the run was interrupted", ""))
    elif not timed_out and (reason == "passed") != (returncode == 0):
        outcome.tampered = True
        message = f"{runner} ended {reason} but the process exited with {returncode}"
        outcome.failures.append(TestFailure("<session>", message, ""))


def run_vitest_tests(
    project: Path,
    tests: Sequence[str],
    *,
    limits: Limits | None = None,
    modules_dir: Path,
) -> TestOutcome:
    """Run `tests` (paths relative to `project`) with vitest in the sandbox, vitest
    and the project's dependencies from `modules_dir` (see the module doc). No
    tests, no run: vitest given no file would run every test it finds."""
    # V8 reserves some 10 GiB of address space for each WebAssembly memory, and
    # vite parses with several: the limit on address space must leave room for
    # them (below 32 GiB vitest does not start).
    return run_driver(
        project,
        tests,
        limits=limits,
        modules_dir=modules_dir,
        driver=_DRIVER,
        entry=_VITEST_NODE,
        runner="vitest",
        memory_bytes=MEMORY_BYTES,
    )


def run_driver(
    project: Path,
    tests: Sequence[str],
    *,
    limits: Limits | None,
    modules_dir: Path,
    driver: Path,
    entry: Path,
    runner: str,
    memory_bytes: int,
    readable: Sequence[Path] = (),
) -> TestOutcome:
    """A run of the project's own runner through an MGE driver writing the shared
    records; jest's and vitest's runs differ only in the driver and the memory
    they need."""
    if not tests:
        return TestOutcome()
    limits = limits or Limits(timeout_seconds=120, cpu_seconds=120)
    limits = replace(limits, memory_bytes=max(limits.memory_bytes, memory_bytes))
    project = project.resolve()
    own = project / "node_modules"
    # A project with dependencies of its own installed runs with them: they are
    # what its tests import, and two copies of a runner in one run do not work
    # together.
    modules_dir = own if own.is_dir() and not own.is_symlink() else modules_dir.resolve()
    script = _script(project, tests, modules_dir, driver, runner_entry(modules_dir, entry, runner))
    result: SandboxResult = run_command(
        ["/bin/bash", "-c", script],
        cwd=project,
        readable=[driver, _CHANNEL, *readable, modules_dir],
        limits=limits,
        report=True,
    )
    outcome = read_report(
        project,
        result.report.decode("utf-8", errors="replace"),
        result.report_key,
        returncode=result.returncode,
        timed_out=result.timed_out,
        runner=runner,
    )
    outcome.duration_seconds = result.duration_seconds
    outcome.output = (result.stdout + result.stderr)[-20000:]
    for failure in outcome.failures:
        if not failure.text:
            failure.text = outcome.output[-6000:]
    if outcome.total == 0:
        # Planned tests that ran none: nothing vouches for the code.
        outcome.collection_error = True
        outcome.total = outcome.failed = max(outcome.failed, 1)
    return outcome


__all__ = ["read_report", "run_driver", "run_vitest_tests", "runner_entry", "vitest_name"]
