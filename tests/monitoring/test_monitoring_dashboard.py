"""The Grafana dashboard: generated, committed, and querying only what the code exports."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from mge.monitoring import exported_series_names
from mge.monitoring._promql import metric_names
from mge.monitoring.dashboard import build_dashboard, dashboard_json, panel_expressions

DASHBOARD_FILE = Path(__file__).resolve().parents[2] / "monitoring" / "grafana-dashboard.json"

SEED_PANELS = [
    "Execution time",
    "Precision",
    "Cost per project",
    "Atoms: generated vs failed",
    "Parallel execution",
    "Context completeness",
    "Validation pass rate by level",
    "Retry success rate by attempt",
    "Human review queue",
    "LOC per atom",
    "Wave execution duration",
    "Dependency graph stats",
]

# Grafana's macros, replaced by values promtool accepts, as Grafana would before querying.
GRAFANA_MACROS = {"$__rate_interval": "5m", "$masterplan": ".*"}


def panel(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    return next(p for p in dashboard["panels"] if p["title"] == title)


def steps(p: dict[str, Any]) -> list[tuple[str, float | None]]:
    thresholds = p["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return [(step["color"], step["value"]) for step in thresholds]


def test_the_committed_file_is_the_generated_one() -> None:
    assert DASHBOARD_FILE.read_text() == dashboard_json(), (
        "regenerate: python -m mge.monitoring.dashboard > monitoring/grafana-dashboard.json"
    )


def test_the_module_entry_point_prints_the_dashboard() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mge.monitoring.dashboard"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == DASHBOARD_FILE.read_text()


def test_the_seed_panels_refresh_and_variable() -> None:
    dashboard = build_dashboard()
    assert [p["title"] for p in dashboard["panels"]] == SEED_PANELS
    assert len({p["id"] for p in dashboard["panels"]}) == 12
    assert dashboard["refresh"] == "30s"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    masterplan = variables["masterplan"]
    assert masterplan["type"] == "query"
    assert masterplan["includeAll"] and masterplan["multi"]
    query = re.fullmatch(r"label_values\((\w+), masterplan\)", masterplan["definition"])
    assert query is not None, masterplan["definition"]
    assert query.group(1) in exported_series_names()
    for _, expr in panel_expressions(dashboard):
        assert 'masterplan=~"$masterplan"' in expr, expr


def test_the_seed_thresholds() -> None:
    dashboard = build_dashboard()
    precision = panel(dashboard, "Precision")
    assert precision["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert steps(precision) == [("red", None), ("yellow", 0.95), ("green", 0.98)]
    cost = panel(dashboard, "Cost per project")
    assert steps(cost)[-1] == ("red", 200.0)
    parallel = panel(dashboard, "Parallel execution")
    assert steps(parallel)[-1] == ("green", 100)
    assert parallel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "dashed"


def test_panels_do_not_overlap() -> None:
    cells: set[tuple[int, int]] = set()
    for p in build_dashboard()["panels"]:
        grid = p["gridPos"]
        assert grid["x"] + grid["w"] <= 24, p["title"]
        own = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not own & cells, f"{p['title']} overlaps another panel"
        cells |= own


def test_every_panel_queries_only_exported_series() -> None:
    exported = exported_series_names()
    for title, expr in panel_expressions(build_dashboard()):
        names = metric_names(expr)
        assert names, f"{title}: no metric name found in {expr!r}"
        assert names <= exported, f"{title}: {sorted(names - exported)} are not exported"


def test_every_panel_expression_parses(promtool: str, tmp_path: Path) -> None:
    """promtool parses each expression as a recording rule, after Grafana's substitutions."""
    rules = []
    for index, (_, expr) in enumerate(panel_expressions(build_dashboard())):
        for macro, replacement in GRAFANA_MACROS.items():
            expr = expr.replace(macro, replacement)
        rules.append({"record": f"mge:panel_expression_{index}", "expr": expr})
    rule_file = tmp_path / "panels.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(rule_file)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_a_broken_expression_is_caught(promtool: str, tmp_path: Path) -> None:
    """The check above has teeth: promtool refuses a malformed expression."""
    rule_file = tmp_path / "bad.yml"
    bad = {"record": "mge:bad", "expr": "sum by (le) (rate(mge_atom_loc_bucket[5m])"}
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "bad", "rules": [bad]}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(rule_file)], capture_output=True, text=True
    )
    assert result.returncode != 0


def test_the_file_is_valid_json_with_unique_target_refs() -> None:
    dashboard = json.loads(DASHBOARD_FILE.read_text())
    for p in dashboard["panels"]:
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
