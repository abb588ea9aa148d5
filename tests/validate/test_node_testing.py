"""L2-L4 for TypeScript and JavaScript: the project's own `node:test` suite in the
sandbox, counted per test, failures blamed to atoms through source-mapped stacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mge.validate.blame import AtomSpan, SpanIndex, blame_traceback
from mge.validate.node_testing import compiled_path, parse_tap, run_node_tests

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


def test_compiled_paths() -> None:
    assert compiled_path("test/a.test.ts") == ".mge-build/test/a.test.js"
    assert compiled_path("t/b.spec.mts") == ".mge-build/t/b.spec.mjs"
    assert compiled_path("t/c.test.js") == "t/c.test.js"
