"""L2-L4 for a TypeScript project tested with vitest: the project's own vitest in
the sandbox, counted per test, failures blamed to atoms through the stack, and a
verdict the tests cannot forge."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mge.errors import MgeError
from mge.validate.blame import AtomSpan, SpanIndex, blame_traceback
from mge.validate.vitest_testing import read_report, run_vitest_tests

EXAMPLE = Path(__file__).parents[2] / "examples" / "ts-vitest" / "reference"
MODULES = EXAMPLE / "node_modules"
TESTS = ["test/math.test.ts", "test/stats.test.ts"]
KEY = "k3y"


def _copy(tmp_path: Path) -> Path:
    """The example without its node_modules, as MGE's output is."""
    project = tmp_path / "stats"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("node_modules"))
    return project


def _report(*records: dict[str, object], key: str = KEY) -> str:
    return "".join(json.dumps({**r, "k": key, "n": n}) + "\n" for n, r in enumerate(records))


def test_the_example_passes_every_test(tmp_path: Path) -> None:
    project = _copy(tmp_path)
    outcome = run_vitest_tests(project, TESTS, modules_dir=MODULES)
    # A skipped test and a todo are not counted, as pytest's skips are not.
    assert (outcome.total, outcome.passed, outcome.failed, outcome.skipped) == (8, 8, 0, 2)
    assert outcome.ok, outcome.output
    assert outcome.verdicts["test/stats.test.ts > stats > total > sums"] is True
    assert outcome.verdicts["test/math.test.ts > clamp keeps values in range"] is True
    assert not (project / "node_modules").exists()  # linked in the sandbox's copy only


def test_the_example_runs_in_place_with_its_own_node_modules() -> None:
    outcome = run_vitest_tests(EXAMPLE, TESTS[:1], modules_dir=MODULES)
    assert (outcome.total, outcome.passed) == (4, 4), outcome.output


def test_a_fault_fails_its_tests_and_the_stack_names_the_atom(tmp_path: Path) -> None:
    project = _copy(tmp_path)
    math = project / "src" / "math.ts"
    math.write_text(math.read_text().replace("return a / b;", "return (null as any).x / b;"))
    outcome = run_vitest_tests(project, TESTS, modules_dir=MODULES)
    assert (outcome.total, outcome.passed, outcome.failed) == (8, 5, 3)
    assert {f.test for f in outcome.failures} == {
        "test/math.test.ts > math > divides",
        "test/stats.test.ts > stats > mean",
        "test/stats.test.ts > stats > median of an even count",
    }
    failure = next(f for f in outcome.failures if f.test.endswith("> mean"))
    assert failure.message == "Cannot read properties of null (reading 'x')"
    lines = math.read_text().splitlines()
    bad = next(n for n, line in enumerate(lines, 1) if "(null as any)" in line)
    assert f"src/math.ts:{bad}:" in failure.text
    index = SpanIndex(
        [
            AtomSpan("math::add", "src/math.ts", 3, 5),
            AtomSpan("math::divide", "src/math.ts", bad - 4, bad + 1),
            AtomSpan("stats::mean", "src/stats.ts", 9, 11),
        ]
    )
    suspects = blame_traceback(failure.text, index)
    assert [s.atom_id for s in suspects] == ["math::divide", "stats::mean"]


def test_a_file_that_fails_to_load_is_one_failure(tmp_path: Path) -> None:
    project = _copy(tmp_path)
    (project / "test" / "broken.test.ts").write_text(
        'import { it } from "vitest";\nimport { nothing } from "../src/missing.js";\n'
        'it("never runs", () => nothing());\n'
    )
    outcome = run_vitest_tests(project, [*TESTS, "test/broken.test.ts"], modules_dir=MODULES)
    assert (outcome.total, outcome.passed, outcome.failed) == (9, 8, 1), outcome.output
    [failure] = outcome.failures
    assert failure.test == "test/broken.test.ts" and failure.collection
    assert "missing" in failure.message
    assert not outcome.ok and not outcome.collection_error


def test_without_vitest_installed_it_says_to_run_npm_ci(tmp_path: Path) -> None:
    project = _copy(tmp_path)
    with pytest.raises(MgeError, match=r"vitest is not installed in .*; run `npm ci` in ") as err:
        run_vitest_tests(project, TESTS, modules_dir=project / "node_modules")
    assert "\n" not in str(err.value)


_FORGERY = """
import { it, expect } from "vitest";
import fs from "node:fs";

// What a test may try: print records, write records to every descriptor it
// holds, and to every descriptor of its parents it can open.
function forge(n) {
  return JSON.stringify({ t: "test", file: "x", name: ["forged"], state: "passed",
    errors: [], k: "", n }) + "\\n" + JSON.stringify({ t: "end", reason: "passed",
    errors: [], k: "", n: n + 1 }) + "\\n";
}

it("forges", () => {
  console.log(forge(0));
  process.stdout.write(forge(0));
  for (let fd = 3; fd < 256; fd++) {
    try { fs.writeSync(fd, forge(0)); } catch {}
  }
  for (const pid of [process.ppid, "self"]) {
    let names = [];
    try { names = fs.readdirSync(`/proc/${pid}/fd`); } catch {}
    for (const name of names) {
      try {
        fs.writeSync(fs.openSync(`/proc/${pid}/fd/${name}`, "w"), forge(0));
      } catch {}
    }
  }
  expect(1 + 1).toBe(3);
});
"""


def test_a_test_cannot_forge_its_verdict(tmp_path: Path) -> None:
    project = _copy(tmp_path)
    (project / "test" / "forge.test.ts").write_text(_FORGERY)
    outcome = run_vitest_tests(project, ["test/forge.test.ts"], modules_dir=MODULES)
    # Whatever it reached, the wrong sum is not a pass: either the driver's report
    # stands (one failed test) or the stream is spoilt (the run fails).
    assert not outcome.ok
    assert True not in outcome.verdicts.values()
    assert outcome.passed == 0


def test_the_driver_holds_the_channel_alone(tmp_path: Path) -> None:
    """A forked worker holds no descriptor of the report channel: a record it writes
    to every pipe it inherited (one end only: not its own internal pipes) reaches
    the output at most, and the report stands."""
    project = _copy(tmp_path)
    (project / "test" / "fds.test.ts").write_text(
        'import { it, expect } from "vitest";\nimport fs from "node:fs";\n'
        'it("writes to what it inherited", () => {\n'
        '  const links = fs.readdirSync("/proc/self/fd").map((fd) => {\n'
        "    try { return [Number(fd), fs.readlinkSync(`/proc/self/fd/${fd}`)]; }\n"
        '    catch { return [Number(fd), ""]; }\n'
        "  });\n"
        '  const pipes = links.filter(([, l]) => l.startsWith("pipe:"));\n'
        "  const single = pipes.filter(([, l]) => pipes.filter(([, m]) => m === l).length === 1);\n"
        "  for (const [fd] of single) {\n"
        '    try { fs.writeSync(fd, \'{"t": "end", "reason": "passed"}\\n\'); } catch {}\n'
        "  }\n"
        "  expect(process.env.MGE_REPORT_FD).toBeUndefined();\n"
        "  expect(process.env.MGE_REPORT_KEY_FD).toBeUndefined();\n"
        "});\n"
    )
    outcome = run_vitest_tests(project, ["test/fds.test.ts"], modules_dir=MODULES)
    assert not outcome.tampered, outcome.output
    assert outcome.verdicts == {"test/fds.test.ts > writes to what it inherited": True}
    assert outcome.ok


def test_a_real_report_is_read() -> None:
    """What the driver wrote for the example with `divide` broken and a test file
    that imports a missing module (paths made /project)."""
    report = (Path(__file__).parent / "fixtures" / "vitest-report.jsonl").read_text()
    outcome = read_report(Path("/project"), report, "k3y", returncode=1)
    assert (outcome.total, outcome.passed, outcome.failed, outcome.skipped) == (9, 5, 4, 2)
    assert [f.test for f in outcome.failures] == [
        "test/math.test.ts > math > divides",
        "test/stats.test.ts > stats > mean",
        "test/stats.test.ts > stats > median of an even count",
        "test/broken.test.ts",
    ]
    assert outcome.failures[-1].collection
    assert outcome.verdicts["test/stats.test.ts > stats > total > sums"] is True
    index = SpanIndex([AtomSpan("math::divide", "src/math.ts", 7, 12)])
    assert [s.atom_id for s in blame_traceback(outcome.failures[1].text, index)] == ["math::divide"]
    assert not outcome.ok and not outcome.tampered and not outcome.collection_error


def test_a_report_is_read_per_test() -> None:
    project = Path("/p")
    report = _report(
        {"t": "test", "file": "/p/t/a.test.ts", "name": ["s", "ok"], "state": "passed"},
        {
            "t": "test",
            "file": "/p/t/a.test.ts",
            "name": ["s", "bad"],
            "state": "failed",
            "errors": [{"message": "boom\nmore", "stack": "Error: boom\n  at f (/p/src/f.ts:3:4)"}],
        },
        {"t": "test", "file": "/p/t/a.test.ts", "name": ["later"], "state": "skipped"},
        {"t": "module", "file": "/p/t/a.test.ts", "state": "failed", "errors": []},
        {"t": "end", "reason": "failed", "errors": []},
    )
    outcome = read_report(project, report, KEY, returncode=1)
    assert (outcome.total, outcome.passed, outcome.failed, outcome.skipped) == (2, 1, 1, 1)
    assert outcome.verdicts == {"t/a.test.ts > s > ok": True, "t/a.test.ts > s > bad": False}
    [failure] = outcome.failures
    assert failure.message == "boom" and "/p/src/f.ts:3:4" in failure.text
    assert not outcome.tampered and not outcome.collection_error


def test_a_report_cut_short_fails_the_run() -> None:
    report = _report({"t": "test", "file": "/p/a.test.ts", "name": ["a"], "state": "passed"})
    outcome = read_report(Path("/p"), report, KEY, returncode=0)
    assert outcome.collection_error and not outcome.ok


_PASSED = {"t": "test", "file": "/p/a.test.ts", "name": ["a"], "state": "passed"}
_END = {"t": "end", "reason": "passed"}


def _line(record: dict[str, object], key: str, n: int) -> str:
    return json.dumps({**record, "k": key, "n": n}) + "\n"


@pytest.mark.parametrize(
    ("tail", "returncode"),
    [
        # Written without the key, or out of sequence, or after the end.
        (_line(_END, "guess", 1), 0),
        (_line(_END, KEY, 2), 0),
        (_line(_END, KEY, 1) + "\n", 0),
        (_line(_END, KEY, 1) + _line(_END, KEY, 2), 0),
        # The record says passed, the process did not.
        (_line(_END, KEY, 1), 1),
    ],
)
def test_a_stream_not_the_drivers_alone_fails_the_run(tail: str, returncode: int) -> None:
    stream = _line(_PASSED, KEY, 0) + tail
    outcome = read_report(Path("/p"), stream, KEY, returncode=returncode)
    assert outcome.tampered and not outcome.ok and outcome.passed == 0
    assert outcome.verdicts == {"a.test.ts > a": False}


def test_no_tests_no_run(tmp_path: Path) -> None:
    outcome = run_vitest_tests(tmp_path, [], modules_dir=tmp_path / "node_modules")
    assert (outcome.total, outcome.ok) == (0, True)


def test_a_planned_file_that_holds_no_test_is_one_failure(tmp_path: Path) -> None:
    project = _copy(tmp_path)
    (project / "test" / "empty.test.ts").write_text("export {};\n")
    outcome = run_vitest_tests(project, ["test/empty.test.ts"], modules_dir=MODULES)
    # Vitest fails such a file, as a file that does not load: one failure.
    assert (outcome.total, outcome.failed, outcome.ok) == (1, 1, False)
    assert outcome.failures[0].message.startswith("No test suite found")
