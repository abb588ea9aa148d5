"""A planned task's complexity, read off its lines of code: one scale for every
language `plan from-code` reads, so a Python and a TypeScript file of the same size
get the same label."""

from __future__ import annotations

from mge.plan._models import Complexity

_COMPLEXITY_LIMITS: tuple[tuple[int, Complexity], ...] = (
    (40, "low"),
    (150, "medium"),
    (400, "high"),
)


def complexity_of(loc: int) -> Complexity:
    for limit, level in _COMPLEXITY_LIMITS:
        if loc <= limit:
            return level
    return "critical"
