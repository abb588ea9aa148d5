"""Line arithmetic over raw bytes: line numbers, LOC and non-whitespace counts.

LOC counts lines that hold some code, where a line holding only blanks and
comments does not count. Comments are known from the syntax tree, not guessed from
`#` or `//` (a `#` inside a string is code), so the counting works on a copy of
the source with every comment byte except newlines blanked out.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate

__all__ = ["LineIndex", "nws_count"]

_WHITESPACE = b" \t\n\r\x0b\x0c"
_BLANK_ALL_BUT_NEWLINE = bytes(10 if i == 10 else 32 for i in range(256))


def nws_count(chunk: bytes) -> int:
    """Non-whitespace bytes of `chunk`: the size unit chunkers such as astchunk use."""
    return len(chunk.translate(None, _WHITESPACE))


class LineIndex:
    """Answers line numbers and LOC of byte ranges of one source in O(log n)."""

    __slots__ = ("_code_prefix", "_starts", "size")

    def __init__(self, source: bytes, comments: Iterable[tuple[int, int]] = ()) -> None:
        self.size = len(source)
        # Everything per line runs through C-level map/accumulate: a Python loop over
        # the lines of the standard library costs as much as parsing it.
        lines = source.split(b"\n")
        self._starts = list(accumulate(map((1).__add__, map(len, lines[:-1])), initial=0))
        code = source
        spans = sorted(comments)
        if spans:
            pieces: list[bytes] = []
            last = 0
            for start, end in spans:
                if start < last:
                    start = last
                if end <= start:
                    continue
                pieces.append(source[last:start])
                pieces.append(source[start:end].translate(_BLANK_ALL_BUT_NEWLINE))
                last = end
            pieces.append(source[last:])
            code = b"".join(pieces)
            lines = code.split(b"\n")
        self._code_prefix = list(accumulate(map(bool, map(bytes.strip, lines)), initial=0))

    @property
    def line_starts(self) -> list[int]:
        return self._starts

    def line_of(self, byte: int) -> int:
        """0-based line holding `byte`."""
        return bisect_right(self._starts, byte) - 1

    def line_start(self, byte: int) -> int:
        """Offset of the first byte of the line holding `byte`."""
        return self._starts[self.line_of(byte)]

    def loc(self, start: int, end: int) -> int:
        """Code lines among the lines that bytes `start..end` touch."""
        if end <= start:
            return 0
        starts = self._starts
        return (
            self._code_prefix[bisect_right(starts, end - 1)]
            - self._code_prefix[bisect_right(starts, start) - 1]
        )

    def code_lines_before(self, lines: Iterable[int]) -> list[int]:
        """For each of `lines` (0-based), the code lines before it."""
        return list(map(self._code_prefix.__getitem__, lines))

    def is_code_line(self, line: int) -> bool:
        return self._code_prefix[line + 1] > self._code_prefix[line]
