"""Running a JavaScript project's own jest suite in the sandbox.

The third runner beside `node_testing` and `vitest_testing`, for projects whose
`package.json` names jest: the same `TestOutcome`, counted the same way, read by
the vitest module's parser from the same records, and the same report channel.
Jest is the project's own (`npm ci` in the plan's reference), shown read-only
and linked into the sandbox's copy as vitest is.

What differs is where jest runs code. Its reporters run in the process that
starts it, and jest loads them by path, so `ts/jest-reporter.cjs` is a module of
its own that the driver (`ts/jest-driver.cjs`) loads before jest: it takes the
channel then, and jest's later load of the same path is the same instance. Jest
runs the tests themselves in that process when it judges workers not worth
starting (one test file, or a fast earlier run); a test there could write to
the channel, so the driver sets a worker memory limit, which makes jest always
use forked workers (which inherit no report descriptor). The cache is off (the
project's node_modules is read-only and no run may lean on another's leftovers)
and watchman is not asked for (none in the sandbox).

Jest transforms test and source files with babel-jest unless the project's config
says otherwise; plain CommonJS needs no configuration for that. Its failure
texts are V8 stacks (`at fn (/abs/src/x.js:L:C)`), which blame reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mge.validate.sandbox import Limits
from mge.validate.testing import TestOutcome
from mge.validate.typescript import SERVICE_DIR
from mge.validate.vitest_testing import run_driver

_DRIVER = SERVICE_DIR / "jest-driver.cjs"
_REPORTER = SERVICE_DIR / "jest-reporter.cjs"
#: The module jest's `runCLI` is taken from.
_JEST_INDEX = Path("jest") / "build" / "index.js"
#: The least address space a jest process is given (see `run_jest_tests`).
MEMORY_BYTES = 8 * 1024**3


def run_jest_tests(
    project: Path,
    tests: Sequence[str],
    *,
    limits: Limits | None = None,
    modules_dir: Path,
) -> TestOutcome:
    """Run `tests` (paths relative to `project`) with jest in the sandbox, jest and
    the project's dependencies from `modules_dir` (see the module doc). No tests,
    no run: jest given no file would run every test it finds."""
    # The limit is on each process's address space, which V8 reserves far beyond
    # what it uses: jest's process does not start below some 1.5 GiB (measured
    # on the example), and a bigger suite's workers need more.
    return run_driver(
        project,
        tests,
        limits=limits,
        modules_dir=modules_dir,
        driver=_DRIVER,
        entry=_JEST_INDEX,
        runner="jest",
        memory_bytes=MEMORY_BYTES,
        readable=[_REPORTER],
    )


__all__ = ["run_jest_tests"]
