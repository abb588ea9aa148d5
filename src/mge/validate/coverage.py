"""How much of each atom the passing tests executed.

Silent faults (a flipped operator, a changed constant) survive in code no test
runs, so the share of an atom's lines the final acceptance run executed is a
reason for doubt the review score can read. The lines come from the per-test
trace the sandboxed pytest run already records for blame; only the tests that
passed count, since a line run by a failing test is not vouched for.

Only lines inside functions are counted: module and class bodies run when a file
is imported, before any test starts and outside the trace, so they would always
look unexecuted. The lines are those of the compiled code objects (`co_lines`),
which are exactly the lines a line tracer can report.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mge.validate.blame import SpanIndex

__all__ = ["AtomCoverage", "atom_coverage", "executable_lines", "executed_lines"]


@dataclass(frozen=True)
class AtomCoverage:
    """The function lines of one atom, and how many of them a passing test ran."""

    covered: int
    total: int

    @property
    def share(self) -> float:
        return self.covered / self.total if self.total else 1.0


def executable_lines(source: str, filename: str = "<atom>") -> set[int]:
    """The lines of every function body (and lambda, comprehension) in `source`;
    empty when it does not compile."""
    try:
        code = compile(source, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return set()
    lines: set[int] = set()
    stack = [code]
    while stack:
        current = stack.pop()
        stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
        if current.co_flags & inspect.CO_OPTIMIZED:
            lines.update(line for _, _, line in current.co_lines() if line is not None)
    return lines


def executed_lines(
    coverage: Mapping[str, Mapping[str, Sequence[int]]], verdicts: Mapping[str, bool]
) -> dict[str, set[int]]:
    """The union, per file, of the lines the passing tests ran."""
    union: dict[str, set[int]] = {}
    for test, files in coverage.items():
        if not verdicts.get(test, False):
            continue
        for file, lines in files.items():
            union.setdefault(file, set()).update(lines)
    return union


def atom_coverage(
    sources: Mapping[str, str], index: SpanIndex, executed: Mapping[str, set[int]]
) -> dict[str, AtomCoverage]:
    """Per atom id, its function lines and how many were executed. Atoms without a
    function line (imports, constants, class fields) are left out: no test run can
    say anything about them."""
    counts: dict[str, list[int]] = {}
    for file, source in sources.items():
        ran = executed.get(file, set())
        for line in executable_lines(source, file):
            atom = index.atom_at(file, line)
            if atom is None:
                continue
            entry = counts.setdefault(atom, [0, 0])
            entry[1] += 1
            entry[0] += line in ran
    return {atom: AtomCoverage(covered, total) for atom, (covered, total) in counts.items()}
