"""How much of each atom the passing tests executed.

Silent faults (a flipped operator, a changed constant) survive in code no test
runs, so the share of an atom's lines the final acceptance run executed is a
reason for doubt the review score can read. The lines come from the per-test
trace the sandboxed pytest run already records for blame; only the tests that
passed count, since a line run by a failing test is not vouched for.

Only lines inside functions are counted: module and class bodies run when a file
is imported, before any test starts and outside the trace, so they would always
look unexecuted. In Python the lines are those of the compiled code objects
(`co_lines`), which are exactly the lines a line tracer can report; in JavaScript
and TypeScript they are the lines where a statement inside a function body
starts, which are the lines V8's block coverage marks when it runs (and what a
source map maps a compiled statement back to).
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mge.atomize._languages import parse, supported_language
from mge.validate.blame import SpanIndex

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["AtomCoverage", "atom_coverage", "executable_lines", "executed_lines"]


@dataclass(frozen=True)
class AtomCoverage:
    """The function lines of one atom, and how many of them a passing test ran."""

    covered: int
    total: int

    @property
    def share(self) -> float:
        return self.covered / self.total if self.total else 1.0


_FUNCTIONS = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "function",
        "generator_function",
        "arrow_function",
        "method_definition",
    }
)


def _statement_lines(source: str, language: str) -> set[int]:
    """Lines where a statement inside a function body starts (an arrow function's
    expression body counts as one), when the line begins inside that function: V8
    marks a line by its first character, and on `module.exports = () => 3` that
    character is module code, which runs at import, outside every test."""
    text = source.encode("utf-8", errors="surrogateescape")
    root = parse(text, language).root_node
    lines: set[int] = set()
    stack: list[tuple[Node, Node | None]] = [(root, None)]
    while stack:
        node, function = stack.pop()
        parent = node.parent
        if function is not None and node.is_named and parent is not None:
            statement = parent.type == "statement_block" and node.type != "comment"
            body = (
                parent.type == "arrow_function"
                and node.type != "statement_block"
                and node == parent.child_by_field_name("body")
            )
            if statement or body:
                row = node.start_point[0]
                begins = text.rfind(b"\n", 0, node.start_byte) + 1
                first = begins + len(text[begins:]) - len(text[begins:].lstrip(b" \t"))
                if function.start_byte <= first:
                    lines.add(row + 1)
        inner = node if node.type in _FUNCTIONS else function
        stack.extend((child, inner) for child in node.children)
    return lines


def executable_lines(source: str, filename: str = "<atom>") -> set[int]:
    """The lines of every function body (and lambda, comprehension) in `source`;
    empty when it does not compile (Python)."""
    language = supported_language(filename)
    if language not in (None, "python"):
        return _statement_lines(source, language)
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
