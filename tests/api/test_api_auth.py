"""The MGE_API_TOKEN rule: mutating endpoints need the bearer token; `mge serve` without a
token binds loopback only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import SHOP, SHOP_PLAN, import_shop
from tests.conftest import LOOPBACK_URL
from typer.testing import CliRunner

from mge.api import ApiSettings, create_app
from mge.cli.app import app as cli_app
from mge.monitoring import MgeMetrics

TOKEN = "s3cret-token"


@pytest.fixture
def guarded(sqlite_url: str, tmp_path: Path, metrics: MgeMetrics) -> Iterator[TestClient]:
    settings = ApiSettings(database_url=sqlite_url, runs_dir=tmp_path / "runs", api_token=TOKEN)
    with TestClient(create_app(settings, metrics=metrics), base_url=LOOPBACK_URL) as client:
        yield client


def _import(client: TestClient, headers: dict[str, str]) -> int:
    return client.post(
        "/api/v2/plans",
        params={"base_dir": str(SHOP)},
        content=SHOP_PLAN.read_bytes(),
        headers={"content-type": "application/yaml", **headers},
    ).status_code


def test_mutating_endpoints_need_the_token(guarded: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        response = guarded.post(
            "/api/v2/plans",
            params={"base_dir": str(SHOP)},
            content=SHOP_PLAN.read_bytes(),
            headers={"content-type": "application/yaml", **headers},
        )
        assert response.status_code == 401, headers
        assert response.json()["error"] == "Unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    for path in (
        "/api/v2/runs",
        "/api/v2/runs/x/pause",
        "/api/v2/runs/x/resume",
        "/api/v2/runs/x/cancel",
    ):
        assert guarded.post(path, json={}).status_code == 401, path
    assert guarded.get("/api/v2/plans").json() == []

    masterplan_id = import_shop(guarded, {"Authorization": f"Bearer {TOKEN}"})
    # reads and side-effect-free checks stay open
    assert guarded.get(f"/api/v2/plans/{masterplan_id}").status_code == 200
    assert guarded.get("/api/v2/runs").status_code == 200
    assert guarded.post("/api/v2/plans/check", json={}).status_code == 200
    assert (
        guarded.post(
            "/api/v2/atomization/decompose", json={"code": "x = 1\n", "path": "x.py"}
        ).status_code
        == 200
    )


def test_without_a_token_mutations_are_open(client: TestClient) -> None:
    assert _import(client, {}) == 201


def test_serve_refuses_a_public_address_without_a_token(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.delenv("MGE_API_TOKEN", raising=False)
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--db", sqlite_url])
    assert result.exit_code != 0
    assert "MGE_API_TOKEN" in str(result.exception)
    result = CliRunner().invoke(cli_app, ["serve", "--port", "70000", "--db", sqlite_url])
    assert result.exit_code != 0
    assert "--port" in str(result.exception)


def test_serve_says_when_a_public_address_would_refuse_every_host_name(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    import uvicorn

    served: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, **_: served.append(host))
    monkeypatch.setenv("MGE_API_TOKEN", TOKEN)
    monkeypatch.delenv("MGE_ALLOWED_HOSTS", raising=False)
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--db", sqlite_url])
    assert result.exit_code == 0, result.output
    assert served == ["0.0.0.0"]
    assert "MGE_ALLOWED_HOSTS names only loopback hosts" in " ".join(result.output.split())
    monkeypatch.setenv("MGE_ALLOWED_HOSTS", "mge.example.org")
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--db", sqlite_url])
    assert "MGE_ALLOWED_HOSTS" not in result.output
