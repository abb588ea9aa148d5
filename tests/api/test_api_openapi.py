"""The OpenAPI document is complete, and schemathesis finds no 500 and no response that
breaks it (bounded examples per operation, so it stays fast)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from prometheus_client import CollectorRegistry
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.api.conftest import import_shop
from tests.conftest import LOOPBACK_URL

from mge.api import ApiSettings, create_app
from mge.db import migrate
from mge.monitoring import MgeMetrics

EXPECTED = {
    ("post", "/api/v2/plans"),
    ("get", "/api/v2/plans"),
    ("post", "/api/v2/plans/check"),
    ("get", "/api/v2/plans/{masterplan_id}"),
    ("post", "/api/v2/atomization/decompose"),
    ("get", "/api/v2/atoms/{atom_id}"),
    ("get", "/api/v2/graphs/{masterplan_id}"),
    ("post", "/api/v2/runs"),
    ("get", "/api/v2/runs"),
    ("get", "/api/v2/runs/{run_id}"),
    ("post", "/api/v2/runs/{run_id}/pause"),
    ("post", "/api/v2/runs/{run_id}/resume"),
    ("post", "/api/v2/runs/{run_id}/cancel"),
    ("get", "/api/v2/runs/{run_id}/events"),
    ("get", "/api/v2/validation/{atom_id}"),
    ("get", "/metrics"),
    ("get", "/healthz"),
    ("get", "/readyz"),
}
MUTATING = {
    ("post", "/api/v2/plans"),
    ("post", "/api/v2/runs"),
    ("post", "/api/v2/runs/{run_id}/pause"),
    ("post", "/api/v2/runs/{run_id}/resume"),
    ("post", "/api/v2/runs/{run_id}/cancel"),
    ("post", "/api/v2/drafts/{draft_id}/edit"),
    ("post", "/api/v2/drafts/{draft_id}/approve"),
    ("post", "/api/v2/drafts/{draft_id}/reject"),
}


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def test_the_document_names_every_endpoint_with_typed_answers(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operations = _operations(document)
    assert set(operations) >= EXPECTED
    schemas = document["components"]["schemas"]
    assert {"ErrorOut", "RunReport", "GraphOut", "AtomDetail", "PlanSummary"} <= set(schemas)
    for key, operation in operations.items():
        ok = [code for code in operation["responses"] if code.startswith("2")]
        assert ok, key
        for code in ok:
            content = operation["responses"][code].get("content", {})
            assert content, (key, code)
            assert all("schema" in media for media in content.values()), (key, code)
        for code, response in operation["responses"].items():
            if code.startswith("4"):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorOut"), (key, code)
        if key in MUTATING:
            assert "401" in operation["responses"], key
            assert operation.get("security"), key
    plan_body = operations[("post", "/api/v2/plans")]["requestBody"]["content"]
    assert {"application/json", "application/yaml"} <= set(plan_body)


@pytest.fixture
def fuzz_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FastAPI]:
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "MGE_OPENAI_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    migrate.upgrade(url)
    settings_ = ApiSettings(
        database_url=url,
        runs_dir=tmp_path / "runs",
        api_token=None,
        migrate_on_start=False,
        # schemathesis' ASGI client names itself "testserver"
        allowed_hosts=["127.0.0.1", "testserver"],
    )
    app = create_app(settings_, metrics=MgeMetrics(CollectorRegistry()))
    with TestClient(app, base_url=LOOPBACK_URL) as client:
        import_shop(client)  # so list endpoints answer with real rows
        yield app


def test_no_server_error_and_no_schema_violation(fuzz_app: FastAPI) -> None:
    """Every operation, up to 25 generated requests each (derandomized: reproducible)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        response_headers_conformance,
    ]
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()
        tested.append((operation.method.lower(), operation.path))

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=checks)

        check()
    assert set(tested) >= EXPECTED
