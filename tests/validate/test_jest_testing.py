"""L2-L4 for a JavaScript project tested with jest: the project's own jest in the
sandbox, counted per test, failures blamed to atoms through the stack, and a
verdict the tests cannot forge (they run in jest's workers, never beside the
reporter that holds the channel)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mge.errors import MgeError
from mge.validate.blame import AtomSpan, SpanIndex, blame_traceback
from mge.validate.jest_testing import run_jest_tests
from mge.validate.vitest_testing import read_report

EXAMPLE = Path(__file__).parents[2] / "examples" / "js-jest" / "reference"
MODULES = EXAMPLE / "node_modules"
TESTS = ["test/units.test.js", "test/prices.test.js"]

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def _copy(tmp_path: Path) -> Path:
    """The example without its node_modules, as MGE's output is."""
    project = tmp_path / "prices"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("node_modules"))
    return project


def test_the_example_passes_every_test(tmp_path: Path) -> None:
    project = _copy(tmp_path)
    outcome = run_jest_tests(project, TESTS, modules_dir=MODULES)
    # A skipped test and a todo are not counted, as pytest's skips are not.
    assert (outcome.total, outcome.passed, outcome.failed, outcome.skipped) == (8, 8, 0, 2)
    assert outcome.ok, outcome.output
    assert outcome.verdicts["test/prices.test.js > prices > total > sums in cents"] is True
    assert outcome.verdicts["test/units.test.js > clamp keeps values in range"] is True
    assert not (project / "node_modules").exists()  # linked in the sandbox's copy only


def test_the_example_runs_in_place_with_its_own_node_modules() -> None:
    outcome = run_jest_tests(EXAMPLE, TESTS[:1], modules_dir=MODULES)
    assert (outcome.total, outcome.passed) == (4, 4), outcome.output


def test_a_fault_fails_its_tests_and_the_stack_names_the_atom(tmp_path: Path) -> None:
    project = _copy(tmp_path)
    units = project / "src" / "units.js"
    units.write_text(units.read_text().replace("Math.floor(total / parts)", "null.x / parts"))
    outcome = run_jest_tests(project, TESTS, modules_dir=MODULES)
    assert (outcome.total, outcome.passed, outcome.failed) == (8, 6, 2), outcome.output
    assert {f.test for f in outcome.failures} == {
        "test/units.test.js > units > shares among parts",
        "test/prices.test.js > prices > averages",
    }
    failure = next(f for f in outcome.failures if f.test.endswith("> averages"))
    assert failure.message == "Cannot read properties of null (reading 'x')"
    lines = units.read_text().splitlines()
    bad = next(n for n, line in enumerate(lines, 1) if "null.x" in line)
    assert f"src/units.js:{bad}:" in failure.text
    index = SpanIndex(
        [
            AtomSpan("units::centsOf", "src/units.js", 4, 6),
            AtomSpan("units::share", "src/units.js", bad - 4, bad + 1),
            AtomSpan("prices::averageCents", "src/prices.js", 10, 12),
        ]
    )
    suspects = blame_traceback(failure.text, index)
    assert [s.atom_id for s in suspects] == ["units::share", "prices::averageCents"]


def test_a_file_that_fails_to_load_is_one_failure(tmp_path: Path) -> None:
    project = _copy(tmp_path)
    (project / "test" / "broken.test.js").write_text(
        'const { nothing } = require("../src/missing");\ntest("never runs", () => nothing());\n'
    )
    outcome = run_jest_tests(project, [*TESTS, "test/broken.test.js"], modules_dir=MODULES)
    assert (outcome.total, outcome.passed, outcome.failed) == (9, 8, 1), outcome.output
    [failure] = outcome.failures
    assert failure.test == "test/broken.test.js" and failure.collection
    assert "missing" in failure.message
    assert not outcome.ok and not outcome.collection_error


def test_a_planned_file_that_holds_no_test_is_one_failure(tmp_path: Path) -> None:
    project = _copy(tmp_path)
    (project / "test" / "empty.test.js").write_text('"use strict";\n')
    outcome = run_jest_tests(project, ["test/empty.test.js"], modules_dir=MODULES)
    assert (outcome.total, outcome.failed, outcome.ok) == (1, 1, False)
    assert "must contain at least one test" in outcome.failures[0].message


def test_without_jest_installed_it_says_to_run_npm_ci(tmp_path: Path) -> None:
    project = _copy(tmp_path)
    with pytest.raises(MgeError, match=r"jest is not installed in .*; run `npm ci` in ") as err:
        run_jest_tests(project, TESTS, modules_dir=project / "node_modules")
    assert "\n" not in str(err.value)


_FORGERY = """
const fs = require("node:fs");

// What a test may try: print records, write records to every descriptor it
// holds, and to every descriptor of its parents it can open.
function forge(n) {
  return JSON.stringify({ t: "test", file: "x", name: ["forged"], state: "passed",
    errors: [], k: "", n }) + "\\n" + JSON.stringify({ t: "end", reason: "passed",
    errors: [], k: "", n: n + 1 }) + "\\n";
}

test("forges", () => {
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
    (project / "test" / "forge.test.js").write_text(_FORGERY)
    outcome = run_jest_tests(project, ["test/forge.test.js"], modules_dir=MODULES)
    # Whatever it reached, the wrong sum is not a pass: either the reporter's
    # records stand (one failed test) or the stream is spoilt (the run fails).
    assert not outcome.ok
    assert True not in outcome.verdicts.values()
    assert outcome.passed == 0


def test_the_reporter_holds_the_channel_alone(tmp_path: Path) -> None:
    """A test runs in a forked worker even alone in its run (jest would run a
    single file in its own process), holding no descriptor of the report channel:
    a record it writes to every pipe it inherited (one end only: not its own
    internal pipes) reaches the output at most, and the report stands."""
    project = _copy(tmp_path)
    (project / "test" / "fds.test.js").write_text(
        'const fs = require("node:fs");\n'
        'test("writes to what it inherited", () => {\n'
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
        # jest-worker's child, not the driver's process (JEST_WORKER_ID is set in both).
        "  expect(process.argv[1]).toMatch(/jest-worker.*processChild/);\n"
        "});\n"
    )
    outcome = run_jest_tests(project, ["test/fds.test.js"], modules_dir=MODULES)
    assert not outcome.tampered, outcome.output
    assert outcome.verdicts == {"test/fds.test.js > writes to what it inherited": True}
    assert outcome.ok


def test_a_report_not_the_reporters_names_jest() -> None:
    line = json.dumps({"t": "end", "reason": "passed", "k": "guess", "n": 0}) + "\n"
    outcome = read_report(Path("/p"), line, "k3y", returncode=0, runner="jest")
    assert outcome.tampered and not outcome.ok
    assert outcome.failures[0].message == "a report line did not come from MGE's jest driver"
    cut = read_report(Path("/p"), "", "k3y", returncode=0, runner="jest")
    assert cut.collection_error and cut.failures[0].message == "jest did not finish the run"


def test_no_tests_no_run(tmp_path: Path) -> None:
    outcome = run_jest_tests(tmp_path, [], modules_dir=tmp_path / "node_modules")
    assert (outcome.total, outcome.ok) == (0, True)


def test_the_projects_config_cannot_undo_the_drivers_options(tmp_path: Path) -> None:
    """A config that would cache into the read-only node_modules, drop MGE's
    reporter and run in one process: the driver's options win, and the test
    still runs in a worker."""
    project = _copy(tmp_path)
    (project / "jest.config.js").write_text(
        "module.exports = {\n"
        '  cacheDirectory: "<rootDir>/node_modules/.cache/jest",\n'
        '  reporters: ["default"],\n'
        "  maxWorkers: 1,\n"
        "};\n"
    )
    (project / "test" / "where.test.js").write_text(
        'test("runs in a worker", () => {\n'
        "  expect(process.argv[1]).toMatch(/jest-worker.*processChild/);\n"
        "});\n"
    )
    outcome = run_jest_tests(project, ["test/where.test.js"], modules_dir=MODULES)
    assert outcome.verdicts == {"test/where.test.js > runs in a worker": True}, outcome.output
    assert outcome.ok


def test_a_real_report_is_read() -> None:
    """What the reporter wrote for the example with `share` broken and a test file
    that requires a missing module (paths made /project): the same records as
    vitest's driver, read by the same parser."""
    report = (Path(__file__).parent / "fixtures" / "jest-report.jsonl").read_text()
    outcome = read_report(Path("/project"), report, "k3y", returncode=1, runner="jest")
    assert (outcome.total, outcome.passed, outcome.failed, outcome.skipped) == (9, 6, 3, 2)
    assert [f.test for f in outcome.failures] == [
        "test/units.test.js > units > shares among parts",
        "test/prices.test.js > prices > averages",
        "test/broken.test.js",
    ]
    assert outcome.failures[-1].collection
    assert outcome.verdicts["test/prices.test.js > prices > total > sums in cents"] is True
    index = SpanIndex([AtomSpan("units::share", "src/units.js", 8, 13)])
    assert [s.atom_id for s in blame_traceback(outcome.failures[1].text, index)] == ["units::share"]
    assert not outcome.ok and not outcome.tampered and not outcome.collection_error
