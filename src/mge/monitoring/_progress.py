"""Metrics as one more progress sink, so the engine reports once and never imports metrics.

`MetricsProgress` satisfies `mge.execute.progress.ProgressSink` structurally
(`event(kind, **data)`); put it in the run's `FanOut` next to the CLI's progress
bar or the API's event stream. It understands the event kinds in `PROGRESS_EVENTS` and
ignores all others, as well as fields it does not know, so the engine may add
events and fields freely.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from mge.monitoring._metrics import ATOM_STATUSES, VALIDATION_LEVELS, RunMetrics

__all__ = ["PROGRESS_EVENTS", "MetricsProgress"]

# kind → the fields it reads (all optional unless marked); docs/monitoring.md repeats this.
PROGRESS_EVENTS: Final[Mapping[str, str]] = {
    "run_started": "concurrency, budget_usd",
    "atom_generated": "loc*, complexity*, atomicity_score*, context_completeness*",
    "graph": "atoms*, waves*, max_parallelism*, critical_path*, cycles*, edges",
    "atom_started": "",
    "attempt": "attempt*, passed*, cost_usd",
    "validation": "level*, passed*",
    "atom_done": "status*, confidence",
    "atom_failed": "blocked (count of dependents blocked)",
    "wave_done": "duration_seconds*",
    "in_flight": "count*",
    "review_queue": "size*",
    "tokens": "input_tokens, output_tokens, cached_tokens",
    "cost": "cost_usd*",
    "run_finished": "precision_percent, cost_usd, duration_seconds",
}


def _float(value: Any) -> float:
    """Costs come from the database as Decimal; Prometheus wants floats."""
    return float(value)


class MetricsProgress:
    """Turns a run's progress events into `RunMetrics` calls.

    In flight: `atom_started` counts an atom in, `atom_done` counts it out;
    an engine that sends `in_flight` counts instead is also understood.
    Blocked atoms are counted from `atom_failed`'s `blocked`, since blocked
    atoms never start and so never send `atom_done`.
    """

    def __init__(self, run: RunMetrics) -> None:
        self.run = run
        self._in_flight = 0

    def event(self, kind: str, **data: Any) -> None:
        if kind in PROGRESS_EVENTS:
            getattr(self, f"_on_{kind}")(data)

    def _on_run_started(self, data: dict[str, Any]) -> None:
        budget = data.get("budget_usd")
        self.run.run_started(
            concurrency=data.get("concurrency"),
            budget_usd=None if budget is None else _float(budget),
        )

    def _on_atom_generated(self, data: dict[str, Any]) -> None:
        self.run.atom_generated(
            loc=int(data["loc"]),
            complexity=_float(data["complexity"]),
            atomicity_score=_float(data["atomicity_score"]),
            context_completeness=_float(data["context_completeness"]),
        )

    def _on_graph(self, data: dict[str, Any]) -> None:
        self.run.graph_built(
            atoms=int(data["atoms"]),
            waves=int(data["waves"]),
            max_parallelism=int(data["max_parallelism"]),
            critical_path=int(data["critical_path"]),
            cycles=int(data["cycles"]),
            edges=data.get("edges"),
        )

    def _on_atom_started(self, data: dict[str, Any]) -> None:
        self._in_flight += 1
        self.run.set_in_flight(self._in_flight)

    def _on_attempt(self, data: dict[str, Any]) -> None:
        self.run.attempt_finished(attempt=int(data["attempt"]), success=bool(data["passed"]))
        if data.get("cost_usd") is not None:
            self.run.set_cost(_float(data["cost_usd"]))

    def _on_validation(self, data: dict[str, Any]) -> None:
        level = data["level"]
        if level not in VALIDATION_LEVELS:
            raise ValueError(f"unknown validation level {level!r}")
        self.run.record_validation(level, passed=bool(data["passed"]))

    def _on_atom_done(self, data: dict[str, Any]) -> None:
        if self._in_flight > 0:
            self._in_flight -= 1
            self.run.set_in_flight(self._in_flight)
        status = data["status"]
        # An interrupted atom goes back to pending: it is not finished, so not counted.
        if status in ATOM_STATUSES:
            confidence = data.get("confidence")
            self.run.atom_finished(
                status, confidence=None if confidence is None else _float(confidence)
            )

    def _on_atom_failed(self, data: dict[str, Any]) -> None:
        for _ in range(int(data.get("blocked", 0))):
            self.run.atom_finished("blocked")

    def _on_wave_done(self, data: dict[str, Any]) -> None:
        self.run.wave_finished(_float(data["duration_seconds"]))

    def _on_in_flight(self, data: dict[str, Any]) -> None:
        self._in_flight = int(data["count"])
        self.run.set_in_flight(self._in_flight)

    def _on_review_queue(self, data: dict[str, Any]) -> None:
        self.run.set_review_queue(int(data["size"]))

    def _on_tokens(self, data: dict[str, Any]) -> None:
        self.run.add_tokens(
            input_tokens=int(data.get("input_tokens", 0)),
            output_tokens=int(data.get("output_tokens", 0)),
            cached=int(data.get("cached_tokens", 0)),
        )

    def _on_cost(self, data: dict[str, Any]) -> None:
        self.run.set_cost(_float(data["cost_usd"]))

    def _on_run_finished(self, data: dict[str, Any]) -> None:
        precision = data.get("precision_percent")
        cost = data.get("cost_usd")
        duration = data.get("duration_seconds")
        self._in_flight = 0
        self.run.run_finished(
            precision=None if precision is None else _float(precision) / 100.0,
            cost_usd=None if cost is None else _float(cost),
            duration_seconds=None if duration is None else _float(duration),
        )
