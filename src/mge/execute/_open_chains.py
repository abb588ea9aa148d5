"""Which atoms head the longest chains still open: the ones the run's end waits for.

An atom's height is the length of its longest chain of dependents. Among the atoms
not yet done, those of the greatest height head the chains that decide when the
run can finish; an executor that gathers checks into batches sends theirs at once
instead of letting them wait for company (`RayExecutor`). The greatest open height
only falls as atoms are done, so keeping it costs O(1) amortised per atom.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping


class OpenChains:
    """The heights of the atoms still open (see the module docstring)."""

    def __init__(self, heights: Mapping[str, int] | None = None, open_keys: Iterable[str] = ()):
        self._heights: Mapping[str, int] = heights or {}
        self._open = {key for key in open_keys if key in self._heights}
        self._count = Counter(self._heights[key] for key in self._open)
        self._top = max(self._count, default=0)

    def close(self, key: str) -> None:
        """`key` is done (or will never run); closing it again changes nothing."""
        if key not in self._open:
            return
        self._open.discard(key)
        self._count[self._heights[key]] -= 1
        while self._top > 0 and self._count[self._top] <= 0:
            self._top -= 1

    def heads(self, key: str) -> bool:
        """Whether `key` is open and no open atom has a longer chain after it."""
        return key in self._open and self._heights[key] >= self._top
