"""What the service refuses before a route runs, and how: requests for a host it does
not serve, bodies of a type a cross-site form can send, bodies over the limit, and
paths outside its plan roots. Every refusal is a 4xx with the JSON error body."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.api.conftest import SHOP, SHOP_PLAN, shop_plan_data
from tests.conftest import LOOPBACK_URL

from mge.api import ApiSettings, create_app
from mge.monitoring import MgeMetrics

TOKEN = "h4rd-token"
CHECK = "/api/v2/plans/check"


def _app(sqlite_url: str, tmp_path: Path, metrics: MgeMetrics, **settings: object) -> FastAPI:
    return create_app(
        ApiSettings(database_url=sqlite_url, runs_dir=tmp_path / "runs", **settings),  # type: ignore[arg-type]
        metrics=metrics,
    )


@pytest.fixture
def small(sqlite_url: str, tmp_path: Path, metrics: MgeMetrics) -> Iterator[TestClient]:
    app = _app(sqlite_url, tmp_path, metrics, max_body_bytes=2000, api_token=TOKEN)
    with TestClient(app, base_url=LOOPBACK_URL) as client:
        yield client


def _refused(response: httpx.Response, status: int, error: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, object] = response.json()
    assert body["error"] == error
    return body


def test_only_configured_hosts_are_served(client: TestClient) -> None:
    for host in ("127.0.0.1:8000", "localhost", "LOCALHOST:1", "[::1]:8000"):
        assert client.get("/healthz", headers={"host": host}).status_code == 200, host
    for host in ("evil.example", "127.0.0.1.evil.example:80", "localhost:x", ""):
        _refused(client.get("/healthz", headers={"host": host}), 400, "HostNotAllowed")
        _refused(
            client.post(CHECK, json=shop_plan_data(), headers={"host": host}),
            400,
            "HostNotAllowed",
        )


def test_wildcard_hosts(sqlite_url: str, tmp_path: Path, metrics: MgeMetrics) -> None:
    app = _app(sqlite_url, tmp_path, metrics, allowed_hosts="mge.example.org,*.corp.example")
    with TestClient(app, base_url="http://mge.example.org") as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/healthz", headers={"host": "a.corp.example"}).status_code == 200
        _refused(client.get("/healthz", headers={"host": "corp.example"}), 400, "HostNotAllowed")
        _refused(client.get("/healthz", headers={"host": "127.0.0.1"}), 400, "HostNotAllowed")


def test_bodies_a_cross_site_form_can_send_are_refused(client: TestClient) -> None:
    plan = json.dumps(shop_plan_data())
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        headers = {"content-type": content_type}
        for path in (CHECK, "/api/v2/plans", "/api/v2/atomization/decompose", "/api/v2/runs"):
            body = _refused(
                client.post(path, content=plan, headers=headers), 415, "UnsupportedMediaType"
            )
            assert "application/json" in str(body["detail"])
        # a form post without fields still names its type: refused before the route
        _refused(client.post("/api/v2/runs/x/pause", headers=headers), 415, "UnsupportedMediaType")
    _refused(client.post(CHECK, content=plan), 415, "UnsupportedMediaType")  # no type at all
    _refused(
        client.post(
            "/api/v2/atomization/decompose",
            content="code: x",
            headers={"content-type": "application/yaml"},
        ),
        415,
        "UnsupportedMediaType",
    )
    # what the endpoints take still works
    as_json = client.post(CHECK, content=plan, headers={"content-type": "application/json"})
    assert as_json.status_code == 200 and as_json.json()["name"] == "shop"
    yaml = client.post(
        CHECK,
        content=SHOP_PLAN.read_bytes(),
        headers={"content-type": "application/yaml; charset=utf-8"},
    )
    assert yaml.status_code == 200 and yaml.json()["name"] == "shop"
    assert client.post("/api/v2/runs/x/pause").status_code == 404  # no body, no type


def test_a_body_over_the_limit_is_refused_by_its_length(small: TestClient) -> None:
    body = b'{"code": "' + b"x" * 5000 + b'", "path": "a.py"}'
    _refused(
        small.post(
            "/api/v2/atomization/decompose",
            content=body,
            headers={"content-type": "application/json"},
        ),
        413,
        "PayloadTooLarge",
    )
    _refused(
        small.post(CHECK, content=body, headers={"content-type": "application/json"}),
        413,
        "PayloadTooLarge",
    )
    ok = small.post("/api/v2/atomization/decompose", json={"code": "x = 1\n", "path": "a.py"})
    assert ok.status_code == 200


def test_a_streamed_body_is_cut_off_at_the_limit(small: TestClient) -> None:
    """Without Content-Length the bytes are counted as they arrive."""

    def chunks() -> Iterator[bytes]:
        yield b'{"code": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'", "path": "a.py"}'

    response = small.post(
        "/api/v2/atomization/decompose",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    _refused(response, 413, "PayloadTooLarge")


def _serve(app: FastAPI) -> tuple[uvicorn.Server, threading.Thread, int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    return server, thread, port


def test_an_endless_upload_gets_413_while_it_is_still_sending(
    sqlite_url: str, tmp_path: Path, metrics: MgeMetrics
) -> None:
    """A real server and a client that never finishes its chunked body: the answer
    must come while the body is still arriving, not after reading all of it."""
    server, thread, port = _serve(_app(sqlite_url, tmp_path, metrics, max_body_bytes=100_000))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /api/v2/plans/check HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b"x" * 16_384
            sent = 0
            sock.settimeout(0.05)
            answer = b""
            while sent < 50_000_000 and b"\r\n\r\n" not in answer:
                try:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                    answer += sock.recv(65536)
                except TimeoutError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    break
            sock.settimeout(10)
            while b"PayloadTooLarge" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b'"error":"PayloadTooLarge"' in answer
        assert sent < 5_000_000  # it stopped reading long before the client stopped
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_the_review_page_forbids_framing_and_inline_script(client: TestClient) -> None:
    for path in ("/review", "/review/review.js", "/review/review.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    page = client.get("/review").text
    assert "<script>" not in page and "<style>" not in page  # nothing the policy would block
    assert client.get("/healthz").headers["x-content-type-options"] == "nosniff"


def test_paths_outside_the_plan_roots_are_refused_alike(
    sqlite_url: str, tmp_path: Path, metrics: MgeMetrics
) -> None:
    """Whether a directory exists outside the roots must not show in the answer."""
    root = tmp_path / "plans"
    root.mkdir()
    (tmp_path / "secret").mkdir()
    app = _app(sqlite_url, tmp_path, metrics, plan_roots=[str(root), str(SHOP)])
    with TestClient(app, base_url=LOOPBACK_URL) as client:
        answers = set()
        for base_dir in (str(tmp_path / "secret"), str(tmp_path / "nothing-here"), "/etc", "/"):
            for path in (CHECK, "/api/v2/plans"):
                response = client.post(path, params={"base_dir": base_dir}, json=shop_plan_data())
                answers.add(json.dumps(_refused(response, 422, "PlanError")))
        assert len(answers) == 1, answers
        issues = set()
        for reference in ("../secret", "../nothing-here", "/etc", "../../../../.."):
            data = {**shop_plan_data(), "reference": reference}
            response = client.post(CHECK, params={"base_dir": str(root)}, json=data)
            assert response.status_code == 200
            issues.add(json.dumps(response.json()["issues"]))
        assert len(issues) == 1 and "plan roots" in issues.pop()
        # inside a root everything works as before
        inside = client.post(CHECK, params={"base_dir": str(SHOP)}, json=shop_plan_data())
        assert inside.json()["valid"] is True


def test_base_dir_needs_the_token_when_there_is_one(small: TestClient) -> None:
    plan = shop_plan_data()
    _refused(small.post(CHECK, params={"base_dir": str(SHOP)}, json=plan), 401, "Unauthorized")
    authorized = small.post(
        CHECK,
        params={"base_dir": str(SHOP)},
        json=plan,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert authorized.status_code == 200
    plain = small.post(CHECK, json={**plan, "reference": None})
    assert plain.status_code == 200 and plain.json()["valid"] is True


def test_bad_bodies_are_json_errors_not_tracebacks(client: TestClient) -> None:
    for body in (b"{", b"\xff\xfe", b"[1, 2", b'{"code": 1}', b"null"):
        response = client.post(
            "/api/v2/atomization/decompose",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert 400 <= response.status_code < 500, body
        assert response.headers["content-type"] == "application/json"
        assert "Traceback" not in response.text
