"""Per-atom test coverage: which function lines of each atom the passing tests ran."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mge.validate.blame import AtomSpan, SpanIndex
from mge.validate.coverage import AtomCoverage, atom_coverage, executable_lines, executed_lines
from mge.validate.node_testing import run_node_tests
from mge.validate.testing import run_pytest

SOURCE = '''\
"""A module."""

LIMIT = 3


class Box:
    size: int = 0

    def grow(self, by: int) -> int:
        """Bigger."""
        self.size += by
        return self.size


def clamp(value: int) -> int:
    if value > LIMIT:
        return LIMIT
    return value


def unused(value: int) -> int:
    return -value
'''

# (first, last) line of each atom of SOURCE, as the assembler would report them.
SPANS = {
    "header": (1, 4),
    "Box": (6, 8),
    "Box.grow": (9, 13),
    "clamp": (15, 19),
    "unused": (21, 23),
}

TESTS = """\
from calc import Box, clamp


def test_grow():
    assert Box().grow(2) == 2


def test_clamp_small():
    assert clamp(1) == 1


def test_clamp_fails():
    assert clamp(9) == 0
"""


def _index(file: str = "calc.py") -> SpanIndex:
    return SpanIndex([AtomSpan(atom, file, first, last) for atom, (first, last) in SPANS.items()])


def test_only_function_bodies_are_executable_lines() -> None:
    lines = executable_lines(SOURCE)
    # the bodies (and their def lines, where a call starts) of grow, clamp and unused
    assert {11, 12, 16, 17, 18, 22} <= lines
    # the module docstring, the constant, the class header and its field run at import
    assert not lines & {1, 3, 6, 7}
    # a docstring is no instruction
    assert 10 not in lines
    assert executable_lines("def broken(:\n") == set()


def test_only_passing_tests_count_as_executed() -> None:
    coverage = {"a": {"m.py": [1, 2]}, "b": {"m.py": [3], "n.py": [1]}, "c": {"m.py": [4]}}
    assert executed_lines(coverage, {"a": True, "b": False}) == {"m.py": {1, 2}}


def test_atoms_no_passing_test_reaches_are_uncovered(tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text(SOURCE)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_calc.py").write_text(TESTS)
    outcome = run_pytest(tmp_path, ["tests/test_calc.py"], timeout=60, coverage=True)
    assert (outcome.passed, outcome.failed) == (2, 1)
    shares = atom_coverage(
        {"calc.py": SOURCE}, _index(), executed_lines(outcome.coverage, outcome.verdicts)
    )
    assert shares["Box.grow"].share == 1.0
    assert shares["unused"] == AtomCoverage(covered=0, total=2)
    # `return LIMIT` ran only in the failing test, which vouches for nothing
    assert 0.0 < shares["clamp"].share < 1.0
    assert shares["clamp"].total - shares["clamp"].covered == 1
    # imports, constants and class fields: nothing a test run can say about them
    assert "header" not in shares and "Box" not in shares


SCRIPT = """\
'use strict'
const LIMIT = 3

class Box {
  grow (by) {
    this.size = (this.size || 0) + by
    return this.size
  }

  get empty () { return !this.size }
}

function clamp (value) {
  // a comment runs nothing
  if (value > LIMIT) {
    return LIMIT
  }
  return value
}

const negate = (value) =>
  -value

module.exports = { Box, clamp, negate, twice: () => 2 }
"""

SCRIPT_SPANS = {
    "header": (1, 3),
    "Box": (4, 4),
    "Box.grow": (5, 9),
    "Box.empty": (10, 11),
    "clamp": (13, 20),
    "negate": (21, 23),
    "exports": (24, 24),
}

SCRIPT_TESTS = """\
const test = require('node:test')
const assert = require('node:assert')
const { Box, clamp } = require('../calc.js')

test('grow', () => { assert.strictEqual(new Box().grow(2), 2) })
test('clamp small', () => { assert.strictEqual(clamp(1), 1) })
test('clamp fails', () => { assert.strictEqual(clamp(9), 0) })
"""


def test_script_statements_in_function_bodies_are_executable_lines() -> None:
    lines = executable_lines(SCRIPT, "calc.js")
    # the statements of grow, the one-line getter, clamp, and the arrow's body
    assert lines == {6, 7, 10, 15, 16, 18, 22}
    # a line that begins as module code (`twice: () => 2`) is never marked by V8
    assert 24 not in lines
    assert executable_lines(SCRIPT, "calc.ts") == lines


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_script_atoms_no_passing_test_reaches_are_uncovered(tmp_path: Path) -> None:
    """V8's per-test lines, taken in the sandbox, against the statement lines: the
    same shares the pytest trace gives a Python project."""
    (tmp_path / "calc.js").write_text(SCRIPT)
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "calc.test.js").write_text(SCRIPT_TESTS)
    outcome = run_node_tests(tmp_path, ["test/calc.test.js"], coverage=True)
    assert (outcome.passed, outcome.failed) == (2, 1)
    index = SpanIndex(
        [AtomSpan(atom, "calc.js", first, last) for atom, (first, last) in SCRIPT_SPANS.items()]
    )
    shares = atom_coverage(
        {"calc.js": SCRIPT}, index, executed_lines(outcome.coverage, outcome.verdicts)
    )
    assert shares["Box.grow"] == AtomCoverage(covered=2, total=2)
    assert shares["Box.empty"] == AtomCoverage(covered=0, total=1)
    assert shares["negate"] == AtomCoverage(covered=0, total=1)
    # `return LIMIT` ran only in the failing test, which vouches for nothing
    assert shares["clamp"] == AtomCoverage(covered=2, total=3)
    assert "header" not in shares and "exports" not in shares
