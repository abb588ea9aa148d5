"""The recording API: what each call does to the exported series."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY, CollectorRegistry

import mge.monitoring as monitoring
from mge.monitoring import (
    SPECS,
    VALIDATION_LEVELS,
    MgeMetrics,
    RunMetrics,
    default_metrics,
    exported_series_names,
)

BOUNDED_LABELS = {"masterplan", "level", "outcome", "attempt", "model", "kind", "type"}


def value(metrics: MgeMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_public_api_is_pinned() -> None:
    assert set(monitoring.__all__) == {
        "ATOM_STATUSES",
        "EDGE_TYPES",
        "SPECS",
        "VALIDATION_LEVELS",
        "AtomStatus",
        "PROGRESS_EVENTS",
        "MetricSpec",
        "MetricsExporter",
        "MetricsProgress",
        "MgeMetrics",
        "RunMetrics",
        "ValidationLevel",
        "default_metrics",
        "exported_series_names",
        "render_metrics",
        "start_exporter",
    }


def test_names_follow_prometheus_conventions() -> None:
    for spec in SPECS:
        assert re.fullmatch(r"mge_[a-z][a-z0-9_]*", spec.name), spec.name
        # prometheus_client appends _total itself; a counter named *_total would double it.
        assert not spec.name.endswith("_total"), spec.name
        assert "masterplan" in spec.labels, spec.name
        # Bounded labels only: nothing identifies an atom, a file or a run.
        assert set(spec.labels) <= BOUNDED_LABELS, spec.name
        if spec.unit == "seconds":
            assert spec.name.endswith("_seconds"), spec.name
    assert len({spec.name for spec in SPECS}) == len(SPECS)


def test_a_new_run_initialises_its_counters_at_zero(metrics: MgeMetrics) -> None:
    metrics.run("inventory")
    assert value(metrics, "mge_atoms_completed_total", masterplan="inventory") == 0
    assert value(metrics, "mge_atoms_failed_total", masterplan="inventory") == 0
    for level in VALIDATION_LEVELS:
        labels = {"masterplan": "inventory", "level": level, "outcome": "failed"}
        assert value(metrics, "mge_validations_total", **labels) == 0
    assert value(metrics, "mge_runs_active", masterplan="inventory") == 0


def test_a_whole_run_is_recorded(metrics: MgeMetrics) -> None:
    run = metrics.run("inventory", model="replay")
    run.run_started(concurrency=8, budget_usd=5.0, started_at=1_700_000_000.0)
    assert value(metrics, "mge_runs_active", masterplan="inventory") == 1
    assert value(metrics, "mge_run_start_time_seconds", masterplan="inventory") == 1.7e9
    assert value(metrics, "mge_run_concurrency_limit", masterplan="inventory") == 8
    assert value(metrics, "mge_run_budget_usd", masterplan="inventory") == 5.0

    sizes = [(4, 1.0), (9, 2.0), (14, 3.0), (22, 6.0)]
    for loc, complexity in sizes:
        run.atom_generated(
            loc=loc, complexity=complexity, atomicity_score=0.9, context_completeness=0.96
        )
    run.graph_built(
        atoms=4,
        waves=3,
        max_parallelism=2,
        critical_path=3,
        cycles=0,
        edges={"IMPORT": 2, "FUNCTION_CALL": 3},
    )
    mp = {"masterplan": "inventory"}
    assert value(metrics, "mge_atoms_generated_total", **mp) == 4
    assert value(metrics, "mge_atom_loc_count", **mp) == 4
    assert value(metrics, "mge_atom_loc_sum", **mp) == 49
    # Cumulative buckets: 4 and 9 are <= 10, 14 is <= 15, 22 only <= 30.
    assert value(metrics, "mge_atom_loc_bucket", le="10.0", **mp) == 2
    assert value(metrics, "mge_atom_loc_bucket", le="15.0", **mp) == 3
    assert value(metrics, "mge_atom_loc_bucket", le="30.0", **mp) == 4
    assert value(metrics, "mge_atom_complexity_bucket", le="3.0", **mp) == 3
    assert value(metrics, "mge_atom_context_completeness_ratio_sum", **mp) == pytest.approx(3.84)
    assert value(metrics, "mge_graph_max_parallelism", **mp) == 2
    assert value(metrics, "mge_graph_edges", type="FUNCTION_CALL", **mp) == 3
    assert value(metrics, "mge_graph_edges", type="TEMPORAL", **mp) == 0

    with run.in_flight(), run.in_flight():
        assert value(metrics, "mge_atoms_in_flight", **mp) == 2
    assert value(metrics, "mge_atoms_in_flight", **mp) == 0

    run.attempt_finished(attempt=1, success=True)
    run.attempt_finished(attempt=1, success=False)
    run.attempt_finished(attempt=2, success=True)
    run.atom_finished("completed", confidence=0.9)
    run.atom_finished("completed", confidence=0.7)
    run.atom_finished("failed")
    run.atom_finished("blocked")
    run.record_validation("atomic", passed=True)
    run.record_validation("atomic", passed=False)
    run.record_validation("module", passed=True)
    run.wave_finished(1.5)
    run.wave_finished(3.0)
    run.set_review_queue(2)
    run.add_tokens(input_tokens=100, output_tokens=40)
    run.set_cost(0.25)

    assert value(metrics, "mge_attempts_total", attempt="1", outcome="success", **mp) == 1
    assert value(metrics, "mge_attempts_total", attempt="1", outcome="failure", **mp) == 1
    assert value(metrics, "mge_attempts_total", attempt="2", outcome="success", **mp) == 1
    assert value(metrics, "mge_atoms_completed_total", **mp) == 2
    assert value(metrics, "mge_atoms_failed_total", **mp) == 1
    assert value(metrics, "mge_atoms_blocked_total", **mp) == 1
    assert value(metrics, "mge_atom_confidence_score_count", **mp) == 2
    assert value(metrics, "mge_validations_total", level="atomic", outcome="failed", **mp) == 1
    assert value(metrics, "mge_validations_total", level="module", outcome="passed", **mp) == 1
    assert value(metrics, "mge_waves_executed_total", **mp) == 2
    assert value(metrics, "mge_wave_duration_seconds_sum", **mp) == 4.5
    assert value(metrics, "mge_review_queue_size", **mp) == 2
    assert value(metrics, "mge_llm_tokens_total", model="replay", kind="input", **mp) == 100
    assert value(metrics, "mge_llm_tokens_total", model="replay", kind="output", **mp) == 40
    assert value(metrics, "mge_llm_tokens_total", model="replay", kind="cached", **mp) is None

    run.set_in_flight(3)
    run.run_finished(precision=0.75, cost_usd=0.5, duration_seconds=90.0)
    assert value(metrics, "mge_runs_active", **mp) == 0
    assert value(metrics, "mge_atoms_in_flight", **mp) == 0, "a finished run leaves none in flight"
    assert value(metrics, "mge_precision_ratio", **mp) == 0.75
    assert value(metrics, "mge_run_cost_usd", **mp) == 0.5
    assert value(metrics, "mge_run_duration_seconds_count", **mp) == 1
    assert value(metrics, "mge_run_duration_seconds_bucket", le="300.0", **mp) == 1
    assert value(metrics, "mge_run_duration_seconds_bucket", le="60.0", **mp) == 0


def test_concurrent_runs_of_one_masterplan_add_up(metrics: MgeMetrics) -> None:
    first, second = metrics.run("shop"), metrics.run("shop")
    first.run_started()
    second.run_started()
    first.set_in_flight(5)
    second.set_in_flight(7)
    first.set_in_flight(2)
    assert value(metrics, "mge_runs_active", masterplan="shop") == 2
    assert value(metrics, "mge_atoms_in_flight", masterplan="shop") == 9
    first.run_finished()
    assert value(metrics, "mge_runs_active", masterplan="shop") == 1
    assert value(metrics, "mge_atoms_in_flight", masterplan="shop") == 7
    first.run_finished()  # finishing twice must not make the gauges negative
    assert value(metrics, "mge_runs_active", masterplan="shop") == 1


def test_run_duration_defaults_to_time_since_start(metrics: MgeMetrics) -> None:
    run = metrics.run("p")
    run.run_started()
    run.run_finished()
    assert value(metrics, "mge_run_duration_seconds_count", masterplan="p") == 1
    duration = value(metrics, "mge_run_duration_seconds_sum", masterplan="p")
    assert duration is not None and duration >= 0


def test_attempt_numbers_past_the_cap_share_one_label(metrics: MgeMetrics) -> None:
    run = metrics.run("p")
    for attempt in (10, 11, 57):
        run.attempt_finished(attempt=attempt, success=False)
    failures = {"masterplan": "p", "outcome": "failure"}
    assert value(metrics, "mge_attempts_total", attempt="10+", **failures) == 3
    assert value(metrics, "mge_attempts_total", attempt="9", **failures) is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: r.attempt_finished(attempt=0, success=True), "start at 1"),
        (lambda r: r.atom_finished("lost"), "unknown atom status"),
        (lambda r: r.atom_finished("completed", confidence=1.5), "confidence"),
        (lambda r: r.record_validation("unit", passed=True), "unknown validation level"),
        (lambda r: r.set_precision(98.0), "precision must be within 0..1"),
        (lambda r: r.set_cost(-1.0), "cost_usd must not be negative"),
        (lambda r: r.wave_finished(-0.1), "duration_seconds"),
        (lambda r: r.set_in_flight(-1), "in_flight"),
        (lambda r: r.run_started(concurrency=0), "concurrency"),
        (
            lambda r: r.graph_built(
                atoms=1, waves=1, max_parallelism=1, critical_path=1, cycles=0, edges={"CALLS": 1}
            ),
            "unknown edge type",
        ),
        (
            lambda r: r.atom_generated(
                loc=5, complexity=1.0, atomicity_score=2.0, context_completeness=1.0
            ),
            "atomicity_score",
        ),
    ],
)
def test_nonsense_values_are_refused(
    metrics: MgeMetrics, call: Callable[[RunMetrics], None], message: str
) -> None:
    run = metrics.run("p")
    with pytest.raises(ValueError, match=message):
        call(run)


def test_a_run_needs_a_masterplan_name(metrics: MgeMetrics) -> None:
    with pytest.raises(ValueError, match="masterplan"):
        metrics.run("")


def test_exported_names_match_a_real_scrape(metrics: MgeMetrics) -> None:
    """The names derived from SPECS are exactly those a scrape shows once everything is used."""
    run = metrics.run("p", model="m")
    run.run_started(concurrency=1, budget_usd=1.0)
    run.atom_generated(loc=1, complexity=1.0, atomicity_score=1.0, context_completeness=1.0)
    run.graph_built(atoms=1, waves=1, max_parallelism=1, critical_path=1, cycles=0)
    run.attempt_finished(attempt=1, success=True)
    run.atom_finished("completed", confidence=1.0)
    run.record_validation("system", passed=True)
    run.wave_finished(0.1)
    run.set_review_queue(0)
    run.add_tokens(input_tokens=1)
    run.run_finished(precision=1.0, cost_usd=0.0)
    scraped = {sample.name for family in metrics.registry.collect() for sample in family.samples}
    assert scraped == exported_series_names()


def test_two_registries_do_not_share_series() -> None:
    one, two = MgeMetrics(CollectorRegistry()), MgeMetrics(CollectorRegistry())
    one.run("p").atom_finished("completed")
    assert one.registry.get_sample_value("mge_atoms_completed_total", {"masterplan": "p"}) == 1
    assert two.registry.get_sample_value("mge_atoms_completed_total", {"masterplan": "p"}) is None


def test_default_metrics_is_one_instance_in_the_global_registry() -> None:
    first = default_metrics()
    assert default_metrics() is first
    assert first.registry is REGISTRY
    assert "mge_atoms_completed" in {family.name for family in REGISTRY.collect()}
