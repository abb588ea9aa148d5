"""docs/monitoring.md keeps up with the code: every metric, panel and alert is described."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from mge.monitoring import PROGRESS_EVENTS, SPECS
from mge.monitoring.dashboard import build_dashboard

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "monitoring.md").read_text()


def table_rows(heading: str) -> list[list[str]]:
    """The rows of the first table under `heading`, as stripped cells."""
    section = DOC.split(heading, 1)[1]
    rows = []
    for line in section.splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
        elif rows:
            break
    return rows[2:]  # header and separator


def documented_series() -> set[str]:
    names: set[str] = set()
    for heading in ("## From the seed's 17 metrics to MGE's", "Added, with no seed counterpart:"):
        for row in table_rows(heading):
            cell = row[2] if heading.startswith("##") else row[0]
            names.update(re.findall(r"`(mge_\w+)`", cell))
    return names


def exported_display_names() -> set[str]:
    """Names as a scrape shows them: counters with `_total`."""
    return {f"{s.name}_total" if s.kind == "counter" else s.name for s in SPECS}


def test_every_seed_metric_has_a_row() -> None:
    rows = table_rows("## From the seed's 17 metrics to MGE's")
    assert [int(row[0]) for row in rows] == list(range(1, 18))


def test_the_mapping_tables_name_exactly_the_exported_metrics() -> None:
    assert documented_series() == exported_display_names()


def test_every_panel_is_described() -> None:
    rows = table_rows("## Dashboard")
    described = [row[1] for row in rows]
    assert described == [p["title"] for p in build_dashboard()["panels"]]


def test_every_alert_is_described_with_its_severity() -> None:
    document = yaml.safe_load((ROOT / "monitoring" / "alerts.yml").read_text())
    severities = {
        rule["alert"]: (rule["labels"]["severity"], rule["for"])
        for group in document["groups"]
        for rule in group["rules"]
    }
    rows = table_rows("## Alerts")
    assert {row[0]: (row[1], row[2]) for row in rows} == severities


def test_every_progress_event_is_described() -> None:
    rows = table_rows("### Through progress events")
    assert [row[0].strip("`") for row in rows] == list(PROGRESS_EVENTS)
