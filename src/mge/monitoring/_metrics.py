"""The Prometheus series MGE exports, and the small API the engine records through.

Every series carries a `masterplan` label (a run's plan name: bounded by the
plans a deployment knows) and otherwise only labels with a handful of fixed
values (`level`, `outcome`, `attempt`, `model`, `kind`, `type`). Nothing is
labelled per atom, so a 10 000-atom run costs the same number of series as a
10-atom one.

The engine never touches `prometheus_client` objects: it holds a `RunMetrics`
for the run and calls its methods. `MgeMetrics` owns the metric objects of one
`CollectorRegistry`, so tests build their own registry and the service and the
CLI exporter share `default_metrics()`, registered in the process-wide one.

Several runs of the same masterplan may be live at once in the service. Series
that are sums over runs (`mge_runs_active`, `mge_atoms_in_flight`) are kept by
deltas, so concurrent runs add up; the other gauges show the last run that wrote.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, Literal

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

__all__ = [
    "ATOM_STATUSES",
    "EDGE_TYPES",
    "SPECS",
    "VALIDATION_LEVELS",
    "AtomStatus",
    "MetricSpec",
    "MgeMetrics",
    "RunMetrics",
    "ValidationLevel",
    "default_metrics",
    "exported_series_names",
]

ValidationLevel = Literal["atomic", "module", "component", "system"]
AtomStatus = Literal["completed", "failed", "blocked"]

VALIDATION_LEVELS: Final[tuple[ValidationLevel, ...]] = ("atomic", "module", "component", "system")
ATOM_STATUSES: Final[tuple[AtomStatus, ...]] = ("completed", "failed", "blocked")
EDGE_TYPES: Final[tuple[str, ...]] = ("IMPORT", "DATA_FLOW", "FUNCTION_CALL", "TYPE", "TEMPORAL")
TOKEN_KINDS: Final[tuple[str, ...]] = ("input", "output", "cached")
# Attempts past this share one label value so a misconfigured run cannot mint series.
MAX_ATTEMPT_LABEL: Final = 10

_RATIO_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.0)
_LOC_BUCKETS = (1.0, 2.0, 3.0, 5.0, 8.0, 10.0, 12.0, 15.0, 20.0, 30.0, 50.0, 100.0)
_COMPLEXITY_BUCKETS = (1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0, 15.0, 20.0)
_WAVE_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
_RUN_BUCKETS = (60.0, 300.0, 600.0, 1800.0, 3600.0, 5400.0, 7200.0, 10800.0, 14400.0, 28800.0)


@dataclass(frozen=True)
class MetricSpec:
    """One exported metric as the docs and the tests see it (name without suffixes)."""

    name: str
    kind: Literal["counter", "gauge", "histogram"]
    labels: tuple[str, ...]
    unit: str
    help: str


_MP = ("masterplan",)

SPECS: Final[tuple[MetricSpec, ...]] = (
    MetricSpec("mge_runs_active", "gauge", _MP, "runs", "Runs of the masterplan in progress."),
    MetricSpec(
        "mge_run_start_time_seconds",
        "gauge",
        _MP,
        "unix seconds",
        "When the masterplan's latest run started; elapsed time is time() minus this.",
    ),
    MetricSpec(
        "mge_run_duration_seconds", "histogram", _MP, "seconds", "Wall time of finished runs."
    ),
    MetricSpec("mge_atoms_generated", "counter", _MP, "atoms", "Atoms produced by atomization."),
    MetricSpec("mge_atoms_completed", "counter", _MP, "atoms", "Atoms generated and validated."),
    MetricSpec("mge_atoms_failed", "counter", _MP, "atoms", "Atoms that failed every attempt."),
    MetricSpec(
        "mge_atoms_blocked", "counter", _MP, "atoms", "Atoms never tried: a dependency failed."
    ),
    MetricSpec("mge_waves_executed", "counter", _MP, "waves", "Waves finished."),
    MetricSpec("mge_atoms_in_flight", "gauge", _MP, "atoms", "Atoms being generated right now."),
    MetricSpec(
        "mge_run_concurrency_limit", "gauge", _MP, "atoms", "The run's concurrency setting."
    ),
    MetricSpec(
        "mge_precision_ratio",
        "gauge",
        _MP,
        "ratio 0-1",
        "Acceptance tests passed / total for the latest run.",
    ),
    MetricSpec(
        "mge_atom_context_completeness_ratio",
        "histogram",
        _MP,
        "ratio 0-1",
        "Context completeness of each atom.",
    ),
    MetricSpec(
        "mge_atom_atomicity_score", "histogram", _MP, "ratio 0-1", "Atomicity score of each atom."
    ),
    MetricSpec(
        "mge_atom_confidence_score",
        "histogram",
        _MP,
        "ratio 0-1",
        "Confidence score of each finished atom.",
    ),
    MetricSpec(
        "mge_validations",
        "counter",
        ("masterplan", "level", "outcome"),
        "checks",
        "Final validation verdicts by level (atomic, module, component, system).",
    ),
    MetricSpec(
        "mge_attempts",
        "counter",
        ("masterplan", "attempt", "outcome"),
        "attempts",
        "Generation attempts by attempt number and outcome (success, failure).",
    ),
    MetricSpec("mge_review_queue_size", "gauge", _MP, "items", "Atoms waiting for human review."),
    MetricSpec("mge_run_cost_usd", "gauge", _MP, "US dollars", "Model cost of the latest run."),
    MetricSpec("mge_run_budget_usd", "gauge", _MP, "US dollars", "The latest run's cost cap."),
    MetricSpec(
        "mge_llm_tokens",
        "counter",
        ("masterplan", "model", "kind"),
        "tokens",
        "Model tokens by kind (input, output, cached).",
    ),
    MetricSpec("mge_atom_loc", "histogram", _MP, "lines", "Lines of code of each atom."),
    MetricSpec("mge_atom_complexity", "histogram", _MP, "1", "Cyclomatic complexity of each atom."),
    MetricSpec("mge_wave_duration_seconds", "histogram", _MP, "seconds", "Wall time of each wave."),
    MetricSpec("mge_graph_atoms", "gauge", _MP, "atoms", "Nodes of the dependency graph."),
    MetricSpec("mge_graph_edges", "gauge", ("masterplan", "type"), "edges", "Graph edges by type."),
    MetricSpec("mge_graph_waves", "gauge", _MP, "waves", "Topological generations."),
    MetricSpec("mge_graph_max_parallelism", "gauge", _MP, "atoms", "Atoms in the widest wave."),
    MetricSpec(
        "mge_graph_critical_path_atoms", "gauge", _MP, "atoms", "Atoms on the longest chain."
    ),
    MetricSpec(
        "mge_graph_cycles",
        "gauge",
        _MP,
        "components",
        "Strongly connected components of more than one atom (or a self-loop).",
    ),
)

_BUCKETS: Final[Mapping[str, tuple[float, ...]]] = {
    "mge_run_duration_seconds": _RUN_BUCKETS,
    "mge_atom_context_completeness_ratio": _RATIO_BUCKETS,
    "mge_atom_atomicity_score": _RATIO_BUCKETS,
    "mge_atom_confidence_score": _RATIO_BUCKETS,
    "mge_atom_loc": _LOC_BUCKETS,
    "mge_atom_complexity": _COMPLEXITY_BUCKETS,
    "mge_wave_duration_seconds": _WAVE_BUCKETS,
}


def exported_series_names() -> frozenset[str]:
    """Every series name a scrape can show, with the `_total`/`_bucket`/... suffixes.

    Derived from `SPECS` rather than from a scrape, because a labelled metric
    shows no sample until its first label set is used.
    """
    names: set[str] = set()
    for spec in SPECS:
        if spec.kind == "counter":
            names.update({f"{spec.name}_total", f"{spec.name}_created"})
        elif spec.kind == "histogram":
            names.update(f"{spec.name}{s}" for s in ("_bucket", "_sum", "_count", "_created"))
        else:
            names.add(spec.name)
    return frozenset(names)


def _spec(name: str) -> MetricSpec:
    for spec in SPECS:
        if spec.name == name:
            return spec
    raise KeyError(name)


class MgeMetrics:
    """The metric objects of one registry; create one per registry, then `run()` per run."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.runs_active = self._gauge("mge_runs_active")
        self.run_start_time = self._gauge("mge_run_start_time_seconds")
        self.run_duration = self._histogram("mge_run_duration_seconds")
        self.atoms_generated = self._counter("mge_atoms_generated")
        self.atoms_completed = self._counter("mge_atoms_completed")
        self.atoms_failed = self._counter("mge_atoms_failed")
        self.atoms_blocked = self._counter("mge_atoms_blocked")
        self.waves_executed = self._counter("mge_waves_executed")
        self.atoms_in_flight = self._gauge("mge_atoms_in_flight")
        self.concurrency_limit = self._gauge("mge_run_concurrency_limit")
        self.precision = self._gauge("mge_precision_ratio")
        self.context_completeness = self._histogram("mge_atom_context_completeness_ratio")
        self.atomicity = self._histogram("mge_atom_atomicity_score")
        self.confidence = self._histogram("mge_atom_confidence_score")
        self.validations = self._counter("mge_validations")
        self.attempts = self._counter("mge_attempts")
        self.review_queue = self._gauge("mge_review_queue_size")
        self.cost = self._gauge("mge_run_cost_usd")
        self.budget = self._gauge("mge_run_budget_usd")
        self.tokens = self._counter("mge_llm_tokens")
        self.loc = self._histogram("mge_atom_loc")
        self.complexity = self._histogram("mge_atom_complexity")
        self.wave_duration = self._histogram("mge_wave_duration_seconds")
        self.graph_atoms = self._gauge("mge_graph_atoms")
        self.graph_edges = self._gauge("mge_graph_edges")
        self.graph_waves = self._gauge("mge_graph_waves")
        self.graph_max_parallelism = self._gauge("mge_graph_max_parallelism")
        self.graph_critical_path = self._gauge("mge_graph_critical_path_atoms")
        self.graph_cycles = self._gauge("mge_graph_cycles")

    def _counter(self, name: str) -> Counter:
        spec = _spec(name)
        return Counter(name, spec.help, spec.labels, registry=self.registry)

    def _gauge(self, name: str) -> Gauge:
        spec = _spec(name)
        return Gauge(name, spec.help, spec.labels, registry=self.registry)

    def _histogram(self, name: str) -> Histogram:
        spec = _spec(name)
        return Histogram(
            name, spec.help, spec.labels, registry=self.registry, buckets=_BUCKETS[name]
        )

    def run(self, masterplan: str, *, model: str = "") -> RunMetrics:
        """A recorder for one run of `masterplan`; `model` labels its token counts."""
        return RunMetrics(self, masterplan, model=model)


_default: MgeMetrics | None = None
_default_lock = threading.Lock()


def default_metrics() -> MgeMetrics:
    """The process-wide metrics in `prometheus_client.REGISTRY`, created on first use.

    One instance only: registering the same names twice in a registry is an error,
    and the service's `/metrics` and the CLI exporter must see the same series.
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = MgeMetrics(REGISTRY)
        return _default


def _check_ratio(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be within 0..1, got {value!r}")
    return value


def _check_non_negative(name: str, value: float) -> float:
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
    return value


def _attempt_label(attempt: int) -> str:
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, got {attempt!r}")
    return str(attempt) if attempt < MAX_ATTEMPT_LABEL else f"{MAX_ATTEMPT_LABEL}+"


class RunMetrics:
    """What one run reports. Methods raise ValueError for values that make no sense.

    Call order in a run: `run_started`, `graph_built` and `atom_generated` (per
    atom, after atomization), then during generation `attempt_finished`,
    `atom_finished`, `record_validation`, `wave_finished`, `set_in_flight` (or
    `in_flight()`), `set_cost`/`add_tokens`, and finally `run_finished`.
    """

    def __init__(self, metrics: MgeMetrics, masterplan: str, *, model: str = "") -> None:
        if not masterplan:
            raise ValueError("a run's metrics need a masterplan name")
        self.metrics = metrics
        self.masterplan = masterplan
        self.model = model
        self._lock = threading.Lock()
        self._in_flight = 0
        self._active = False
        self._started_monotonic: float | None = None
        self._initialise_series()

    def _initialise_series(self) -> None:
        """Create every counter at 0 so ratios and `increase()` see a run from its start."""
        m, mp = self.metrics, self.masterplan
        for counter in (
            m.atoms_generated,
            m.atoms_completed,
            m.atoms_failed,
            m.atoms_blocked,
            m.waves_executed,
        ):
            counter.labels(mp)
        for level in VALIDATION_LEVELS:
            for outcome in ("passed", "failed"):
                m.validations.labels(mp, level, outcome)
        for outcome in ("success", "failure"):
            m.attempts.labels(mp, "1", outcome)
        m.runs_active.labels(mp)
        m.atoms_in_flight.labels(mp)

    # -- run lifecycle -----------------------------------------------------------------

    def run_started(
        self,
        *,
        concurrency: int | None = None,
        budget_usd: float | None = None,
        started_at: float | None = None,
    ) -> None:
        """Marks the run live; `started_at` (unix seconds) defaults to now."""
        m, mp = self.metrics, self.masterplan
        with self._lock:
            if not self._active:
                self._active = True
                m.runs_active.labels(mp).inc()
            self._started_monotonic = time.monotonic()
        m.run_start_time.labels(mp).set(time.time() if started_at is None else started_at)
        m.cost.labels(mp).set(0.0)
        if concurrency is not None:
            if concurrency < 1:
                raise ValueError(f"concurrency must be at least 1, got {concurrency!r}")
            m.concurrency_limit.labels(mp).set(concurrency)
        if budget_usd is not None:
            m.budget.labels(mp).set(_check_non_negative("budget_usd", budget_usd))

    def run_finished(
        self,
        *,
        precision: float | None = None,
        cost_usd: float | None = None,
        duration_seconds: float | None = None,
    ) -> None:
        """Marks the run over; the duration defaults to the time since `run_started`."""
        m, mp = self.metrics, self.masterplan
        if precision is not None:
            self.set_precision(precision)
        if cost_usd is not None:
            self.set_cost(cost_usd)
        with self._lock:
            if duration_seconds is None and self._started_monotonic is not None:
                duration_seconds = time.monotonic() - self._started_monotonic
            was_active, self._active = self._active, False
            leftover, self._in_flight = self._in_flight, 0
        if leftover:
            m.atoms_in_flight.labels(mp).dec(leftover)
        if was_active:
            m.runs_active.labels(mp).dec()
        if duration_seconds is not None:
            m.run_duration.labels(mp).observe(
                _check_non_negative("duration_seconds", duration_seconds)
            )

    # -- atomization and graph ---------------------------------------------------------

    def atom_generated(
        self,
        *,
        loc: int,
        complexity: float,
        atomicity_score: float,
        context_completeness: float,
    ) -> None:
        """One atom out of atomization, with the figures the atom carries."""
        m, mp = self.metrics, self.masterplan
        m.loc.labels(mp).observe(_check_non_negative("loc", loc))
        m.complexity.labels(mp).observe(_check_non_negative("complexity", complexity))
        m.atomicity.labels(mp).observe(_check_ratio("atomicity_score", atomicity_score))
        m.context_completeness.labels(mp).observe(
            _check_ratio("context_completeness", context_completeness)
        )
        m.atoms_generated.labels(mp).inc()

    def graph_built(
        self,
        *,
        atoms: int,
        waves: int,
        max_parallelism: int,
        critical_path: int,
        cycles: int,
        edges: Mapping[str, int] | None = None,
    ) -> None:
        """The dependency graph's figures; `edges` maps edge type → count."""
        m, mp = self.metrics, self.masterplan
        figures = {
            "atoms": atoms,
            "waves": waves,
            "max_parallelism": max_parallelism,
            "critical_path": critical_path,
            "cycles": cycles,
        }
        for name, value in figures.items():
            _check_non_negative(name, value)
        m.graph_atoms.labels(mp).set(atoms)
        m.graph_waves.labels(mp).set(waves)
        m.graph_max_parallelism.labels(mp).set(max_parallelism)
        m.graph_critical_path.labels(mp).set(critical_path)
        m.graph_cycles.labels(mp).set(cycles)
        counts = dict.fromkeys(EDGE_TYPES, 0)
        for edge_type, count in (edges or {}).items():
            if edge_type not in counts:
                raise ValueError(f"unknown edge type {edge_type!r}; expected one of {EDGE_TYPES}")
            counts[edge_type] = int(_check_non_negative(f"edges[{edge_type}]", count))
        for edge_type, count in counts.items():
            m.graph_edges.labels(mp, edge_type).set(count)

    # -- generation --------------------------------------------------------------------

    def attempt_finished(self, *, attempt: int, success: bool) -> None:
        """One generation attempt of an atom (1 = first try) and whether it validated."""
        self.metrics.attempts.labels(
            self.masterplan, _attempt_label(attempt), "success" if success else "failure"
        ).inc()

    def atom_finished(self, status: AtomStatus, *, confidence: float | None = None) -> None:
        """An atom's final state; `confidence` once it is scored (0..1)."""
        m, mp = self.metrics, self.masterplan
        counters = {
            "completed": m.atoms_completed,
            "failed": m.atoms_failed,
            "blocked": m.atoms_blocked,
        }
        if status not in counters:
            raise ValueError(f"unknown atom status {status!r}; expected one of {ATOM_STATUSES}")
        if confidence is not None:
            m.confidence.labels(mp).observe(_check_ratio("confidence", confidence))
        counters[status].labels(mp).inc()

    def record_validation(self, level: ValidationLevel, *, passed: bool) -> None:
        """A validated unit's FINAL verdict at `level` (after retries, not per attempt).

        Per-attempt outcomes go to `attempt_finished`; keeping the two apart is
        what lets an alert demand 99 % final L1 passes while tolerating 30 % retries.
        """
        if level not in VALIDATION_LEVELS:
            raise ValueError(
                f"unknown validation level {level!r}; expected one of {VALIDATION_LEVELS}"
            )
        self.metrics.validations.labels(
            self.masterplan, level, "passed" if passed else "failed"
        ).inc()

    def wave_finished(self, duration_seconds: float) -> None:
        m, mp = self.metrics, self.masterplan
        m.wave_duration.labels(mp).observe(
            _check_non_negative("duration_seconds", duration_seconds)
        )
        m.waves_executed.labels(mp).inc()

    def set_in_flight(self, n: int) -> None:
        """This run's atoms in flight now; moves the shared gauge by the difference."""
        _check_non_negative("in_flight", n)
        with self._lock:
            delta, self._in_flight = n - self._in_flight, n
        self.metrics.atoms_in_flight.labels(self.masterplan).inc(delta)

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Counts one atom in flight for the duration of the block."""
        with self._lock:
            self._in_flight += 1
        self.metrics.atoms_in_flight.labels(self.masterplan).inc()
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
            self.metrics.atoms_in_flight.labels(self.masterplan).dec()

    # -- review, precision, cost ---------------------------------------------------------

    def set_review_queue(self, size: int) -> None:
        self.metrics.review_queue.labels(self.masterplan).set(
            _check_non_negative("review queue size", size)
        )

    def set_precision(self, ratio: float) -> None:
        """Acceptance tests passed / total, as a ratio (0.98, not 98)."""
        self.metrics.precision.labels(self.masterplan).set(_check_ratio("precision", ratio))

    def set_cost(self, usd: float) -> None:
        """The run's model cost so far, in US dollars."""
        self.metrics.cost.labels(self.masterplan).set(_check_non_negative("cost_usd", usd))

    def add_tokens(self, *, input_tokens: int = 0, output_tokens: int = 0, cached: int = 0) -> None:
        """Tokens of one model call, labelled with the run's model."""
        pairs = (("input", input_tokens), ("output", output_tokens), ("cached", cached))
        for kind, count in pairs:
            _check_non_negative(f"{kind} tokens", count)
            if count:
                self.metrics.tokens.labels(self.masterplan, self.model, kind).inc(count)
