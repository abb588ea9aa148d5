"""Fixtures of the API tests: the app on a fresh SQLite database with private metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from tests.conftest import LOOPBACK_URL

from mge.api import ApiSettings, create_app
from mge.monitoring import MgeMetrics

SHOP = Path(__file__).resolve().parent / "fixtures" / "shop"
SHOP_PLAN = SHOP / "plan.yaml"
FINAL = frozenset({"completed", "failed", "interrupted", "budget_exhausted", "cancelled"})


@pytest.fixture
def metrics() -> MgeMetrics:
    return MgeMetrics(CollectorRegistry())


@pytest.fixture
def api_settings(sqlite_url: str, tmp_path: Path) -> ApiSettings:
    return ApiSettings(database_url=sqlite_url, runs_dir=tmp_path / "runs", api_token=None)


@pytest.fixture
def client(api_settings: ApiSettings, metrics: MgeMetrics) -> Iterator[TestClient]:
    with TestClient(
        create_app(api_settings, metrics=metrics), base_url=LOOPBACK_URL
    ) as test_client:
        yield test_client


@pytest.fixture
def both_client(db_url: str, tmp_path: Path, metrics: MgeMetrics) -> Iterator[TestClient]:
    """The app on SQLite, then on the real PostgreSQL server."""
    settings = ApiSettings(database_url=db_url, runs_dir=tmp_path / "runs", api_token=None)
    with TestClient(create_app(settings, metrics=metrics), base_url=LOOPBACK_URL) as test_client:
        yield test_client


def import_shop(client: TestClient, headers: dict[str, str] | None = None) -> str:
    response = client.post(
        "/api/v2/plans",
        params={"base_dir": str(SHOP)},
        content=SHOP_PLAN.read_bytes(),
        headers={"content-type": "application/yaml", **(headers or {})},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def shop_plan_data() -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load(SHOP_PLAN.read_text())
    return data


def wait_until_final(client: TestClient, run_id: str, *, limit: float = 180.0) -> dict[str, Any]:
    """Poll the run until it ends and the service lets go of it (a deadline, not a timing
    assertion: a run that never ends fails the test instead of hanging it)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        report: dict[str, Any] = client.get(f"/api/v2/runs/{run_id}").json()
        if report["status"] in FINAL and not report["live"]:
            return report
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish within {limit} s")


def read_events(
    lines: Iterator[str], *, stop_after: int | None = None, until: str | None = None
) -> list[dict[str, Any]]:
    """Parse server-sent events, each as {"id", "event", "data"}; stop after `stop_after`
    events or after the first event of kind `until`, if asked."""
    import json

    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in lines:
        if line.startswith("id: "):
            current["id"] = int(line[4:])
        elif line.startswith("event: "):
            current["event"] = line[7:]
        elif line.startswith("data: "):
            current["data"] = json.loads(line[6:])
        elif line == "" and current:
            events.append(current)
            current = {}
            if stop_after is not None and len(events) >= stop_after:
                break
            if until is not None and events[-1].get("event") == until:
                break
    return events
