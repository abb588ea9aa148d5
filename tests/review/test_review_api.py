"""`/api/v2/review/*` on a real run: every action, the token, the conflict, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import select
from tests.conftest import LOOPBACK_URL
from tests.review.conftest import FIXED_WITH_TAX, TOTAL, WITH_TAX, ShopRun

from mge.api import ApiSettings, create_app
from mge.db import make_engine, session_scope
from mge.db.models import AtomicUnit, AtomStatus, ReviewAuditEvent
from mge.monitoring import MgeMetrics

TOKEN = "review-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
API = "/api/v2/review"


@pytest.fixture
def client(shop: ShopRun, tmp_path: Path) -> Iterator[TestClient]:
    settings = ApiSettings(database_url=shop.url, runs_dir=tmp_path / "runs", api_token=TOKEN)
    app = create_app(settings, metrics=MgeMetrics(CollectorRegistry()))
    with TestClient(app, base_url=LOOPBACK_URL) as test_client:
        yield test_client


def _items(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{API}/items", params=params)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _events(shop: ShopRun) -> list[tuple[str, str]]:
    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        rows = [(e.actor, e.action) for e in session.scalars(select(ReviewAuditEvent))]
    engine.dispose()
    return sorted(rows)


def test_every_mutating_route_needs_the_token_and_changes_nothing_without_it(
    client: TestClient, shop: ShopRun
) -> None:
    item = _items(client)[0]["id"]
    for path, body in (
        (f"/items/{item}/claim", {"reviewer": "ana"}),
        (f"/items/{item}/release", {"reviewer": "ana"}),
        (f"/items/{item}/approve", {"reviewer": "ana"}),
        (f"/items/{item}/edit", {"reviewer": "ana", "code": FIXED_WITH_TAX}),
        (f"/items/{item}/regenerate", {"reviewer": "ana", "feedback": "x"}),
        (f"/items/{item}/skip", {"reviewer": "ana"}),
        (f"/items/{item}/reject", {"reviewer": "ana", "note": "x"}),
        ("/bulk-approve", {"reviewer": "ana", "ids": [item]}),
        (f"/runs/{shop.run_id}/refresh", {}),
    ):
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            response = client.post(API + path, json=body, headers=headers)
            assert response.status_code == 401, path
            assert response.json()["error"] == "Unauthorized"
    assert _events(shop) == []


def test_claim_conflict_edit_and_the_queue_moves_on(client: TestClient, shop: ShopRun) -> None:
    refreshed = client.post(
        f"{API}/runs/{shop.run_id}/refresh", json={"bottom_share": 0.3}, headers=AUTH
    )
    assert refreshed.status_code == 200 and refreshed.json()["open"] == 2
    first, second = _items(client, run_id=str(shop.run_id))
    assert first["atom"] == WITH_TAX

    detail = client.get(f"{API}/items/{first['id']}").json()
    assert "RATE // 100 +" in detail["code"] and detail["suggestions"]

    claimed = client.post(
        f"{API}/items/{first['id']}/claim", json={"reviewer": "ana"}, headers=AUTH
    )
    assert claimed.status_code == 200 and claimed.json()["status"] == "in_review"
    taken = client.post(f"{API}/items/{first['id']}/approve", json={"reviewer": "bo"}, headers=AUTH)
    assert taken.status_code == 409
    assert taken.json()["error"] == "Conflict" and "ana" in taken.json()["detail"]

    invalid = client.post(
        f"{API}/items/{first['id']}/edit",
        json={"reviewer": "ana", "code": "def with_tax(net: int) -> int:\n    return (\n"},
        headers=AUTH,
    )
    assert invalid.status_code == 422 and invalid.json()["error"] == "ValidationFailed"

    diff = client.post(f"{API}/items/{first['id']}/diff", json={"code": FIXED_WITH_TAX}).json()
    assert "-    return net + net * RATE // 100 +" in diff["diff"]
    assert "+    return net + net * RATE // 100" in diff["diff"]

    edited = client.post(
        f"{API}/items/{first['id']}/edit",
        json={"reviewer": "ana", "code": FIXED_WITH_TAX, "note": "stray +"},
        headers=AUTH,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["unblocked"] == 2
    assert [i["id"] for i in _items(client)] == [second["id"]]
    assert len(_items(client, all="true")) == 2

    engine = make_engine(shop.url)
    with session_scope(engine) as session:
        status = session.scalars(
            select(AtomicUnit.status).where(AtomicUnit.atom_key == TOTAL)
        ).one()
    engine.dispose()
    assert status is AtomStatus.PENDING
    assert _events(shop) == [("ana", "claim"), ("ana", "edit")]


def test_skip_reject_release_bulk_approve_and_regenerate(client: TestClient, shop: ShopRun) -> None:
    client.post(f"{API}/runs/{shop.run_id}/refresh", json={"bottom_share": 0.7}, headers=AUTH)
    ids = [i["id"] for i in _items(client)]
    assert len(ids) == 3
    ok = {"reviewer": "ana"}
    assert client.post(f"{API}/items/{ids[1]}/skip", json=ok, headers=AUTH).status_code == 200
    rejected = client.post(
        f"{API}/items/{ids[1]}/reject", json={"reviewer": "ana", "note": "off"}, headers=AUTH
    )
    assert rejected.json()["status"] == "rejected"
    assert client.post(f"{API}/items/{ids[2]}/claim", json=ok, headers=AUTH).status_code == 200
    released = client.post(f"{API}/items/{ids[2]}/release", json=ok, headers=AUTH)
    assert released.json()["status"] == "pending"
    regenerated = client.post(
        f"{API}/items/{ids[0]}/regenerate",
        json={"reviewer": "ana", "feedback": "remove the trailing +"},
        headers=AUTH,
    )
    assert regenerated.status_code == 200, regenerated.text
    assert regenerated.json()["passed"] is True
    bulk = client.post(
        f"{API}/bulk-approve", json={"reviewer": "bo", "ids": ids}, headers=AUTH
    ).json()["results"]
    assert [r["ok"] for r in bulk] == [False, True, True]  # the first is already regenerated
    assert _items(client) == []
    actions = [a for _, a in _events(shop)]
    assert sorted(actions) == sorted(
        ["skip", "reject", "claim", "release", "regenerate", "approve", "approve"]
    )


def test_bad_input_is_a_clear_error(client: TestClient) -> None:
    assert client.get(f"{API}/items/nope").status_code == 404
    missing = client.post(
        f"{API}/items/00000000-0000-0000-0000-000000000000/claim",
        json={"reviewer": "ana"},
        headers=AUTH,
    )
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"
    item = _items(client)[0]["id"]
    nameless = client.post(f"{API}/items/{item}/claim", json={"reviewer": ""}, headers=AUTH)
    assert nameless.status_code == 422
    assert client.get(f"{API}/items", params={"run_id": "nope"}).status_code == 404


def test_the_review_page_is_served(client: TestClient) -> None:
    page = client.get("/review")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="btn-approve"' in page.text and 'src="/review/review.js"' in page.text
    script = client.get("/review/review.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/api/v2/review" in script.text


def test_the_item_panel_is_rendered_on_the_server(client: TestClient, shop: ShopRun) -> None:
    client.post(f"{API}/runs/{shop.run_id}/refresh", json={"bottom_share": 0.3}, headers=AUTH)
    first = _items(client)[0]
    assert first["atom"] == WITH_TAX
    detail = client.get(f"{API}/items/{first['id']}").json()
    assert detail["lines"] == {"first": 6, "last": 8}
    assert [s["file_line"] for s in detail["suggestions"]] == [None]
    panel = client.get(f"/review/items/{first['id']}")
    assert panel.status_code == 200
    assert panel.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in panel.headers["content-security-policy"]
    assert '<span class="linenos">6</span><span class="k">def</span>' in panel.text
    assert "shop/money.py, lines 6&ndash;8" in panel.text
    assert "line 8: invalid syntax" in panel.text and "line 0" not in panel.text
    style = client.get("/review/review.css").text
    assert ".hl .k" in style  # the highlighting's colours come with the page's style
    missing = client.get("/review/items/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"
