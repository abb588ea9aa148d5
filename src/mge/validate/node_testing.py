"""Running a TypeScript or JavaScript project's own tests in the sandbox, with node.

The tests run with node's built-in runner (`node --test`), in the sandbox like every
run of generated code (`mge.validate.sandbox.run_command`). TypeScript is compiled
first, inside the same sandboxed command, by the pinned compiler (`ts/`): with the
project's `tsconfig.json` when it has one, into `.mge-build/` in the sandbox's
private copy of the project (so the project's `package.json` `type` and its
`node_modules` still apply), with source maps, and even when it has type errors
(the L1 checks report those; here the behaviour is judged). Node runs the compiled
tests with `--enable-source-maps`, so stack traces name the TypeScript lines, which
blame maps to atoms.

The verdict is node's TAP report, written to the sandbox's report channel (a pipe
only MGE reads: output the tests print cannot pass for it). Counts are per test: a
leaf test (one without subtests) is one test, a file that fails to load one
failure, a skipped or todo test none (as pytest's skips are not counted). A run
that ends without the report's plan line (`1..N` at the top level) is a failure of
the whole run.

With `coverage`, each test process also records which project lines each test ran
(`ts/coverage.mjs`, V8's block coverage around every test body), into files in the
sandbox's private `/tmp` that the script sends, once the runner is done, on the
sandbox's data channel: apart from the report, so that what the tests write there
can at worst mislead blame, never change a verdict. The coverage of a test is keyed
by its leaf name, as its verdict is; TypeScript lines are mapped back through the
build's source maps; the test files themselves are left out, as the Python tracer
leaves out the tests.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

from mge.validate.sandbox import Limits, run_command
from mge.validate.testing import TestFailure, TestOutcome
from mge.validate.typescript import SERVICE_DIR, ensure_compiler, node_binary

BUILD_DIR = ".mge-build"
_TSC = SERVICE_DIR / "node_modules" / "typescript" / "bin" / "tsc"
_TYPES = SERVICE_DIR / "node_modules" / "@types"
_COVERAGE = SERVICE_DIR / "coverage.mjs"
_TS_SUFFIXES = (".ts", ".tsx", ".mts", ".cts")
_RESULT = re.compile(
    r"^(?P<indent>\s*)(?P<not>not )?ok \d+ - (?P<name>.*?)(?: # (?P<directive>SKIP|TODO)\b.*)?$"
)
_PLAN = re.compile(r"^1\.\.\d+$")
#: How node's TAP reporter escapes a test's name (`tapEscape`, in this order: the
#: backslashes it adds are doubled too), so that coverage, recorded under the name
#: the test has, is keyed as the verdict read from the report is.
_TAP_ESCAPES = (
    ("\b", "\\b"),
    ("\f", "\\f"),
    ("\t", "\\t"),
    ("\n", "\\n"),
    ("\r", "\\r"),
    ("\v", "\\v"),
    ("\\", "\\\\"),
    ("#", "\\#"),
)


def compiled_path(test: str) -> str:
    """Where a TypeScript test lands in the build (`test/a.test.ts` ->
    `.mge-build/test/a.test.js`)."""
    for suffix, js in ((".mts", ".mjs"), (".cts", ".cjs"), (".tsx", ".js"), (".ts", ".js")):
        if test.endswith(suffix):
            return f"{BUILD_DIR}/{test[: -len(suffix)]}{js}"
    return test


def _script(project: Path, tests: Sequence[str], timeout_ms: int, *, coverage: bool = False) -> str:
    node = shlex.quote(node_binary())
    typescript = any(t.endswith(_TS_SUFFIXES) for t in tests)
    lines = ["set -u"]
    if typescript:
        ensure_compiler()
        common = (
            f"--outDir {BUILD_DIR} --rootDir . --sourceMap true --noEmit false"
            " --declaration false --incremental false --composite false --noEmitOnError false"
            f" --typeRoots node_modules/@types,{shlex.quote(str(_TYPES))}"
        )
        if (project / "tsconfig.json").is_file():
            target = "-p tsconfig.json"
        else:
            target = "--module nodenext --target es2022 " + " ".join(map(shlex.quote, tests))
        # Type errors do not stop the run: compiler output goes to stderr.
        lines.append(f"{node} {shlex.quote(str(_TSC))} {target} {common} 1>&2")
    runnable = " ".join(shlex.quote(compiled_path(t) if typescript else t) for t in tests)
    # The runner's own stdout is the report channel (dup'ed by the shell, since the
    # sandbox's user may not reopen MGE's pipe); each test file runs in a child
    # whose output the runner reports as diagnostics, never as results.
    # The runner passes its own flags on to each test file's process: a preload
    # runs there, and only there.
    preload = f" --import {shlex.quote(_COVERAGE.as_uri())}" if coverage else ""
    run = (
        f"{node} --enable-source-maps{preload} --test --test-reporter=tap"
        " --test-reporter-destination=stdout"
        f' --test-timeout={timeout_ms} {runnable} 1>&"$MGE_REPORT_FD"'
    )
    if not coverage:
        lines.append(f"exec {run}")
        return "\n".join(lines)
    lines += [
        "coverage=$(mktemp -d) || exit 1",
        f'MGE_COVERAGE_DIR="$coverage" MGE_COVERAGE_ROOT={shlex.quote(str(project))} {run}',
        "status=$?",
        'cat "$coverage"/*.jsonl 1>&"$MGE_DATA_FD" 2>/dev/null',
        'exit "$status"',
    ]
    return "\n".join(lines)


def parse_tap(report: str) -> TestOutcome:
    """Per-test counts and failures from node's TAP report."""
    outcome = TestOutcome()
    # Lines end at "\n" only: a name keeps the other separators `splitlines` would
    # cut it at (U+2028, \x1c, ...), which node's report does not escape.
    lines = report.split("\n")
    has_child: dict[int, bool] = {}
    context: list[str] = []
    finished = False
    for index, line in enumerate(lines):
        if _PLAN.match(line):
            finished = True
            continue
        match = _RESULT.match(line)
        if match is None:
            if line.lstrip().startswith("# ") and not line.lstrip().startswith("# Subtest"):
                context.append(line.strip()[2:])
            continue
        depth = len(match.group("indent"))
        leaf = not has_child.pop(depth, False)
        if depth:
            has_child[depth - 4] = True
        if not leaf:
            context = []
            continue
        name = match.group("name")
        if match.group("directive"):
            # Skipped and todo tests are not counted, as pytest's skips are not.
            outcome.skipped += 1
            context = []
            continue
        outcome.total += 1
        if match.group("not"):
            outcome.failed += 1
            block = _yaml_block(lines, index + 1)
            text = "\n".join([*context, *block])
            message = next(
                (
                    b.split(":", 1)[1].strip().strip("'")
                    for b in block
                    if b.strip().startswith("error:")
                ),
                "failed",
            )
            outcome.failures.append(TestFailure(test=name, message=message, text=text, nodeid=name))
            outcome.verdicts[name] = False
        else:
            outcome.passed += 1
            outcome.verdicts[name] = True
        context = []
    if not finished:
        outcome.collection_error = True
    return outcome


def tap_name(name: str) -> str:
    """A test's name as node's TAP report writes it (and `parse_tap` reads it)."""
    for raw, escaped in _TAP_ESCAPES:
        name = name.replace(raw, escaped)
    return name


def parse_coverage(data: str, tests: Sequence[str] = ()) -> dict[str, dict[str, list[int]]]:
    """Per-test lines from the coverage records (`{"t": name, "f": {file: lines}}`,
    one a line), keyed and merged by name as `parse_tap` keys verdicts (escaped as
    in the report); the files in `tests` are left out.
    A line that is not such a record (cut short, or written by the tests) is
    ignored: coverage only informs blame."""
    left_out = set(tests)
    merged: dict[str, dict[str, set[int]]] = {}
    for line in data.split("\n"):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        name, files = record.get("t"), record.get("f")
        if not isinstance(name, str) or not isinstance(files, dict):
            continue
        into = merged.setdefault(tap_name(name), {})
        for file, numbers in files.items():
            if file in left_out or not isinstance(numbers, list):
                continue
            into.setdefault(file, set()).update(
                n for n in numbers if isinstance(n, int) and not isinstance(n, bool) and n > 0
            )
    return {
        name: {file: sorted(numbers) for file, numbers in files.items()}
        for name, files in merged.items()
    }


def _yaml_block(lines: list[str], start: int) -> list[str]:
    if start >= len(lines) or lines[start].strip() != "---":
        return []
    block: list[str] = []
    for line in lines[start + 1 :]:
        if line.strip() == "...":
            break
        block.append(line.strip())
    return block


def run_node_tests(
    project: Path,
    tests: Sequence[str],
    *,
    limits: Limits | None = None,
    coverage: bool = False,
) -> TestOutcome:
    """Run `tests` (paths relative to `project`) with `node --test` in the sandbox;
    TypeScript tests are compiled first, and `coverage` records the lines each test
    ran (see the module doc)."""
    limits = limits or Limits(timeout_seconds=120, cpu_seconds=120, memory_bytes=4 * 1024**3)
    project = project.resolve()
    script = _script(project, tests, int(limits.timeout_seconds * 1000), coverage=coverage)
    # bash, not sh: dash redirects one-digit descriptors only.
    result = run_command(
        ["/bin/bash", "-c", script],
        cwd=project,
        readable=[SERVICE_DIR],
        limits=limits,
        report=True,
        data=coverage,
    )
    outcome = parse_tap(result.report.decode("utf-8", errors="replace"))
    if coverage:
        lines = parse_coverage(result.data.decode("utf-8", errors="replace"), tests)
        # Skipped and todo tests have no verdict, so no coverage either; a test
        # whose file failed to load ran no body, so has no record.
        outcome.coverage = {name: lines[name] for name in outcome.verdicts if name in lines}
        # node reports where a test was declared as the first frame outside its own
        # code, which is now the preload's wrapper: that line, and the wrapper's
        # frames in stacks, say nothing of the project and would only reach the
        # retry prompt and the review page.
        ours = str(SERVICE_DIR / "coverage")  # coverage.mjs and its loader hooks
        for failure in outcome.failures:
            failure.text = "\n".join(line for line in failure.text.split("\n") if ours not in line)
    outcome.timed_out = result.timed_out
    outcome.duration_seconds = result.duration_seconds
    outcome.output = (result.stdout + result.stderr)[-20000:]
    if outcome.total == 0 and tests:
        outcome.collection_error = True
    return outcome


__all__ = [
    "BUILD_DIR",
    "compiled_path",
    "parse_coverage",
    "parse_tap",
    "run_node_tests",
    "tap_name",
]
