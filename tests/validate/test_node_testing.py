"""L2-L4 for TypeScript and JavaScript: the project's own `node:test` suite in the
sandbox, counted per test, failures blamed to atoms through source-mapped stacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mge.validate.blame import AtomSpan, SpanIndex, blame_coverage, blame_traceback
from mge.validate.node_testing import compiled_path, parse_coverage, parse_tap, run_node_tests
from mge.validate.typescript import SERVICE_DIR

EXAMPLE = Path(__file__).parents[2] / "examples" / "ts-ledger" / "reference"
TESTS = ["test/ledger.test.ts", "test/money.test.ts"]


def test_the_typescript_example_passes_every_test() -> None:
    outcome = run_node_tests(EXAMPLE, TESTS)
    assert (outcome.total, outcome.passed, outcome.failed) == (6, 6, 0), outcome.output
    assert outcome.ok
    assert not (EXAMPLE / ".mge-build").exists()  # built in the sandbox's copy


def test_a_fault_fails_its_tests_and_the_stack_names_the_atom(tmp_path: Path) -> None:
    project = tmp_path / "ledger"
    shutil.copytree(EXAMPLE, project)
    ledger = project / "src" / "core" / "ledger.ts"
    text = ledger.read_text()
    ledger.write_text(text.replace("this.lines.filter(", "(null as any).lines.filter("))
    outcome = run_node_tests(project, TESTS)
    assert (outcome.total, outcome.passed, outcome.failed) == (6, 4, 2)
    failure = next(f for f in outcome.failures if f.test == "balances follow the account kind")
    # The stack is mapped back to the TypeScript source: the line of `balance`.
    lines = ledger.read_text().splitlines()
    bad = next(n for n, line in enumerate(lines, 1) if "(null as any)" in line)
    assert f"src/core/ledger.ts:{bad}:" in failure.text
    index = SpanIndex(
        [
            AtomSpan("ledger::Ledger.post", "src/core/ledger.ts", 21, 33),
            AtomSpan("ledger::Ledger.balance", "src/core/ledger.ts", bad - 5, bad + 3),
        ]
    )
    suspects = blame_traceback(failure.text, index)
    assert suspects[0].atom_id == "ledger::Ledger.balance"


def test_a_javascript_project(tmp_path: Path) -> None:
    project = tmp_path / "calc"
    (project / "test").mkdir(parents=True)
    (project / "package.json").write_text(json.dumps({"name": "calc", "type": "module"}))
    (project / "calc.js").write_text("export const add = (a, b) => a + b;\n")
    (project / "test" / "calc.test.js").write_text(
        'import { test, describe } from "node:test";\nimport assert from "node:assert";\n'
        'import { add } from "../calc.js";\n'
        'describe("add", () => {\n  test("small", () => assert.equal(add(1, 2), 3));\n'
        '  test("wrong", () => assert.equal(add(1, 2), 4));\n});\n'
        'test("skipped", { skip: true }, () => {});\n'
    )
    outcome = run_node_tests(project, ["test/calc.test.js"])
    # The suite is no test of its own: its two tests are; a skipped one is not
    # counted, as pytest's skips are not.
    assert (outcome.total, outcome.passed, outcome.failed, outcome.skipped) == (2, 1, 1, 1)
    assert [f.test for f in outcome.failures] == ["wrong"]


def test_a_report_cut_short_fails_the_run() -> None:
    outcome = parse_tap("TAP version 13\n# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n")
    assert outcome.passed == 1 and outcome.collection_error and not outcome.ok


def test_a_name_keeps_the_line_separators_node_does_not_escape() -> None:
    outcome = parse_tap("TAP version 13\nok 1 - a \u2028 b \x1c c\n1..1\n")
    assert outcome.verdicts == {"a \u2028 b \x1c c": True} and outcome.ok


def test_compiled_paths() -> None:
    assert compiled_path("test/a.test.ts") == ".mge-build/test/a.test.js"
    assert compiled_path("t/b.spec.mts") == ".mge-build/t/b.spec.mjs"
    assert compiled_path("t/c.test.js") == "t/c.test.js"


def _lines_of(path: Path, first: str, last: str) -> set[int]:
    """The numbers of the lines from the one holding `first` to the one holding `last`."""
    lines = path.read_text().splitlines()
    start = next(n for n, line in enumerate(lines, 1) if first in line)
    end = next(n for n, line in enumerate(lines, 1) if n >= start and last in line)
    return set(range(start, end + 1))


def _shapes(project: Path, module: bool) -> Path:
    (project / "test").mkdir(parents=True)
    (project / "package.json").write_text(
        json.dumps({"name": "shapes", **({"type": "module"} if module else {})})
    )
    exports = "export " if module else ""
    lib = project / "shapes.js"
    lib.write_text(
        f"{exports}function area(w, h) {{\n  const a = w * h;\n  return a;\n}}\n\n"
        f"{exports}function label(n) {{\n  if (n > 1) {{\n    return 'many';\n  }}\n"
        "  return 'one';\n}\n" + ("" if module else "module.exports = { area, label };\n")
    )
    return lib


def test_each_test_covers_the_lines_it_ran(tmp_path: Path) -> None:
    project = tmp_path / "shapes"
    lib = _shapes(project, module=True)
    (project / "test" / "shapes.test.js").write_text(
        'import test from "node:test";\nimport { describe, it } from "node:test";\n'
        'import assert from "node:assert";\nimport { area, label } from "../shapes.js";\n'
        'test("area", () => assert.equal(area(2, 3), 6));\n'
        'describe("label", () => {\n'
        '  it("labels many", async () => { await null; assert.equal(label(2), "one"); });\n'
        "});\n"
        'test("skipped", { skip: true }, () => area(1, 1));\n'
    )
    outcome = run_node_tests(project, ["test/shapes.test.js"], coverage=True)
    assert (outcome.total, outcome.passed, outcome.failed, outcome.skipped) == (2, 1, 1, 1)
    area = _lines_of(lib, "function area", "}")
    label = _lines_of(lib, "function label", "return 'one'")
    assert set(outcome.coverage["area"]["shapes.js"]) == area
    # A failing test's coverage is recorded too; the branch it did not take is not.
    ran = set(outcome.coverage["labels many"]["shapes.js"])
    assert ran <= label | {max(label) + 1} and not ran & area
    assert _lines_of(lib, "'many'", "'many'") <= ran
    assert not _lines_of(lib, "'one'", "'one'") & ran
    # Skipped tests run nothing; the test files are not the code under test.
    assert set(outcome.coverage) == {"area", "labels many"}
    assert all(set(files) == {"shapes.js"} for files in outcome.coverage.values())
    assert outcome.verdicts == {"area": True, "labels many": False}
    # Which is what blame ranks atoms by.
    index = SpanIndex(
        [
            AtomSpan("shapes::area", "shapes.js", min(area), max(area)),
            AtomSpan("shapes::label", "shapes.js", min(label), max(label) + 1),
        ]
    )
    assert [s.atom_id for s in blame_coverage(outcome.coverage, outcome.verdicts, index)] == [
        "shapes::label"
    ]


def test_coverage_of_commonjs_subtests_and_callbacks(tmp_path: Path) -> None:
    project = tmp_path / "shapes"
    lib = _shapes(project, module=False)
    (project / "test" / "shapes.test.js").write_text(
        'const test = require("node:test");\nconst assert = require("node:assert");\n'
        'const { area, label } = require("../shapes.js");\n'
        'test("outer", async (t) => {\n'
        '  await t.test("inner", () => assert.equal(label(1), "one"));\n'
        "});\n"
        'test("callback", (t, done) => { area(1, 2); done(); });\n'
    )
    outcome = run_node_tests(project, ["test/shapes.test.js"], coverage=True)
    assert outcome.ok and outcome.total == 2, outcome.output
    assert set(outcome.coverage) == {"inner", "callback"}
    assert set(outcome.coverage["callback"]["shapes.js"]) == _lines_of(lib, "function area", "}")
    inner = set(outcome.coverage["inner"]["shapes.js"])
    assert _lines_of(lib, "return 'one'", "return 'one'") <= inner
    assert not _lines_of(lib, "'many'", "'many'") & inner


def test_coverage_changes_no_verdict(tmp_path: Path) -> None:
    """The wrapped bodies keep what the runner reads of them: the name of a test
    named by its function, the callback style, the outcome."""
    project = tmp_path / "shapes"
    _shapes(project, module=True)
    (project / "test" / "a.test.js").write_text(
        'import test from "node:test";\nimport assert from "node:assert";\n'
        'import { area } from "../shapes.js";\n'
        "test(function namedByItsFunction() { area(1, 1); });\n"
        'test("late callback", (t, done) => { setTimeout(() => done(new Error("no")), 5); });\n'
        'test("rejects", async () => { await null; assert.equal(area(1, 2), 3); });\n'
        'test("length", () => { assert.equal(area.length, 2); });\n'
    )
    plain = run_node_tests(project, ["test/a.test.js"])
    covered = run_node_tests(project, ["test/a.test.js"], coverage=True)
    assert (
        plain.verdicts
        == covered.verdicts
        == {
            "namedByItsFunction": True,
            "late callback": False,
            "rejects": False,
            "length": True,
        }
    )
    assert set(covered.coverage) == set(covered.verdicts)
    # Where the preload's wrapper declared the test is no news to a reader: the
    # failure says what it said without coverage.
    ours = str(SERVICE_DIR / "coverage")
    assert any(ours in f.text for f in covered.failures) is False
    assert [f.message for f in covered.failures] == [f.message for f in plain.failures]


def test_without_coverage_none_is_recorded(tmp_path: Path) -> None:
    project = tmp_path / "shapes"
    _shapes(project, module=True)
    (project / "test" / "a.test.js").write_text(
        'import test from "node:test";\nimport { area } from "../shapes.js";\n'
        'test("area", () => { area(1, 1); });\n'
    )
    outcome = run_node_tests(project, ["test/a.test.js"])
    assert outcome.ok and outcome.coverage == {}


def test_typescript_coverage_is_mapped_to_the_sources(tmp_path: Path) -> None:
    project = tmp_path / "ledger"
    shutil.copytree(EXAMPLE, project)
    outcome = run_node_tests(project, TESTS, coverage=True)
    assert outcome.ok, outcome.output
    money = project / "src" / "util" / "money.ts"
    assert outcome.coverage["sums"] == {"src/util/money.ts": sorted(_lines_of(money, "sum(", "}"))}
    assert "src/util/money.ts" in outcome.coverage["balances follow the account kind"]


def test_coverage_records_are_merged_and_checked() -> None:
    data = "\n".join(
        [
            json.dumps({"t": "a", "f": {"lib.js": [3, 1], "test/a.test.js": [5]}}),
            json.dumps({"t": "a", "f": {"lib.js": [2], "other.js": [7, "x", -1, True]}}),
            json.dumps(["not", "a", "record"]),
            '{"t": "b", "f": {"lib.js": [1',  # cut short
            json.dumps({"t": 3, "f": {}}),
            # Recorded under the test's name; keyed as the report escapes it.
            json.dumps({"t": "case #2\nends in \\", "f": {"lib.js": [4]}}),
        ]
    )
    assert parse_coverage(data, ["test/a.test.js"]) == {
        "a": {"lib.js": [1, 2, 3], "other.js": [7]},
        r"case \#2\\nends in \\": {"lib.js": [4]},
    }


def test_coverage_keys_match_the_reported_names(tmp_path: Path) -> None:
    project = tmp_path / "shapes"
    _shapes(project, module=True)
    (project / "test" / "a.test.js").write_text(
        'import test from "node:test";\nimport { area } from "../shapes.js";\n'
        r"for (const name of ['issue #7', 'back\\slash', 'new\nline', 'tab\there'])"
        "\n  test(name, () => { area(1, 1); });\n"
    )
    outcome = run_node_tests(project, ["test/a.test.js"], coverage=True)
    assert outcome.total == 4 and set(outcome.coverage) == set(outcome.verdicts), outcome.output
