"""Metrics driven by the engine's progress events, through the engine's own FanOut."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mge.execute.progress import FanOut, ProgressSink
from mge.monitoring import PROGRESS_EVENTS, MetricsProgress, MgeMetrics


def value(metrics: MgeMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, {"masterplan": "inv", **labels})


def test_a_run_told_through_events(metrics: MgeMetrics) -> None:
    sink: ProgressSink = MetricsProgress(metrics.run("inv", model="replay"))
    events: list[tuple[str, dict[str, object]]] = [
        ("run_started", {"concurrency": 4, "budget_usd": Decimal("2.50")}),
        ("stage", {"name": "atoms"}),
        (
            "atom_generated",
            {"loc": 8, "complexity": 2, "atomicity_score": 0.9, "context_completeness": 1.0},
        ),
        (
            "atom_generated",
            {"loc": 18, "complexity": 5, "atomicity_score": 0.6, "context_completeness": 0.8},
        ),
        (
            "graph",
            {
                "atoms": 2,
                "waves": 2,
                "max_parallelism": 1,
                "critical_path": 2,
                "cycles": 0,
                "edges": {"FUNCTION_CALL": 1},
            },
        ),
        ("stage", {"name": "generate", "atoms": 2, "done": 0}),
        ("atom_started", {"atom": "a.py::f"}),
        ("atom_started", {"atom": "a.py::g"}),
        # The shapes below are the ones mge.execute's Runner sends.
        (
            "attempt",
            {"atom": "a.py::f", "attempt": 1, "passed": False, "cost_usd": Decimal("0.10")},
        ),
        ("attempt", {"atom": "a.py::f", "attempt": 2, "passed": True, "cost_usd": Decimal("0.20")}),
        ("atom_done", {"atom": "a.py::f", "status": "completed"}),
        ("attempt", {"atom": "a.py::g", "attempt": 1, "passed": False, "cost_usd": 0.3}),
        ("atom_failed", {"atom": "a.py::g", "blocked": 3}),
        ("atom_done", {"atom": "a.py::g", "status": "failed"}),
        ("validation", {"level": "module", "passed": False}),
        ("wave_done", {"duration_seconds": 2.0}),
        ("tokens", {"input_tokens": 50, "output_tokens": 20, "cached_tokens": 10}),
        ("review_queue", {"size": 1}),
        ("something_new", {"whatever": 1}),
        (
            "run_finished",
            {"precision_percent": 96.0, "cost_usd": Decimal("0.35"), "duration_seconds": 12.0},
        ),
    ]
    for kind, data in events:
        sink.event(kind, **data)

    assert value(metrics, "mge_run_budget_usd") == 2.5
    assert value(metrics, "mge_run_concurrency_limit") == 4
    assert value(metrics, "mge_atoms_generated_total") == 2
    assert value(metrics, "mge_atom_loc_bucket", le="15.0") == 1
    assert value(metrics, "mge_graph_critical_path_atoms") == 2
    assert value(metrics, "mge_attempts_total", attempt="1", outcome="failure") == 2
    assert value(metrics, "mge_attempts_total", attempt="2", outcome="success") == 1
    assert value(metrics, "mge_atoms_completed_total") == 1
    assert value(metrics, "mge_atoms_failed_total") == 1, "atom_failed must not count twice"
    assert value(metrics, "mge_atoms_blocked_total") == 3
    assert value(metrics, "mge_validations_total", level="module", outcome="failed") == 1
    assert value(metrics, "mge_waves_executed_total") == 1
    assert value(metrics, "mge_llm_tokens_total", model="replay", kind="cached") == 10
    assert value(metrics, "mge_review_queue_size") == 1
    assert value(metrics, "mge_precision_ratio") == pytest.approx(0.96)
    assert value(metrics, "mge_run_cost_usd") == pytest.approx(0.35)
    assert value(metrics, "mge_run_duration_seconds_sum") == 12.0
    assert value(metrics, "mge_runs_active") == 0
    assert value(metrics, "mge_atoms_in_flight") == 0


def test_in_flight_follows_start_and_done(metrics: MgeMetrics) -> None:
    sink = MetricsProgress(metrics.run("inv"))
    sink.event("run_started")
    for _ in range(3):
        sink.event("atom_started", atom="x")
    assert value(metrics, "mge_atoms_in_flight") == 3
    sink.event("atom_done", atom="x", status="completed")
    assert value(metrics, "mge_atoms_in_flight") == 2
    # An interrupted atom returns to pending: out of flight, but not finished.
    sink.event("atom_done", atom="x", status="pending")
    assert value(metrics, "mge_atoms_in_flight") == 1
    assert value(metrics, "mge_atoms_completed_total") == 1
    sink.event("in_flight", count=7)
    assert value(metrics, "mge_atoms_in_flight") == 7


def test_atom_done_without_start_never_goes_negative(metrics: MgeMetrics) -> None:
    """Today's engine sends atom_done but not atom_started."""
    sink = MetricsProgress(metrics.run("inv"))
    sink.event("atom_done", atom="x", status="completed")
    assert value(metrics, "mge_atoms_in_flight") == 0
    assert value(metrics, "mge_atoms_completed_total") == 1


def test_a_failing_sink_does_not_stop_the_others(metrics: MgeMetrics) -> None:
    seen: list[str] = []

    class Recorder:
        def event(self, kind: str, **data: object) -> None:
            seen.append(kind)

    fan = FanOut(MetricsProgress(metrics.run("inv")), Recorder())
    fan.event("validation", level="unit", passed=True)  # unknown level: the metrics sink raises
    fan.event("attempt", atom="x", attempt=1, passed=True)
    assert seen == ["validation", "attempt"]
    assert value(metrics, "mge_attempts_total", attempt="1", outcome="success") == 1


def test_every_documented_event_has_a_handler() -> None:
    for kind in PROGRESS_EVENTS:
        assert callable(getattr(MetricsProgress, f"_on_{kind}")), kind
