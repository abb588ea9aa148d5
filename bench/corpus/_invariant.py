"""The fault-0 invariant on one corpus project, measured end to end.

With the replay model at fault rate 0 the engine must give back the reference:
the project plans (`mge plan from-code`, the real CLI), every atom passes L1 on
its first attempt (none rejected, none blocked), every planned file equals the
reference byte for byte, and the engine's own test verdict (the run report's
`tests`) equals an independent `python -m pytest` of the project's suite on the
output, which gives the same verdict as on the reference. Each step that fails
says why, so a broken project is reported, never special-cased.

The independent run is a plain pytest process outside the sandbox and outside
the engine's reporter, counted from pytest's own summary line. Third-party
plugin autoloading is off there as it is in the engine, so plugins that happen
to be installed beside MGE (pytest-asyncio, hypothesis) cannot change a
project's collection or warnings in one run and not in the other.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.corpus._npm import NpmPackage, node_counts
from bench.corpus._npm import stage as npm_stage
from bench.corpus._projects import Sdist, stage
from mge.db import make_engine
from mge.db.migrate import upgrade
from mge.db.models import AtomicUnit, AtomRetryHistory
from mge.execute import RunSettings, create_run, execute_run, run_report
from mge.plan import load_plan

# One line of `pytest -rA`'s short summary: outcome, (subtest), node id, - message.
_OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR|XPASS|SUBFAILED)(?:\(.*?\))? (.+?)(?: - .*)?$")
_MISSING = re.compile(r"No module named '([^']+)'")
# pytest's own usage error, not that of a test module calling `unittest.main()`.
_UNKNOWN_OPTION = re.compile(r"pytest: error: unrecognized arguments: (.+)")


@dataclass(frozen=True)
class Counts:
    """A test verdict as the run report gives it: skipped tests are not counted."""

    total: int = 0
    passed: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"{self.passed}/{self.total}"


@dataclass
class Outcome:
    project: str
    reference_tests: Counts = field(default_factory=Counts)
    planned: bool = False
    atoms: int = 0
    rejected: list[str] = field(default_factory=list)  # "atom: check: message"
    blocked: int = 0
    byte_equal: bool = False
    differing: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # reference files the output lacks
    engine_tests: Counts = field(default_factory=Counts)
    independent_tests: Counts = field(default_factory=Counts)
    left_out: str = ""  # why the project cannot be measured at all
    error: str = ""  # the engine raised instead of finishing the run
    notes: list[str] = field(default_factory=list)  # what else the table should say
    seconds: float = 0.0

    @property
    def holds(self) -> bool:
        return (
            not self.left_out
            and not self.error
            and self.planned
            and not self.rejected
            and self.blocked == 0
            and self.byte_equal
            and self.engine_tests == self.independent_tests
            and self.independent_tests == self.reference_tests
            and self.engine_tests.total > 0
        )

    @property
    def broken(self) -> str:
        """What breaks the invariant, in a few words ('' when it holds)."""
        if self.left_out:
            return self.left_out
        if self.error:
            return self.error
        reasons = []
        if self.rejected:
            reasons.append(f"{len(self.rejected)} rejected: {self.rejected[0]}")
        if self.blocked:
            reasons.append(f"{self.blocked} blocked")
        if self.planned and not self.byte_equal:
            reasons.append("differs: " + ", ".join(self.differing[:3]))
        if self.planned and self.engine_tests != self.independent_tests:
            reasons.append(
                f"engine {self.engine_tests} vs independent {self.independent_tests} tests"
            )
        if self.planned and self.independent_tests != self.reference_tests:
            reasons.append(
                f"suite on the output {self.independent_tests} vs {self.reference_tests} "
                "on the reference"
            )
        reasons += self.notes
        if reasons and self.missing:
            reasons.append("not in the output: " + ", ".join(self.missing[:3]))
        return "; ".join(reasons)


def pytest_counts(root: Path, targets: list[str], timeout: float = 300.0) -> tuple[Counts, str]:
    """The project's suite under plain pytest in `root`: (counts, last lines of output).

    Counted per test, as the engine counts, from pytest's list of every test's
    outcome (`-rA`) rather than its summary line, which counts each failing
    subtest as a failure of its own and a test whose subtests failed as passed: a
    test fails if its setup, call, teardown or any of its subtests failed (a file
    that cannot be collected is one failed test), xpassed counts as passed, and
    skipped and xfailed tests are not counted; a session that ran no test and
    failed is one failure."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", *targets],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "PYTHONPATH": str(root),
                "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                "HOME": str(root),
            },
        )
    except subprocess.TimeoutExpired:
        # Code that hangs is a verdict too: no counts, and the reason says so.
        return Counts(), f"the pytest run timed out after {timeout:.0f} s"
    lines = done.stdout.strip().splitlines()
    counts = _per_test(lines)
    if counts.total == 0 and done.returncode not in (0, 5):
        # The session never reached a test (a conftest that does not import, an
        # internal error): one failure, as the engine counts a session that failed.
        counts = Counts(1, 0, 1)
    shown = [line for line in lines if not line.startswith(("PASSED ", "SUBPASSED"))]
    tail = "\n".join(shown[-15:]) + done.stderr[-500:]
    return counts, tail


def _per_test(lines: list[str]) -> Counts:
    """Counts from the short test summary of a `pytest -rA` run."""
    start = next((i for i, line in enumerate(lines) if "short test summary info" in line), None)
    failed: set[str] = set()
    passed: set[str] = set()
    for line in lines[start + 1 :] if start is not None else ():
        match = _OUTCOME.match(line)
        if match is None:
            continue
        kind, nodeid = match.groups()
        (passed if kind in ("PASSED", "XPASS") else failed).add(nodeid)
    passed -= failed
    return Counts(len(passed) + len(failed), len(passed), len(failed))


def suite_counts(project: Sdist | NpmPackage, root: Path) -> tuple[Counts, str]:
    """The project's own suite in `root`, run the way its developers run it: plain
    pytest for a PyPI project, plain `node --test` for an npm package."""
    if isinstance(project, NpmPackage):
        (total, passed, failed), output = node_counts(root)
        return Counts(total, passed, failed), output
    return pytest_counts(root, [])


def staged(project: Sdist | NpmPackage, scratch: Path) -> tuple[Path, list[str]]:
    """(the staged project's root, the `mge plan from-code` arguments that plan it)."""
    if isinstance(project, NpmPackage):
        root = npm_stage(project, scratch)
        return root, project.from_code_args(root)
    source, tests = stage(project, scratch)
    return source.parent, project.from_code_args(source, tests)


def _why_not(output: str, summary: str) -> str:
    missing = _MISSING.search(output)
    if missing:
        return f"needs package {missing.group(1)!r}, which MGE does not install"
    unknown = _UNKNOWN_OPTION.search(output)
    if unknown:
        options = unknown.group(1).strip()[:80]
        return f"its pytest options need a plugin MGE does not install ({options})"
    first = next((line for line in output.splitlines() if line.startswith(("E ", "ERROR"))), "")
    detail = f" ({first.strip()[:160]})" if first else ""
    return f"own suite fails on the reference: {summary}{detail}"


def _mge() -> str:
    found = Path(sys.executable).with_name("mge")
    return str(found) if found.exists() else "mge"


def _rejections(engine_url: str, run_id: uuid.UUID) -> tuple[list[str], int]:
    engine = make_engine(engine_url)
    try:
        with Session(engine) as session:
            failed = session.execute(
                select(
                    AtomicUnit.atom_key, AtomRetryHistory.error_type, AtomRetryHistory.error_message
                )
                .join(AtomicUnit, AtomicUnit.id == AtomRetryHistory.atom_id)
                .where(AtomRetryHistory.run_id == run_id, AtomRetryHistory.succeeded.is_(False))
                .order_by(AtomicUnit.atom_key, AtomRetryHistory.attempt_number)
            ).all()
    finally:
        engine.dispose()
    seen: dict[str, str] = {}
    for key, kind, message in failed:
        first = (message or "").strip().splitlines()[:1]
        seen.setdefault(key, f"{key}: {kind}: {first[0] if first else ''}"[:300])
    return list(seen.values()), len(failed)


def measure(sdist: Sdist | NpmPackage, scratch: Path) -> Outcome:
    """Stage, check the reference suite, plan, regenerate at fault 0 and compare."""
    began = time.perf_counter()
    outcome = Outcome(sdist.label)
    try:
        _measure(sdist, scratch, outcome)
    finally:
        outcome.seconds = time.perf_counter() - began
    return outcome


def _measure(sdist: Sdist | NpmPackage, scratch: Path, outcome: Outcome) -> None:
    root, from_code_args = staged(sdist, scratch)
    # No targets: pytest collects as a user's bare `pytest` would, by the project's
    # own configuration (testpaths, doctest options) or else the whole directory;
    # node by its default file patterns.
    outcome.reference_tests, output = suite_counts(sdist, root)
    if outcome.reference_tests.failed or not outcome.reference_tests.total:
        outcome.left_out = _why_not(output, output.splitlines()[-1] if output else "no output")
        if sdist.note:
            outcome.left_out += f"; {sdist.note}"
        return
    plan = scratch / "plans" / root.name / "plan.yaml"
    plan.parent.mkdir(parents=True, exist_ok=True)
    command = [_mge(), "plan", "from-code", *from_code_args, "-o", str(plan)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:]
        outcome.left_out = f"plan from-code refused: {last[0] if last else done.returncode}"
        return
    outcome.planned = True
    workdir = scratch / "runs" / root.name
    workdir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{workdir / 'mge.db'}"
    upgrade(url)
    engine = make_engine(url)
    out = workdir / "out"
    try:
        settings = RunSettings(
            model="replay",
            fault_rate=0.0,
            seed=0,
            levels="atomic",
            mutation=False,
            run_tests=True,
            out_dir=str(out),
        )
        run_id = create_run(engine, plan, settings)
        asyncio.run(execute_run(engine, run_id))
        report = run_report(engine, run_id)
    except Exception as error:  # an engine crash is a finding, reported with the rest
        outcome.error = f"engine raised {type(error).__name__}: {error}"[:300]
        return
    finally:
        engine.dispose()
    outcome.atoms = int(report["atoms"]["total"])
    outcome.blocked = int(report["atoms"]["blocked"])
    outcome.rejected, _attempts = _rejections(url, run_id)
    tests_report = report.get("tests") or {}
    outcome.engine_tests = Counts(
        int(tests_report.get("total", 0)),
        int(tests_report.get("passed", 0)),
        int(tests_report.get("failed", 0)),
    )
    files = sorted({f for task in load_plan(plan).tasks() for f in task.files})
    outcome.differing = [
        f
        for f in files
        if not (out / f).is_file() or (out / f).read_bytes() != (root / f).read_bytes()
    ]
    outcome.byte_equal = not outcome.differing
    outcome.missing = sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and not (out / path.relative_to(root)).exists()
    )
    outcome.independent_tests, output = suite_counts(sdist, out)
    if " run timed out" in output:
        outcome.notes.append(f"independent {output}")
