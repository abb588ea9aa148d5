"""The compound statements an assembly leaves open, and the stand-ins that close them.

A long body is split into block atoms at line boundaries, so one atom can end inside
a compound statement whose rest is in atoms not written yet: a `try:` whose handlers
come later, an `if` whose `else` comes later, a `match` whose cases come later, a
header whose whole body comes later. A stand-in `pass` at the planned indentation is
not enough there (`try:` with no `except` or `finally` does not compile), so a
correct atom would fail atomic validation for want of code that is not its own.
`Structure` follows the statements of the text assembled so far and says what to
write so that the next piece, or the end of the file, is valid where it lands. It
reads only the code in the assembly, never code the model has not written.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Line", "Structure", "continues_statement", "first_line", "logical_lines"]

_KEYWORD = re.compile(r"(?:async\s+)?([A-Za-z_]\w*)")
# Statements that take a body: hard keywords always, soft ones (`match`, `case`) only
# when the line ends with a colon (`match = 1` is an assignment).
_COMPOUND = frozenset(
    {"if", "elif", "else", "for", "while", "try", "except", "finally", "with", "def", "class"}
)
_SOFT = frozenset({"match", "case"})
# The stand-in case of a `match`: a wildcard that never matches, so that it makes no
# later case unreachable (a compile error) and takes no value from a written one.
_NO_CASE = "case _ if False:"
# A clause that continues the statement opened by one of the given clauses at the
# same indentation.
_CONTINUES: dict[str, frozenset[str]] = {
    "elif": frozenset({"if", "elif"}),
    "else": frozenset({"if", "elif", "for", "while", "except"}),
    "except": frozenset({"try", "except"}),
    "finally": frozenset({"try", "except", "else"}),
}


@dataclass(frozen=True, slots=True)
class Line:
    """The start of one logical line (a statement, however many lines it spans)."""

    indent: str
    keyword: str  # its first word when that is a statement keyword, else ""
    opens: bool  # a header whose body starts on the next line

    @property
    def width(self) -> int:
        return len(self.indent.expandtabs(8))


@functools.lru_cache(maxsize=4096)
def logical_lines(text: str) -> tuple[Line, ...]:
    """The logical lines of a piece of code, skipping blank lines, comments and the
    insides of strings and brackets. Pieces are cached: the same atoms are assembled
    for every attempt at their neighbours."""
    found: list[Line] = []
    depth = 0
    quote = ""
    continued = False
    current: tuple[str, str] | None = None
    for raw in text.splitlines():
        if not quote and depth == 0 and not continued:
            stripped = raw.lstrip()
            if not stripped or stripped.startswith("#"):
                continue
            match = _KEYWORD.match(stripped)
            current = (raw[: len(raw) - len(stripped)], match.group(1) if match else "")
        last, quote, depth, continued = _scan(raw, quote, depth)
        if not quote and depth == 0 and not continued and current is not None:
            indent, word = current
            opens = last == ":"
            keyword = word if word in _COMPOUND or (word in _SOFT and opens) else ""
            found.append(Line(indent, keyword, opens))
            current = None
    return tuple(found)


def _scan(raw: str, quote: str, depth: int) -> tuple[str, str, int, bool]:
    """Read one physical line from inside `quote` (a string left open, or "") at
    bracket depth `depth`: (last character outside strings and comments, the string
    still open, the depth, whether a backslash continues the line)."""
    last = ""
    index, size = 0, len(raw)
    while index < size:
        char = raw[index]
        if quote:
            if char == "\\":
                index += 2
                continue
            if raw.startswith(quote, index):
                index += len(quote)
                quote, last = "", char
                continue
            index += 1
            continue
        if char == "#":
            return last, "", depth, False
        if char in "\"'":
            quote = char * 3 if raw.startswith(char * 3, index) else char
            index += len(quote)
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        if not char.isspace():
            last = char
        index += 1
    continued = raw.endswith("\\") and len(quote) <= 1
    if len(quote) == 1 and not continued:
        quote = ""  # a one-quote string cannot span lines without a backslash
    return last, quote, depth, continued


def first_line(text: str) -> Line | None:
    lines = logical_lines(text)
    return lines[0] if lines else None


def continues_statement(text: str) -> bool:
    """Whether `text` starts with a clause that continues a statement (`else:`,
    `except ...:`, ...), which cannot stand without the statement's start."""
    line = first_line(text)
    return line is not None and line.keyword in _CONTINUES


@dataclass(slots=True)
class _Open:
    line: Line
    clause: str  # the clause reached so far: "try" until a handler is seen
    body: str | None  # indentation of the body's first line; None while it is missing


def _deeper(indent: str) -> str:
    return indent + ("\t" if "\t" in indent else "    ")


class Structure:
    """The statements open at the end of the text fed so far."""

    def __init__(self) -> None:
        self.stack: list[_Open] = []
        self.last: Line | None = None

    def feed(self, text: str) -> None:
        for line in logical_lines(text):
            self._line(line)

    def _line(self, line: Line) -> None:
        while self.stack:
            top = self.stack[-1]
            if line.width > top.line.width:
                if top.body is None:
                    top.body = line.indent
                break
            self.stack.pop()
            if line.width == top.line.width and top.clause in _CONTINUES.get(line.keyword, ()):
                break
        if line.keyword:
            self.stack.append(_Open(line, line.keyword, None if line.opens else line.indent))
        self.last = line

    def closing(self, line: Line | None) -> str:
        """What to write before `line` (None: the end of the file) so that it is valid
        there: a body for each header left without one, a `finally` for each `try`
        left without a handler, a `case` for a `match` left without one."""
        width = line.width if line is not None else 0
        keyword = line.keyword if line is not None else ""
        out: list[str] = []
        for entry in reversed(self.stack):
            if width > entry.line.width:
                break  # `line` is inside this statement's body
            if entry.body is None:
                out.append(_empty_body(entry))
            if width == entry.line.width and entry.clause in _CONTINUES.get(keyword, ()):
                break
            if entry.clause == "try":
                head, inner = entry.line.indent, _deeper(entry.line.indent)
                if keyword == "else" and width == entry.line.width:
                    out.append(f"{head}except BaseException:\n{inner}raise\n")
                    break  # the `else` continues the statement now
                out.append(f"{head}finally:\n{inner}pass\n")
        text = "".join(out)
        self.feed(text)
        return text

    def block_filler(self, planned: str, following: Line | None, names: Sequence[str] = ()) -> str:
        """The stand-in for a piece of a body planned at indentation `planned`, where
        `following` is the first line of the next written piece (None when the next
        piece is not written): one level under a header left open, no deeper than
        the line before it, and inside the statement a following `else`/`except`/...
        continues. It binds `names`, the names the planned piece binds, so that code
        written before it that needs them (a `nonlocal`, a nested function calling a
        helper defined further down) is judged as it will run."""
        top = self.stack[-1] if self.stack else None
        width = len(planned.expandtabs(8))
        if top is not None and top.body is None:
            indent = planned if width > top.line.width else _deeper(top.line.indent)
        else:
            indent = planned if self.last is None or width <= self.last.width else self.last.indent
        if following is not None and following.keyword in _CONTINUES:
            indent = self._inside(indent, following)
        statement = f"{' = '.join(names)} = None" if names else "pass"
        width = len(indent.expandtabs(8))
        owner = next((e for e in reversed(self.stack) if e.line.width < width), None)
        if owner is not None and owner.clause == "match":
            return f"{indent}{_NO_CASE}\n{_deeper(indent)}{statement}\n"
        return f"{indent}{statement}\n"

    def _inside(self, indent: str, following: Line) -> str:
        """`indent`, or the body of the statement `following` continues when `indent`
        would end that statement first."""
        if len(indent.expandtabs(8)) > following.width:
            return indent
        allowed = _CONTINUES[following.keyword]
        for entry in reversed(self.stack):
            if entry.line.width < following.width:
                break
            if entry.line.width == following.width and entry.clause in allowed:
                return entry.body if entry.body and entry.line.opens else indent
        return indent


def _empty_body(entry: _Open) -> str:
    indent = _deeper(entry.line.indent)
    if entry.clause == "match":
        return f"{indent}{_NO_CASE}\n{_deeper(indent)}pass\n"
    return f"{indent}pass\n"
