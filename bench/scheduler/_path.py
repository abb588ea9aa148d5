"""The chain of atoms that ended a run, split step by step into where its time went.

From the last atom done, each step goes back to the prerequisite that finished
last, to an atom with none: the realized critical path. For each atom on it the
progress events give when it started (`atom_started`), when its model call began
and its answer came back (the `attempt` event's `model_seconds` and
`checked_seconds`, counted back from the event) and when it was done
(`atom_done`). The replay model's latency draw for the atom is known in advance
(`Work.seconds`), so each step splits into:

- *waiting*: from its prerequisite done to its own start (the schedule's turn);
- *before the call*: from its start to its call (prompt, slot, budget);
- *latency*: the model's own;
- *call overhead*: the rest of the call (the loop getting back to it; under
  `ray`, the actor's round trip);
- *checks*: from the answer back to the atom done (the wait for a validation
  worker, the checks, the attempt recorded).

An atom with several attempts counts from its first call to its last answer as
its call; the bench's runs are fault-free, so each has one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `_peer` builds on `_drive`, which keeps a `Timeline`
    from bench.scheduler._peer import Work


@dataclass
class AtomTimes:
    """One atom's moments in the generate stage (`time.perf_counter`)."""

    started: float | None = None
    called: float | None = None
    answered: float | None = None
    done: float | None = None


@dataclass
class Timeline:
    """The progress events' moments, atom by atom."""

    atoms: dict[str, AtomTimes] = field(default_factory=dict)

    def note(self, kind: str, at: float, data: dict[str, Any]) -> None:
        atom = data.get("atom")
        if not isinstance(atom, str):
            return
        times = self.atoms.setdefault(atom, AtomTimes())
        if kind == "atom_started" and times.started is None:
            times.started = at
        elif kind == "attempt" and "checked_seconds" in data:
            answered = at - float(data["checked_seconds"])
            if times.called is None:
                times.called = answered - float(data.get("model_seconds", 0.0))
            times.answered = answered
        elif kind == "atom_done":
            times.done = at


@dataclass(frozen=True)
class PathBreakdown:
    steps: int
    waiting: float
    before_call: float
    latency: float
    call_overhead: float
    checks: float


def realized_chain(work: Work, timeline: Timeline) -> list[str]:
    """The chain that ended the run, first atom first."""
    done = {key: t.done for key, t in timeline.atoms.items() if t.done is not None}
    if not done:
        return []
    chain = [max(done, key=lambda key: done[key])]
    while True:
        before = [p for p in work.prerequisites.get(chain[-1], []) if p in done]
        if not before:
            break
        chain.append(max(before, key=lambda key: done[key]))
    return chain[::-1]


def breakdown(work: Work, timeline: Timeline) -> PathBreakdown | None:
    """The realized chain's time, split (see the module docstring); None when an
    atom on it lacks a moment (a run stopped early, or a model without the
    attempt's timings)."""
    chain = realized_chain(work, timeline)
    if not chain:
        return None
    waiting = before_call = latency = call_overhead = checks = 0.0
    previous_done: float | None = None
    for key in chain:
        times = timeline.atoms[key]
        started, called, answered, done = times.started, times.called, times.answered, times.done
        if started is None or called is None or answered is None or done is None:
            return None
        if previous_done is not None:
            waiting += started - previous_done
        before_call += called - started
        drawn = work.seconds.get(key, 0.0)
        latency += drawn
        call_overhead += answered - called - drawn
        checks += done - answered
        previous_done = done
    return PathBreakdown(len(chain), waiting, before_call, latency, call_overhead, checks)
