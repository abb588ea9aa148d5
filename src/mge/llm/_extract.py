"""Getting the code out of a model's answer.

Models wrap code in Markdown fences and surround it with prose ("Here is the
implementation:"), sometimes nesting a second fence inside the first. The
execution layer runs every answer through `extract_code` before validation, so
answers that only differ in wrapping become the same code.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

__all__ = ["extract_code"]

_FENCE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\s`]*)[^\n`]*$")

_ALIASES = {
    "python": {"python", "py", "python3", "py3"},
    "typescript": {"typescript", "ts", "tsx"},
    "tsx": {"typescript", "ts", "tsx"},
    "javascript": {"javascript", "js", "jsx", "mjs", "node"},
}


@dataclass(frozen=True, slots=True)
class _Block:
    info: str
    body: str
    closed: bool


def _blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i].rstrip("\r\n"))
        if opening is None:
            i += 1
            continue
        fence, info = opening["fence"], opening["info"].lower()
        body: list[str] = []
        i += 1
        closed = False
        while i < len(lines):
            stripped = lines[i].strip()
            # A closing fence: same character, at least as long, no info string.
            if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
                closed = True
                i += 1
                break
            body.append(lines[i])
            i += 1
        blocks.append(_Block(info, "".join(body), closed))
    return blocks


def extract_code(text: str, language: str = "python") -> str:
    """The code in a model answer: the longest fenced block for `language`.

    Blocks tagged with another language are used only when none is tagged with
    `language` or untagged. An unclosed fence (an answer cut short) yields what
    follows it. A block whose body is itself fenced is unwrapped again. Text with
    no fence is returned unchanged, except that unfenced Python which only parses
    once a leading or trailing sentence of prose is dropped loses those lines.
    """
    for _ in range(4):  # nested fences: unwrap a few levels, never loop forever
        blocks = [b for b in _blocks(text) if b.body.strip()]
        if not blocks:
            return _trim_prose(text) if language.lower() in ("python", "py") else text
        wanted = _ALIASES.get(language.lower(), {language.lower()})
        matching = [b for b in blocks if b.info in wanted or not b.info]
        chosen = max(matching or blocks, key=lambda b: len(b.body))
        text = chosen.body
    return text


_PROSE_LINE = re.compile(r"^[A-Z][^`#=\n]*\s[^`#=\n]*[.:!?]$")
_MAX_PROSE_LINES = 3


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _droppable(line: str) -> bool:
    """A blank or sentence-like line, which trimming may drop from an end."""
    stripped = line.strip()
    return not stripped or _PROSE_LINE.match(stripped) is not None


#: What the tokenizer skips on a line of its own: a line of only these is no token.
_PARSER_BLANK = " \t\f\r\n"


def _ends_in_prose(lines: list[str]) -> bool:
    """Whether the first or the last line with a token on it is droppable. When
    neither is, trimming could drop only lines the tokenizer skips, which leave
    whether the text parses as it was: no need to parse it to know."""
    written = [line for line in lines if line.strip(_PARSER_BLANK)]
    return bool(written) and (_droppable(written[0]) or _droppable(written[-1]))


def _trim_prose(text: str) -> str:
    """Drop up to three sentence-like lines at either end when that makes Python parse."""
    lines = text.splitlines(keepends=True)
    if not _ends_in_prose(lines):
        # The text is the only candidate: the answer stands as it is, parsed or
        # not (validation says which). Most answers are code from the first line
        # to the last, and this keeps a parse of each off the engine's loop.
        return text
    if _parses(text):
        return text
    head = 0
    while head < min(_MAX_PROSE_LINES, len(lines)) and _droppable(lines[head]):
        head += 1
    tail = len(lines)
    while tail > head and len(lines) - tail < _MAX_PROSE_LINES and _droppable(lines[tail - 1]):
        tail -= 1
    for start in range(head, -1, -1):
        for end in range(tail, len(lines) + 1):
            candidate = "".join(lines[start:end])
            if candidate.strip() and _parses(candidate):
                return candidate
    return text
