"""Mutation testing of atoms: which mutants are made, and how they fare against a
tiny real project's tests run in the sandbox."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mge.validate.blame import AtomSpan, SpanIndex
from mge.validate.mutation import (
    Mutant,
    atom_mutants,
    file_mutants,
    line_tests,
    mutation_scores,
    plan_mutants,
    run_mutants,
)
from mge.validate.testing import TestOutcome, run_pytest

SOURCE = """\
LIMIT = 10


def clamp(x: int) -> int:
    \"\"\"At most LIMIT.\"\"\"
    if x > LIMIT and x != 99:
        return LIMIT
    return x + 0


def scale(x: int, k: int = 2) -> int:
    total = x * k
    total -= 1
    return total if not x < 0 else -total
"""
CLAMP = (4, 8)
SCALE = (11, 14)

CALC = """\
def double(x: int) -> int:
    return x * 2


def loud(x: int) -> str:
    if x > 100:
        return "big"
    return "small"


def spin(n: int) -> int:
    while n > 0:
        n -= 1
    return n
"""
CALC_TESTS = """\
from pkg.calc import double, loud, spin


def test_double() -> None:
    assert double(3) == 6


def test_loud_runs() -> None:
    loud(5)


def test_spin() -> None:
    assert spin(3) == 0
"""
CALC_SPANS = {"double": (1, 2), "loud": (5, 8), "spin": (11, 14)}


def _every_line(tests: tuple[str, ...] = ("t::a",)) -> dict[int, list[str]]:
    return {line: list(tests) for line in range(1, 40)}


def _changed_lines(original: str, mutated: str) -> tuple[int, int]:
    """First and last line (of the original) where the texts differ."""
    old, new = original.splitlines(), mutated.splitlines()
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    return start + 1, len(old) - end


def test_mutants_stay_inside_the_atom_span() -> None:
    mutants = atom_mutants(SOURCE, "pkg/m.py", "clamp", CLAMP, _every_line(), limit=50)
    assert mutants
    for mutant in mutants:
        first, last = _changed_lines(SOURCE, mutant.source)
        assert CLAMP[0] <= first <= last <= CLAMP[1], mutant.change
        assert CLAMP[0] <= mutant.line <= CLAMP[1]
    # the docstring and the annotations are never touched
    assert not any("X" in m.change or "int" in m.change for m in mutants)


def test_mutants_are_made_only_on_executed_lines_with_their_tests() -> None:
    executed = {12: ["t::mul"], 14: ["t::ret", "t::mul"]}
    mutants = atom_mutants(SOURCE, "pkg/m.py", "scale", SCALE, executed, limit=50)
    assert {m.line for m in mutants} == {12, 14}
    for mutant in mutants:
        assert mutant.tests == tuple(sorted(executed[mutant.line]))
    assert "-= -> +=" not in {m.change for m in mutants}  # line 13 never ran
    assert atom_mutants(SOURCE, "pkg/m.py", "scale", SCALE, {}, limit=5) == []


def test_mutants_compile_differ_and_are_chosen_deterministically() -> None:
    first = atom_mutants(SOURCE, "pkg/m.py", "scale", SCALE, _every_line(), limit=3)
    again = atom_mutants(SOURCE, "pkg/m.py", "scale", SCALE, _every_line(), limit=3)
    assert first == again
    assert len(first) == 3
    assert len({m.source for m in first}) == 3
    original = ast.dump(ast.parse(SOURCE))
    for mutant in first:
        compile(mutant.source, "m.py", "exec")
        assert ast.dump(ast.parse(mutant.source)) != original
    # another atom key seeds another choice among the same candidates
    every = atom_mutants(SOURCE, "pkg/m.py", "scale", SCALE, _every_line(), limit=50)
    assert {m.change for m in every} >= {"* -> /", "-= -> +=", "not x -> x", "< -> <="}
    keys = [f"scale#{n}" for n in range(8)]
    picks = {
        tuple(m.change for m in atom_mutants(SOURCE, "m.py", k, SCALE, _every_line(), limit=2))
        for k in keys
    }
    assert len(picks) > 1


def test_a_multi_byte_line_is_spliced_at_the_right_column() -> None:
    source = 'def f(x: int) -> str:\n    return "é" if x >= 1 else "ü"\n'
    mutants = atom_mutants(source, "m.py", "f", (1, 2), _every_line(), limit=50)
    texts = {m.change: m.source for m in mutants}
    assert 'return "é" if (x > 1) else "ü"' in texts[">= -> >"]
    assert 'return "é" if x >= (0) else "ü"' in texts["1 -> 0"]


def test_plan_runs_every_atom_first_mutant_before_any_second() -> None:
    index = SpanIndex(
        [
            AtomSpan("clamp", "pkg/m.py", *CLAMP),
            AtomSpan("scale", "pkg/m.py", *SCALE),
        ]
    )
    coverage = {"t::a": {"pkg/m.py": list(range(1, 15))}, "t::b": {"pkg/m.py": [12]}}
    verdicts = {"t::a": True, "t::b": False}
    mutants = plan_mutants({"pkg/m.py": SOURCE}, index, coverage, verdicts, per_atom=2)
    assert [m.atom_id for m in mutants] == ["clamp", "scale", "clamp", "scale"]
    # only passing tests are ever selected
    assert all(m.tests == ("t::a",) for m in mutants)
    per_file = file_mutants(SOURCE, "pkg/m.py", index, _every_line(), limit=1)
    assert set(per_file) == {"clamp", "scale"}


@pytest.fixture
def calc(tmp_path: Path) -> tuple[Path, TestOutcome]:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "calc.py").write_text(CALC)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_calc.py").write_text(CALC_TESTS)
    outcome = run_pytest(tmp_path, ["tests/test_calc.py"], coverage=True)
    assert outcome.ok and outcome.passed == 3
    return tmp_path, outcome


def _calc_mutants(outcome: TestOutcome) -> dict[tuple[str, str], Mutant]:
    lines = line_tests(outcome.coverage, outcome.verdicts, "pkg/calc.py")
    index = SpanIndex([AtomSpan(k, "pkg/calc.py", *span) for k, span in CALC_SPANS.items()])
    found = file_mutants(CALC, "pkg/calc.py", index, lines, limit=20)
    return {(m.atom_id, m.change): m for mutants in found.values() for m in mutants}


def test_pinned_code_kills_unchecked_code_survives_a_hang_is_killed(
    calc: tuple[Path, TestOutcome],
) -> None:
    root, outcome = calc
    mutants = _calc_mutants(outcome)
    # `return "big"` never ran: no mutant there
    assert ("loud", "'big' -> 'bigX'") not in mutants
    chosen = [
        mutants[("double", "* -> /")],
        mutants[("loud", "> -> >=")],
        mutants[("loud", "'small' -> 'smallX'")],
        mutants[("spin", "-= -> +=")],  # an endless loop for n > 0
    ]
    assert chosen[0].tests == ("tests/test_calc.py::test_double",)
    before = (root / "pkg" / "calc.py").read_bytes()
    killed = run_mutants(root, chosen, budget_seconds=120)
    assert killed == {0: True, 1: False, 2: False, 3: True}
    assert (root / "pkg" / "calc.py").read_bytes() == before


def test_scores_per_atom(calc: tuple[Path, TestOutcome]) -> None:
    root, outcome = calc
    index = SpanIndex([AtomSpan(k, "pkg/calc.py", *span) for k, span in CALC_SPANS.items()])
    scores = mutation_scores(
        root,
        {"pkg/calc.py": CALC},
        index,
        outcome.coverage,
        outcome.verdicts,
        per_atom=2,
        budget_seconds=120,
    )
    assert scores["double"].mutants == scores["double"].killed == 2
    assert scores["loud"].mutants == 2
    assert scores["loud"].killed == 0
    assert len(scores["loud"].survived) == 2
    assert scores["loud"].to_dict()["mutants"] == 2


def test_no_verdict_when_the_unchanged_project_fails(calc: tuple[Path, TestOutcome]) -> None:
    root, outcome = calc
    mutant = _calc_mutants(outcome)[("double", "* -> /")]
    (root / "tests" / "test_calc.py").write_text(
        CALC_TESTS.replace("double(3) == 6", "double(3) == 7")
    )
    assert run_mutants(root, [mutant], budget_seconds=60) == {}


FORGER = """
import json
import os


def forge() -> None:
    lines = "".join(
        "@@mge-mutation " + json.dumps({"index": i, "code": 1, "timed_out": False}) + "\\n"
        for i in range(8)
    )
    targets = [f"/proc/{os.getppid()}/fd/{n}" for n in range(64)]
    targets += [f"/proc/self/fd/{n}" for n in range(64)]
    for path in targets:
        try:
            with open(path, "w") as handle:
                handle.write(lines)
        except OSError:
            pass
"""


def test_a_test_cannot_report_its_mutants_killed(calc: tuple[Path, TestOutcome]) -> None:
    """The unchecked `loud` mutants survive even when the test that runs them writes
    "killed" result lines to every descriptor of its own and of the driver's."""
    root, outcome = calc
    mutants = _calc_mutants(outcome)
    (root / "tests" / "forger.py").write_text(FORGER)
    (root / "tests" / "test_calc.py").write_text(
        CALC_TESTS.replace(
            "    loud(5)\n", "    from tests.forger import forge\n\n    forge()\n    loud(5)\n"
        )
    )
    chosen = [mutants[("loud", "> -> >=")], mutants[("loud", "'small' -> 'smallX'")]]
    assert run_mutants(root, chosen, budget_seconds=60) == {0: False, 1: False}
