"""Per-atom test coverage: which function lines of each atom the passing tests ran."""

from __future__ import annotations

from pathlib import Path

from mge.validate.blame import AtomSpan, SpanIndex
from mge.validate.coverage import AtomCoverage, atom_coverage, executable_lines, executed_lines
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
