"""`/api/v2/runs` end to end on a small replay plan: start, stream, pause, resume, cancel."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from sqlalchemy.orm import Session
from tests.api.conftest import SHOP, import_shop, read_events, shop_plan_data, wait_until_final

from mge.db.models import AtomicUnit
from mge.monitoring import MgeMetrics

ATOMIC = {"levels": "atomic", "concurrency": 4}


def _start(client: TestClient, **body: object) -> dict[str, object]:
    response = client.post("/api/v2/runs", json=body)
    assert response.status_code == 202, response.text
    return dict(response.json())


def test_a_run_from_a_plan_body_streams_progress_and_ends_completed(
    client: TestClient, metrics: MgeMetrics
) -> None:
    started = _start(client, plan=shop_plan_data(), base_dir=str(SHOP))
    assert started["live"] is True
    run_id = str(started["run_id"])

    with client.stream("GET", f"/api/v2/runs/{run_id}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response.iter_lines())
    kinds = [event["event"] for event in events]
    assert kinds[0] == "run_started"
    assert kinds[-1] == "status"
    assert "run_finished" in kinds
    assert [event["id"] for event in events] == list(range(1, len(events) + 1))
    final = events[-1]["data"]
    assert final["status"] == "completed"

    report = wait_until_final(client, run_id)
    assert report["status"] == "completed"
    assert report["atoms"]["completed"] == report["atoms"]["total"] > 0
    assert report["precision_percent"] == 100.0
    assert report["simulated"] is True
    done = [e for e in events if e["event"] == "atom_done" and e["data"]["status"] == "completed"]
    assert len(done) == report["atoms"]["total"]

    # the live metrics saw the same run
    scrape = generate_latest(metrics.registry).decode()
    total = report["atoms"]["total"]
    assert f'mge_atoms_completed_total{{masterplan="shop"}} {float(total)}' in scrape
    assert 'mge_precision_ratio{masterplan="shop"} 1.0' in scrape
    assert 'mge_runs_active{masterplan="shop"} 0.0' in scrape
    assert f'mge_graph_atoms{{masterplan="shop"}} {float(total)}' in scrape
    served = client.get("/metrics")
    assert served.status_code == 200
    assert f'mge_atoms_completed_total{{masterplan="shop"}} {float(total)}' in served.text

    listed = client.get("/api/v2/runs").json()
    assert [(r["run_id"], r["status"], r["live"]) for r in listed] == [(run_id, "completed", False)]
    # a finished run's stream replays its events and ends
    with client.stream("GET", f"/api/v2/runs/{run_id}/events") as response:
        again = read_events(response.iter_lines())
    assert [e["id"] for e in again] == [e["id"] for e in events]


def test_graph_atoms_and_validation_of_a_finished_run(both_client: TestClient) -> None:
    client = both_client
    masterplan_id = import_shop(client)
    run_id = str(_start(client, masterplan_id=masterplan_id, settings=ATOMIC)["run_id"])
    wait_until_final(client, run_id)

    graph = client.get(f"/api/v2/graphs/{masterplan_id}").json()
    figures = graph["figures"]
    assert figures["atoms"] == len(graph["nodes"]) > 0
    assert figures["waves"] == len(graph["waves"])
    assert figures["max_parallelism"] == max(len(w) for w in graph["waves"])
    keys = {node["id"] for node in graph["nodes"]}
    assert {e["source"] for e in graph["edges"]} <= keys
    assert sorted(k for wave in graph["waves"] for k in wave) == sorted(keys)

    basket = next(n for n in graph["nodes"] if n["id"] == "shop/basket.py::basket_total#0")
    atom = client.get(f"/api/v2/atoms/{basket['atom_id']}").json()
    assert atom["status"] == "completed"
    assert atom["task"] == "basket"
    assert "def basket_total" in atom["code"]
    assert any(link["key"] == "shop/basket.py::line_total#0" for link in atom["depends_on"])

    validation = client.get(f"/api/v2/validation/{basket['atom_id']}").json()
    assert validation["latest"]["atomic"] is True
    assert validation["results"]
    assert all(r["level"] == "atomic" for r in validation["results"])

    stored = client.post(
        "/api/v2/atomization/decompose",
        json={"masterplan_id": masterplan_id, "task_id": "basket"},
    ).json()
    assert stored["source"] == "stored"
    assert {a["id"] for a in stored["atoms"]} <= keys
    assert [(f["has_syntax_error"], f["partition_ok"]) for f in stored["files"]] == [(False, True)]

    # the answers are computed from the rows, so a broken atom and a gap show
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        row = session.get_one(AtomicUnit, uuid.UUID(basket["atom_id"]))
        row.code = "def basket_total(lines:\n"
        row.start_byte = (row.start_byte or 0) + 1
        session.commit()
    broken = client.post(
        "/api/v2/atomization/decompose",
        json={"masterplan_id": masterplan_id, "task_id": "basket"},
    ).json()
    assert [(f["has_syntax_error"], f["partition_ok"]) for f in broken["files"]] == [(True, False)]


def test_a_second_start_is_a_409_and_nothing_is_stored(client: TestClient) -> None:
    masterplan_id = import_shop(client)
    first = _start(client, masterplan_id=masterplan_id, settings=ATOMIC)
    second = client.post("/api/v2/runs", json={"masterplan_id": masterplan_id})
    assert second.status_code == 409
    assert second.json()["error"] == "Conflict"
    wait_until_final(client, str(first["run_id"]))
    again = client.post("/api/v2/runs", json={"masterplan_id": masterplan_id})
    assert again.status_code == 409
    assert len(client.get("/api/v2/runs").json()) == 1


def test_pause_then_resume_finishes_the_run(client: TestClient) -> None:
    settings = {**ATOMIC, "latency_ms": 200.0, "concurrency": 1}
    run_id = str(
        _start(client, plan=shop_plan_data(), base_dir=str(SHOP), settings=settings)["run_id"]
    )
    with client.stream("GET", f"/api/v2/runs/{run_id}/events") as response:
        read_events(response.iter_lines(), until="atom_done")
    paused = client.post(f"/api/v2/runs/{run_id}/pause")
    assert paused.status_code == 202
    report = wait_until_final(client, run_id)
    assert report["status"] == "interrupted"
    assert report["atoms"]["completed"] < report["atoms"]["total"]
    assert client.post(f"/api/v2/runs/{run_id}/pause").status_code == 409

    resumed = client.post(f"/api/v2/runs/{run_id}/resume")
    assert resumed.status_code == 202
    final = wait_until_final(client, run_id)
    assert final["status"] == "completed"
    assert final["atoms"]["completed"] == final["atoms"]["total"]
    assert client.post(f"/api/v2/runs/{run_id}/resume").status_code == 409


def test_cancel_is_final(client: TestClient) -> None:
    settings = {**ATOMIC, "latency_ms": 200.0, "concurrency": 1}
    run_id = str(
        _start(client, plan=shop_plan_data(), base_dir=str(SHOP), settings=settings)["run_id"]
    )
    assert client.post(f"/api/v2/runs/{run_id}/cancel").status_code == 202
    report = wait_until_final(client, run_id)
    assert report["status"] == "cancelled"
    assert client.post(f"/api/v2/runs/{run_id}/resume").json()["error"] == "Conflict"
    assert client.post(f"/api/v2/runs/{run_id}/cancel").status_code == 409


def test_a_dropped_event_stream_loses_nothing(client: TestClient) -> None:
    settings = {**ATOMIC, "latency_ms": 50.0, "concurrency": 2}
    run_id = str(
        _start(client, plan=shop_plan_data(), base_dir=str(SHOP), settings=settings)["run_id"]
    )
    with client.stream("GET", f"/api/v2/runs/{run_id}/events") as response:
        first = read_events(response.iter_lines(), stop_after=4)
    # the client went away mid-run; the run goes on and the service stays healthy
    assert client.get("/healthz").status_code == 200
    last = first[-1]["id"]
    with client.stream(
        "GET", f"/api/v2/runs/{run_id}/events", headers={"Last-Event-ID": str(last)}
    ) as response:
        rest = read_events(response.iter_lines())
    ids = [e["id"] for e in first + rest]
    assert ids == list(range(1, len(ids) + 1))
    assert rest[-1]["event"] == "status"
    assert rest[-1]["data"]["status"] == "completed"
    assert wait_until_final(client, run_id)["status"] == "completed"


def test_bad_run_requests_are_4xx(client: TestClient) -> None:
    cases: list[tuple[dict[str, object], int, str]] = [
        ({}, 422, "RequestInvalid"),
        ({"masterplan_id": "x", "plan": {}}, 422, "RequestInvalid"),
        ({"masterplan_id": str(uuid.uuid4())}, 404, "NotFound"),
        ({"plan": {"version": 1}}, 422, "PlanError"),
        (
            {"plan": shop_plan_data(), "base_dir": str(SHOP), "settings": {"concurrency": 0}},
            422,
            "RequestInvalid",
        ),
        (
            {"plan": shop_plan_data(), "base_dir": str(SHOP), "settings": {"model": "nope"}},
            422,
            "ConfigError",
        ),
        (
            {"plan": shop_plan_data(), "base_dir": str(SHOP), "settings": {"mutants_per_atom": 0}},
            422,
            "RequestInvalid",
        ),
        (
            {
                "plan": shop_plan_data(),
                "base_dir": str(SHOP),
                "settings": {"validation_workers": -1},
            },
            422,
            "RequestInvalid",
        ),
        (
            {"plan": shop_plan_data(), "base_dir": str(SHOP), "settings": {"colour": 1}},
            422,
            "RequestInvalid",
        ),
    ]
    no_reference = shop_plan_data()
    del no_reference["reference"]
    cases.append(({"plan": no_reference}, 422, "ConfigError"))
    for body, status, error in cases:
        response = client.post("/api/v2/runs", json=body)
        assert (response.status_code, response.json()["error"]) == (status, error), body
    malformed = client.post(
        "/api/v2/runs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422
    assert set(malformed.json()) == {"error", "detail"}
    assert client.get("/api/v2/runs").json() == []
    assert client.get("/api/v2/plans").json() == []
    for path in ("/api/v2/runs/nope", f"/api/v2/runs/{uuid.uuid4()}/events"):
        assert client.get(path).status_code == 404
    for action in ("pause", "resume", "cancel"):
        assert client.post(f"/api/v2/runs/{uuid.uuid4()}/{action}").status_code == 404
