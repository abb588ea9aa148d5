"""Cyclomatic complexity from the decision nodes of the syntax tree.

Complexity = 1 + the number of decision points whose first byte lies in the span.
Decision points are read from the tree, never from the text, so `if` inside a
string or comment does not count:

- Python: `if`, `elif`, `for`, `while`, `except`, `case`, each `and`/`or`
  (one `boolean_operator` node per operator), conditional expressions, and the
  `for`/`if` clauses of comprehensions.
- TypeScript/JavaScript: `if`, `for`, `for…in/of`, `while`, `do`, `catch`, each
  `case` (not `default`), the ternary `?:`, and each `&&`, `||`, `??`.

An atom's complexity counts the decisions inside its own span, so the pieces of a
split body add up to the body's decisions.
"""

from __future__ import annotations

from bisect import bisect_left

from mge.atomize._languages import check_language, parse
from mge.atomize._queries import capture

__all__ = ["complexity_in", "complexity_of"]


def complexity_in(decisions: list[int], start: int, end: int) -> float:
    """Complexity of bytes `start..end` given the sorted decision offsets of the file."""
    return float(1 + bisect_left(decisions, end) - bisect_left(decisions, start))


def complexity_of(source: bytes | str, language: str) -> float:
    """Cyclomatic complexity of a whole snippet of `language` code.

    Example: `complexity_of("if a and b:\\n    pass\\n", "python")` is 3.0.
    """
    name = check_language(language)
    data = source.encode("utf-8", errors="surrogateescape") if isinstance(source, str) else source
    captures = capture(parse(data, name), name)
    return float(1 + len(captures.decision))
