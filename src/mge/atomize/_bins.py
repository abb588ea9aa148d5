"""Route capture nodes to the piece whose span holds their first byte, in bulk.

A file has tens of thousands of identifier captures. Reading each node's offsets,
slicing its text and finding its piece one node at a time in Python cost as much
as the rest of the context analysis; here those steps run as `map` passes in C, and
Python only loops over the distinct (piece, name) pairs, a fraction of the nodes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from itertools import compress, repeat
from operator import attrgetter, not_

from tree_sitter import Node

__all__ = ["Bins"]

_START = attrgetter("start_byte")
_END = attrgetter("end_byte")


class Bins:
    """The pieces of one file by start offset, and the file's text to name nodes with."""

    __slots__ = ("_source", "_text", "count", "starts")

    def __init__(self, source: bytes, starts: list[int]) -> None:
        self._source = source
        # Byte offsets index an ASCII file's text directly, and slicing the text spares
        # decoding every name; a name of any other file is decoded once per distinct bytes.
        self._text = source.decode("ascii") if source.isascii() else None
        self.starts = starts
        self.count = len(starts)

    def of(self, byte: int) -> int:
        """The piece holding `byte`."""
        return bisect_right(self.starts, byte) - 1

    def names(self, nodes: Sequence[Node], skip: Sequence[Node] = ()) -> list[set[str]]:
        """For each piece, the distinct texts (decoded with replacement) of the nodes
        that start in it, leaving out nodes that start where a node of `skip` starts."""
        firsts = list(map(_START, nodes))
        texts = self._texts(firsts, list(map(_END, nodes)))
        slots = map(bisect_right, repeat(self.starts), firsts)
        pairs: Iterator[tuple[int, str]] = zip(slots, texts, strict=True)
        if skip:
            skipped = set(map(_START, skip))
            pairs = compress(pairs, map(not_, map(skipped.__contains__, firsts)))
        # bisect_right gives the piece's index plus one: slot 0 holds nothing.
        groups: list[set[str]] = [set() for _ in range(self.count + 1)]
        for slot, text in set(pairs):
            groups[slot].add(text)
        del groups[0]
        return groups

    def _texts(self, firsts: list[int], ends: list[int]) -> list[str]:
        spans = map(slice, firsts, ends)
        if self._text is not None:
            return list(map(self._text.__getitem__, spans))
        raw = list(map(self._source.__getitem__, spans))
        decoded = {name: name.decode("utf-8", errors="replace") for name in set(raw)}
        return list(map(decoded.__getitem__, raw))
