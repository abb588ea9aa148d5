"""The realized critical path: the chain that ended a run, and where its time went.

Made-up moments, so that a wrong choice of prerequisite or a wrong split shows.
"""

from __future__ import annotations

import pytest
from bench.scheduler._path import Timeline, breakdown, realized_chain
from bench.scheduler._peer import Work

# a -> c, b -> c, c -> d; e stands alone and ends early.
WORK = Work(
    order=["a", "b", "e", "c", "d"],
    prerequisites={"a": [], "b": [], "e": [], "c": ["a", "b"], "d": ["c"]},
    seconds={"a": 0.05, "b": 0.20, "e": 0.01, "c": 0.10, "d": 0.05},
)


Event = tuple[str, float, dict[str, object]]


def _timeline(events: list[Event]) -> Timeline:
    timeline = Timeline()
    for kind, at, data in events:
        timeline.note(kind, at, data)
    return timeline


def _atom(key: str, started: float, called: float, answered: float, done: float) -> list[Event]:
    return [
        ("atom_started", started, {"atom": key}),
        (
            "attempt",
            done - 0.001,
            {
                "atom": key,
                "attempt": 1,
                "passed": True,
                "model_seconds": answered - called,
                "checked_seconds": done - 0.001 - answered,
            },
        ),
        ("atom_done", done, {"atom": key}),
    ]


def test_the_chain_goes_back_through_the_prerequisite_done_last() -> None:
    timeline = _timeline(
        _atom("a", 0.0, 0.001, 0.06, 0.07)
        + _atom("b", 0.0, 0.002, 0.21, 0.23)  # b, not a, holds c back
        + _atom("e", 0.0, 0.001, 0.02, 0.03)
        + _atom("c", 0.24, 0.25, 0.36, 0.40)
        + _atom("d", 0.41, 0.42, 0.48, 0.50)
    )
    assert realized_chain(WORK, timeline) == ["b", "c", "d"]
    path = breakdown(WORK, timeline)
    assert path is not None and path.steps == 3
    assert path.waiting == pytest.approx((0.24 - 0.23) + (0.41 - 0.40))
    assert path.before_call == pytest.approx(0.002 + 0.01 + 0.01)
    assert path.latency == pytest.approx(0.20 + 0.10 + 0.05)
    # Each call's time beyond its latency draw.
    assert path.call_overhead == pytest.approx((0.208 - 0.20) + (0.11 - 0.10) + (0.06 - 0.05))
    assert path.checks == pytest.approx(0.02 + 0.04 + 0.02)
    # The five parts make up the chain's span, from its first start to its end.
    parts = path.waiting + path.before_call + path.latency + path.call_overhead + path.checks
    assert parts == pytest.approx(0.50 - 0.0)


def test_a_chain_with_a_moment_missing_is_not_split() -> None:
    events = _atom("a", 0.0, 0.001, 0.06, 0.07) + _atom("b", 0.0, 0.002, 0.21, 0.23)
    events += [("atom_started", 0.24, {"atom": "c"}), ("atom_done", 0.40, {"atom": "c"})]
    assert breakdown(WORK, _timeline(events)) is None
    assert breakdown(WORK, Timeline()) is None
