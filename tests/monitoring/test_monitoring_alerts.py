"""The alert rules: they parse, they read exported series, and each is unit-tested."""

from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from mge.monitoring import exported_series_names
from mge.monitoring._promql import metric_names

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
ALERTS = MONITORING / "alerts.yml"
ALERTS_TEST = MONITORING / "alerts_test.yml"

# The seed's list, by the names this project gives them.
SEED_ALERTS = {
    "MgePrecisionBelowTarget",
    "MgeExecutionTimeTooHigh",
    "MgeCostExceedsBudget",
    "MgeHighFailureRate",
    "MgeLowContextCompleteness",
    "MgeAtomicValidationFailures",
    "MgeModuleValidationFailures",
    "MgeHighRetryRate",
    "MgeRetryExhaustion",
    "MgeReviewQueueBacklog",
    "MgeLowParallelization",
    "MgeGraphHasCycles",
    "MgeAtomsTooLarge",
    "MgeComplexityTooHigh",
}
# Critical in the seed: precision, validation, cycles, failure rate.
SEED_CRITICAL = {
    "MgePrecisionBelowTarget",
    "MgeAtomicValidationFailures",
    "MgeModuleValidationFailures",
    "MgeGraphHasCycles",
    "MgeHighFailureRate",
}


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_promtool_checks_the_rules(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_promtool_unit_tests_pass(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "test", "rules", str(ALERTS_TEST)],
        capture_output=True,
        text=True,
        cwd=MONITORING,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_unit_tests_catch_a_wrong_threshold(promtool: str, tmp_path: Path) -> None:
    """The unit tests have teeth: a rule with a loosened threshold makes them fail."""
    loosened = ALERTS.read_text().replace(
        "mge_review_queue_size > 50", "mge_review_queue_size > 80"
    )
    assert loosened != ALERTS.read_text()
    (tmp_path / "alerts.yml").write_text(loosened)
    (tmp_path / "alerts_test.yml").write_text(ALERTS_TEST.read_text())
    result = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "MgeReviewQueueBacklog" in result.stdout + result.stderr


def test_the_seed_alerts_and_ours_are_all_there() -> None:
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    assert set(names) >= SEED_ALERTS
    assert set(names) - SEED_ALERTS == {"MgeRunStalled", "MgeBudgetNearlySpent"}


def test_every_rule_has_severity_duration_and_text() -> None:
    for rule in rules():
        severity = rule["labels"]["severity"]
        assert severity in {"critical", "warning"}, rule["alert"]
        if rule["alert"] in SEED_CRITICAL:
            assert severity == "critical", rule["alert"]
        assert rule.get("for"), f"{rule['alert']} has no for: duration"
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert "{{ $labels.masterplan }}" in rule["annotations"]["summary"], rule["alert"]


def test_every_rule_reads_only_exported_series() -> None:
    exported = exported_series_names()
    for rule in rules():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= exported, f"{rule['alert']}: {sorted(names - exported)} not exported"


def test_counters_are_read_through_rate_or_increase() -> None:
    """A raw counter compared with a threshold would never resolve after a restart."""
    counters = {n for n in exported_series_names() if n.endswith("_total")}
    for rule in rules():
        expr = rule["expr"]
        for name in metric_names(expr) & counters:
            for occurrence in expr.split(name)[:-1]:
                assert occurrence.rstrip().endswith(("rate(", "increase(")), (rule["alert"], name)


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    cases: dict[str, dict[str, int]] = defaultdict(lambda: {"fires": 0, "quiet": 0})
    document = yaml.safe_load(ALERTS_TEST.read_text())
    assert document["rule_files"] == ["alerts.yml"]
    for test in document["tests"]:
        for case in test["alert_rule_test"]:
            cases[case["alertname"]]["fires" if case["exp_alerts"] else "quiet"] += 1
    for rule in rules():
        counts = cases[rule["alert"]]
        assert counts["fires"] >= 1, f"{rule['alert']} is never shown firing"
        assert counts["quiet"] >= 1, f"{rule['alert']} is never shown quiet"
    assert set(cases) == {rule["alert"] for rule in rules()}
