"""Prometheus metrics of MGE runs, the Grafana dashboard and the alert rules' contract.

    metrics = default_metrics()                 # or MgeMetrics(CollectorRegistry())
    run = metrics.run("inventory", model="replay")
    run.run_started(concurrency=100, budget_usd=50)
    ...                                         # atom_generated, attempt_finished, ...
    run.run_finished(precision=0.99, cost_usd=1.2)

Or let the engine's progress events drive it: `FanOut(bar, MetricsProgress(run))`.
Serve with `start_exporter(port)` (CLI runs) or `render_metrics()` (a web app's
`/metrics`). docs/monitoring.md maps the seed's metric names to these.
"""

from mge.monitoring._exporter import MetricsExporter, render_metrics, start_exporter
from mge.monitoring._metrics import (
    ATOM_STATUSES,
    EDGE_TYPES,
    SPECS,
    VALIDATION_LEVELS,
    AtomStatus,
    MetricSpec,
    MgeMetrics,
    RunMetrics,
    ValidationLevel,
    default_metrics,
    exported_series_names,
)
from mge.monitoring._progress import PROGRESS_EVENTS, MetricsProgress

__all__ = [
    "ATOM_STATUSES",
    "EDGE_TYPES",
    "PROGRESS_EVENTS",
    "SPECS",
    "VALIDATION_LEVELS",
    "AtomStatus",
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
]
