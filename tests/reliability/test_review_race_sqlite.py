"""Reviewers pressing the same button at once on SQLite (issue 20): every answer is
200 or 409, never 503 "database is locked", and one approval wins per item."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from tests.conftest import LOOPBACK_URL
from tests.review.conftest import ShopRun

from mge.api import ApiSettings, create_app
from mge.monitoring import MgeMetrics

TOKEN = "review-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
API = "/api/v2/review"


@pytest.fixture
def review_client(shop: ShopRun, tmp_path: Path) -> Iterator[TestClient]:
    settings = ApiSettings(database_url=shop.url, runs_dir=tmp_path / "runs", api_token=TOKEN)
    app = create_app(settings, metrics=MgeMetrics(CollectorRegistry()))
    with TestClient(app, base_url=LOOPBACK_URL) as test_client:
        yield test_client


def _items(client: TestClient) -> list[str]:
    response = client.get(f"{API}/items")
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return [item["id"] for item in items]


@pytest.mark.parametrize("action", ["skip", "approve"])
def test_concurrent_decisions_on_sqlite_wait_instead_of_failing(
    review_client: TestClient, shop: ShopRun, action: str
) -> None:
    """Many reviewers press the same button at once: SQLite must make the writers
    wait their turn (200, or 409 for a second approval), never answer 503
    "database is locked"."""
    client = review_client
    client.post(f"{API}/runs/{shop.run_id}/refresh", json={"bottom_share": 0.3}, headers=AUTH)
    items = _items(client)
    start = threading.Barrier(8)
    statuses: list[tuple[str, int]] = []

    def press(index: int) -> None:
        item = items[index % len(items)]
        start.wait()
        response = client.post(
            f"{API}/items/{item}/{action}", json={"reviewer": f"r{index}"}, headers=AUTH
        )
        statuses.append((item, response.status_code))

    threads = [threading.Thread(target=press, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(statuses) == 8
    assert {status for _, status in statuses} <= {200, 409}, statuses
    if action == "approve":  # a skip only passes the item on; one approval wins
        for item in items:
            assert [s for i, s in statuses if i == item].count(200) == 1
