"""The Grafana dashboard, built from code so its queries can be tested against the exports.

Plain dicts in Grafana's dashboard JSON model (schemaVersion 39); no SDK, because
the shape needed is small and a dependency would pin Grafana's release cadence.
Regenerate the committed file with:

    python -m mge.monitoring.dashboard > monitoring/grafana-dashboard.json

Every PromQL expression filters by the `$masterplan` variable and uses
`$__rate_interval` for rate windows; `panel_expressions()` lists them for tests.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any, Final

__all__ = [
    "COST_BUDGET_USD",
    "PARALLELISM_TARGET",
    "PRECISION_GREEN",
    "PRECISION_YELLOW",
    "build_dashboard",
    "dashboard_json",
    "main",
    "panel_expressions",
]

PRECISION_YELLOW: Final = 0.95  # below: red
PRECISION_GREEN: Final = 0.98  # below: yellow
COST_BUDGET_USD: Final = 200.0
PARALLELISM_TARGET: Final = 100
EXECUTION_TARGET_SECONDS: Final = 5400.0  # 1.5 h
EXECUTION_LIMIT_SECONDS: Final = 7200.0  # 2 h: the alert
LOC_TARGET: Final = 10
REVIEW_BACKLOG: Final = 50

DATASOURCE: Final[dict[str, str]] = {"type": "prometheus", "uid": "${datasource}"}
MP: Final = 'masterplan=~"$masterplan"'
RI: Final = "$__rate_interval"

Json = dict[str, Any]


def _target(expr: str, legend: str, ref: str, **extra: Any) -> Json:
    return {
        "datasource": DATASOURCE,
        "expr": expr,
        "legendFormat": legend,
        "refId": ref,
        **extra,
    }


def _steps(*steps: tuple[str, float | None]) -> Json:
    return {
        "mode": "absolute",
        "steps": [{"color": color, "value": value} for color, value in steps],
    }


def _panel(
    panel_id: int,
    title: str,
    kind: str,
    grid: tuple[int, int, int, int],
    targets: Sequence[Json],
    *,
    description: str,
    unit: str = "short",
    thresholds: Json | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    custom: Json | None = None,
    options: Json | None = None,
    transformations: Sequence[Json] = (),
) -> Json:
    x, y, w, h = grid
    defaults: Json = {"unit": unit}
    if thresholds is not None:
        defaults["thresholds"] = thresholds
        defaults["color"] = {"mode": "thresholds"}
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    if custom is not None:
        defaults["custom"] = custom
    panel: Json = {
        "id": panel_id,
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options or {},
        "targets": list(targets),
    }
    if transformations:
        panel["transformations"] = list(transformations)
    return panel


def _target_line() -> Json:
    """Draws the thresholds as dashed lines, which is how the targets show on graphs."""
    return {"thresholdsStyle": {"mode": "dashed"}, "lineWidth": 2, "fillOpacity": 10}


def _panels() -> list[Json]:
    panels: list[Json] = [
        _panel(
            1,
            "Execution time",
            "timeseries",
            (0, 0, 8, 8),
            [
                _target(
                    f"(time() - mge_run_start_time_seconds{{{MP}}})"
                    f" and on(masterplan) (mge_runs_active{{{MP}}} > 0)",
                    "{{masterplan}} elapsed",
                    "A",
                ),
                _target(
                    f"sum by (masterplan) (mge_run_duration_seconds_sum{{{MP}}})"
                    f" / sum by (masterplan) (mge_run_duration_seconds_count{{{MP}}})",
                    "{{masterplan}} mean finished run",
                    "B",
                ),
            ],
            description="Elapsed time of live runs and the mean of finished ones. "
            "Target under 1.5 h; the MgeExecutionTimeTooHigh alert fires past 2 h.",
            unit="s",
            thresholds=_steps(
                ("green", None),
                ("yellow", EXECUTION_TARGET_SECONDS),
                ("red", EXECUTION_LIMIT_SECONDS),
            ),
            minimum=0,
            custom=_target_line(),
        ),
        _panel(
            2,
            "Precision",
            "gauge",
            (8, 0, 8, 8),
            [_target(f"mge_precision_ratio{{{MP}}}", "{{masterplan}}", "A", instant=True)],
            description="Acceptance tests passed / total of the latest run. "
            "Red below 95 %, yellow below 98 %, green at 98 % and over.",
            unit="percentunit",
            thresholds=_steps(
                ("red", None), ("yellow", PRECISION_YELLOW), ("green", PRECISION_GREEN)
            ),
            minimum=0,
            maximum=1,
            options={"showThresholdMarkers": True, "showThresholdLabels": False},
        ),
        _panel(
            3,
            "Cost per project",
            "gauge",
            (16, 0, 8, 8),
            [_target(f"mge_run_cost_usd{{{MP}}}", "{{masterplan}}", "A", instant=True)],
            description="Model cost of the latest run against the $200 project budget "
            "(yellow from 80 % of it).",
            unit="currencyUSD",
            thresholds=_steps(
                ("green", None), ("yellow", 0.8 * COST_BUDGET_USD), ("red", COST_BUDGET_USD)
            ),
            minimum=0,
            maximum=1.25 * COST_BUDGET_USD,
            options={"showThresholdMarkers": True, "showThresholdLabels": True},
        ),
        _panel(
            4,
            "Atoms: generated vs failed",
            "timeseries",
            (0, 8, 12, 8),
            [
                _target(
                    f"sum by (masterplan) (mge_atoms_generated_total{{{MP}}})",
                    "{{masterplan}} generated",
                    "A",
                ),
                _target(
                    f"sum by (masterplan) (mge_atoms_completed_total{{{MP}}})",
                    "{{masterplan}} completed",
                    "B",
                ),
                _target(
                    f"sum by (masterplan) (mge_atoms_failed_total{{{MP}}})",
                    "{{masterplan}} failed",
                    "C",
                ),
                _target(
                    f"sum by (masterplan) (mge_atoms_blocked_total{{{MP}}})",
                    "{{masterplan}} blocked",
                    "D",
                ),
            ],
            description="Atoms out of atomization, and how many finished, failed every "
            "attempt, or were blocked by a failed dependency (since the exporter started).",
            minimum=0,
        ),
        _panel(
            5,
            "Parallel execution",
            "timeseries",
            (12, 8, 12, 8),
            [
                _target(
                    f"sum by (masterplan) (mge_atoms_in_flight{{{MP}}})",
                    "{{masterplan}} in flight",
                    "A",
                ),
                _target(
                    f"max by (masterplan) (mge_graph_max_parallelism{{{MP}}})",
                    "{{masterplan}} widest wave",
                    "B",
                ),
                _target(
                    f"max by (masterplan) (mge_run_concurrency_limit{{{MP}}})",
                    "{{masterplan}} concurrency limit",
                    "C",
                ),
            ],
            description="Atoms generated at once, against the widest wave the graph "
            "allows and the run's limit. Target: 100 or more atoms per wave.",
            thresholds=_steps(("red", None), ("green", PARALLELISM_TARGET)),
            minimum=0,
            custom=_target_line(),
        ),
        _panel(
            6,
            "Context completeness",
            "heatmap",
            (0, 16, 12, 8),
            [
                _target(
                    f"sum by (le) (increase(mge_atom_context_completeness_ratio_bucket"
                    f"{{{MP}}}[{RI}]))",
                    "{{le}}",
                    "A",
                    format="heatmap",
                ),
            ],
            description="How complete each new atom's context is (imports, types, "
            "callees, signature), atoms per bucket over time. Target: 95 % or more.",
            unit="percentunit",
            options={
                "calculate": False,
                "yAxis": {"unit": "percentunit"},
                "cellGap": 1,
                "color": {"mode": "scheme", "scheme": "Greens"},
            },
        ),
        _panel(
            7,
            "Validation pass rate by level",
            "timeseries",
            (12, 16, 12, 8),
            [
                _target(
                    f'sum by (level) (rate(mge_validations_total{{{MP}, outcome="passed"}}'
                    f"[{RI}])) / sum by (level) (rate(mge_validations_total{{{MP}}}[{RI}]))",
                    "{{level}}",
                    "A",
                ),
            ],
            description="Final verdicts passed / all, for L1 atomic, L2 module, "
            "L3 component and L4 system validation.",
            unit="percentunit",
            thresholds=_steps(("red", None), ("yellow", 0.95), ("green", 0.99)),
            minimum=0,
            maximum=1,
            custom=_target_line(),
        ),
        _panel(
            8,
            "Retry success rate by attempt",
            "timeseries",
            (0, 24, 12, 8),
            [
                _target(
                    f'sum by (attempt) (rate(mge_attempts_total{{{MP}, outcome="success"}}'
                    f"[{RI}])) / sum by (attempt) (rate(mge_attempts_total{{{MP}}}[{RI}]))",
                    "attempt {{attempt}}",
                    "A",
                ),
            ],
            description="Share of attempts that validated, by attempt number: attempt 1 "
            "is the first try, 2 and 3 are retries with the failure as feedback.",
            unit="percentunit",
            minimum=0,
            maximum=1,
        ),
        _panel(
            9,
            "Human review queue",
            "stat",
            (12, 24, 6, 8),
            [_target(f"sum(mge_review_queue_size{{{MP}}})", "queue", "A", instant=True)],
            description="Atoms waiting for a person: low confidence or failed for good. "
            "The MgeReviewQueueBacklog alert fires over 50.",
            thresholds=_steps(("green", None), ("yellow", 25), ("red", REVIEW_BACKLOG)),
            options={"colorMode": "background", "graphMode": "area"},
        ),
        _panel(
            10,
            "LOC per atom",
            "bargauge",
            (18, 24, 6, 8),
            [
                _target(
                    f"sum by (le) (mge_atom_loc_bucket{{{MP}}})",
                    "{{le}}",
                    "A",
                    format="heatmap",
                    instant=True,
                ),
            ],
            description="Atoms by lines of code (cumulative buckets). Target about 10, "
            "max 15; MgeAtomsTooLarge fires when the 90th percentile passes 15.",
            options={"displayMode": "gradient", "orientation": "horizontal"},
        ),
        _panel(
            11,
            "Wave execution duration",
            "timeseries",
            (0, 32, 12, 8),
            [
                _target(
                    f"histogram_quantile(0.5, sum by (le) "
                    f"(rate(mge_wave_duration_seconds_bucket{{{MP}}}[{RI}])))",
                    "p50",
                    "A",
                ),
                _target(
                    f"histogram_quantile(0.9, sum by (le) "
                    f"(rate(mge_wave_duration_seconds_bucket{{{MP}}}[{RI}])))",
                    "p90",
                    "B",
                ),
            ],
            description="Median and 90th percentile wall time of a wave (one "
            "topological generation of the graph).",
            unit="s",
            minimum=0,
        ),
        _panel(
            12,
            "Dependency graph stats",
            "table",
            (12, 32, 12, 8),
            [
                _target(
                    f"max by (masterplan) (mge_graph_atoms{{{MP}}})",
                    "atoms",
                    "A",
                    instant=True,
                    format="table",
                ),
                _target(
                    f"sum by (masterplan) (mge_graph_edges{{{MP}}})",
                    "edges",
                    "B",
                    instant=True,
                    format="table",
                ),
                _target(
                    f"max by (masterplan) (mge_graph_waves{{{MP}}})",
                    "waves",
                    "C",
                    instant=True,
                    format="table",
                ),
                _target(
                    f"max by (masterplan) (mge_graph_max_parallelism{{{MP}}})",
                    "max parallelism",
                    "D",
                    instant=True,
                    format="table",
                ),
                _target(
                    f"max by (masterplan) (mge_graph_critical_path_atoms{{{MP}}})",
                    "critical path",
                    "E",
                    instant=True,
                    format="table",
                ),
                _target(
                    f"max by (masterplan) (mge_graph_cycles{{{MP}}})",
                    "cycles",
                    "F",
                    instant=True,
                    format="table",
                ),
            ],
            description="One row per masterplan: atoms, edges, waves, widest wave, "
            "critical path and cycles (strongly connected components) of its graph.",
            transformations=[
                {"id": "merge", "options": {}},
                {
                    "id": "organize",
                    "options": {
                        "excludeByName": {"Time": True},
                        "renameByName": {
                            "Value #A": "atoms",
                            "Value #B": "edges",
                            "Value #C": "waves",
                            "Value #D": "max parallelism",
                            "Value #E": "critical path",
                            "Value #F": "cycles",
                        },
                    },
                },
            ],
        ),
    ]
    return panels


def _templating() -> Json:
    return {
        "list": [
            {
                "name": "datasource",
                "label": "Data source",
                "type": "datasource",
                "query": "prometheus",
                "current": {},
                "hide": 0,
            },
            {
                "name": "masterplan",
                "label": "Masterplan",
                "type": "query",
                "datasource": DATASOURCE,
                "query": {
                    "query": "label_values(mge_atoms_generated_total, masterplan)",
                    "refId": "masterplan",
                },
                "definition": "label_values(mge_atoms_generated_total, masterplan)",
                "refresh": 2,
                "multi": True,
                "includeAll": True,
                "allValue": ".*",
                "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
                "sort": 1,
                "hide": 0,
            },
        ]
    }


def build_dashboard() -> Json:
    """The whole dashboard: 12 panels, a masterplan filter, 30 s refresh."""
    return {
        "uid": "mge-v2",
        "title": "MGE v2",
        "description": "Masterplan Generation Engine: atoms, waves, validation, cost.",
        "tags": ["mge"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {"refresh_intervals": ["10s", "30s", "1m", "5m", "15m"]},
        "templating": _templating(),
        "annotations": {"list": []},
        "links": [],
        "panels": _panels(),
    }


def panel_expressions(dashboard: Json) -> Iterator[tuple[str, str]]:
    """(panel title, PromQL) for every query target of `dashboard`."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def dashboard_json() -> str:
    """The file's exact text: stable key order, two-space indent, final newline."""
    return json.dumps(build_dashboard(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    sys.stdout.write(dashboard_json())


if __name__ == "__main__":
    main()
