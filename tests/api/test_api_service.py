"""`/healthz`, `/readyz`, `/metrics`, decomposition, atoms and the error shape."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from tests.api.conftest import import_shop
from tests.conftest import LOOPBACK_URL

from mge.api import ApiSettings, create_app
from mge.monitoring import MgeMetrics

CODE = '''"""Numbers."""

import math


def area(r: float) -> float:
    """Area of a circle."""
    return math.pi * r * r


def grade(score: int) -> str:
    if score > 90:
        return "A"
    if score > 80:
        return "B"
    if score > 70:
        return "C"
    if score > 60:
        return "D"
    return "F"
'''


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["revision"] == ready["head"]


def test_not_ready_when_the_database_is_not_migrated(tmp_path: Path, metrics: MgeMetrics) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # a database file with no schema in it
    settings = ApiSettings(
        database_url=f"sqlite:///{empty}",
        runs_dir=tmp_path / "runs",
        migrate_on_start=False,
        api_token=None,
    )
    with TestClient(create_app(settings, metrics=metrics), base_url=LOOPBACK_URL) as client:
        response = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    assert response.status_code == 503
    assert response.json()["error"] == "DatabaseError"
    assert "expected" in response.json()["detail"]


def test_metrics_are_prometheus_text(client: TestClient, metrics: MgeMetrics) -> None:
    metrics.run("demo").run_started(concurrency=3)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'mge_run_concurrency_limit{masterplan="demo"} 3.0' in response.text


def test_decompose_code_partitions_it(client: TestClient) -> None:
    response = client.post(
        "/api/v2/atomization/decompose",
        json={"code": CODE, "path": "geo.py", "max_loc": 8, "target_loc": 4},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "code"
    assert "".join(atom["code"] for atom in body["atoms"]) == CODE
    assert body["files"][0]["partition_ok"] is True
    names = [atom["name"] for atom in body["atoms"]]
    assert "area" in names
    assert len([n for n in names if n.startswith("grade")]) >= 2  # split under max_loc 8


def test_a_task_has_no_atoms_before_its_plan_runs(client: TestClient) -> None:
    """Atoms are planned from the model's skeleton when the plan runs: the API never
    shows reference code as a task's atoms."""
    masterplan_id = import_shop(client)
    response = client.post(
        "/api/v2/atomization/decompose", json={"masterplan_id": masterplan_id, "task_id": "prices"}
    )
    assert response.status_code == 422
    assert response.json()["error"] == "PlanError"
    assert "no atoms yet" in response.json()["detail"]


def test_bad_decompose_requests_are_4xx(client: TestClient) -> None:
    masterplan_id = import_shop(client)
    cases: list[tuple[dict[str, object], int, str]] = [
        ({}, 422, "RequestInvalid"),
        ({"code": "x = 1\n"}, 422, "RequestInvalid"),
        (
            {"code": "x", "path": "a.py", "task_id": "t", "masterplan_id": "m"},
            422,
            "RequestInvalid",
        ),
        ({"code": "x = 1\n", "path": "a.cobol"}, 422, "AtomizeError"),
        ({"code": "x", "path": "a.py", "target_loc": 20, "max_loc": 10}, 422, "RequestInvalid"),
        ({"masterplan_id": masterplan_id, "task_id": "nope"}, 404, "NotFound"),
        ({"masterplan_id": "nope", "task_id": "prices"}, 404, "NotFound"),
    ]
    for body, status, error in cases:
        response = client.post("/api/v2/atomization/decompose", json=body)
        assert (response.status_code, response.json()["error"]) == (status, error), body


def test_unknown_atoms_graphs_and_validation_are_404(client: TestClient) -> None:
    masterplan_id = import_shop(client)
    for path in (
        f"/api/v2/atoms/{uuid.uuid4()}",
        "/api/v2/atoms/not-a-uuid",
        f"/api/v2/validation/{uuid.uuid4()}",
        f"/api/v2/graphs/{uuid.uuid4()}",
        f"/api/v2/graphs/{masterplan_id}",  # imported, never run: no graph yet
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "NotFound"
    assert client.put("/healthz").status_code == 405
