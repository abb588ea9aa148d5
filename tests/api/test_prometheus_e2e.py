"""End to end with a real Prometheus: it scrapes `mge serve` while a replay run of the
bundled example goes through the API, the run's completed-atoms count is read back
through Prometheus' HTTP API, and a second run built to fail its acceptance tests
drives `MgePrecisionBelowTarget` (from monitoring/alerts.yml) to firing.

The rules Prometheus loads are a copy of monitoring/alerts.yml with every `for:` set
to 0s, so an alert fires on its first true evaluation instead of minutes later;
the expressions are the file's own. Everything is on loopback and bounded in time;
the test stops the processes it started.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml
from tests.api.conftest import SHOP, SHOP_PLAN

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "inventory"
ALERTS = ROOT / "monitoring" / "alerts.yml"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
MGE = str(Path(sys.executable).with_name("mge"))
T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _eventually(probe: Callable[[], T | None], *, limit: float, what: str) -> T:
    """Poll `probe` until it returns something, within a deadline (not a timing test)."""
    deadline = time.monotonic() + limit
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
        except httpx.HTTPError as error:
            last_error, value = error, None
        if value is not None:
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {limit} s (last error: {last_error})")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    """`mge serve` on a free loopback port, without a token; yields its base URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MGE_API_TOKEN"}
    env["MGE_RUNS_DIR"] = str(tmp_path / "runs")
    env["MGE_PLAN_ROOTS"] = str(ROOT)  # the plans are read from the checkout
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [
            MGE,
            "serve",
            "--port",
            str(port),
            "--db",
            f"sqlite:///{tmp_path / 'mge.db'}",
            "--log-level",
            "warning",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _eventually(
            lambda: True if httpx.get(f"{base}/readyz").status_code == 200 else None,
            limit=60,
            what="mge serve ready",
        )
        yield base
    finally:
        _stop(process)
        log.close()


def _rules_with_no_wait(target: Path) -> None:
    rules = yaml.safe_load(ALERTS.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "0s"
    target.write_text(yaml.safe_dump(rules, sort_keys=False))


@pytest.fixture
def prometheus(service: str, tmp_path: Path) -> Iterator[str]:
    """A real Prometheus scraping the service every second, with the alert rules loaded."""
    if not Path(PROMETHEUS).exists():
        pytest.fail("prometheus is not installed (Debian package `prometheus`)", pytrace=False)
    rules = tmp_path / "alerts.yml"
    _rules_with_no_wait(rules)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(rules)],
                "scrape_configs": [
                    {
                        "job_name": "mge",
                        "static_configs": [{"targets": [service.removeprefix("http://")]}],
                    }
                ],
            }
        )
    )
    port = _free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _eventually(
            lambda: True if httpx.get(f"{base}/-/ready").status_code == 200 else None,
            limit=60,
            what="prometheus ready",
        )
        yield base
    finally:
        _stop(process)
        log.close()


def _query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    body = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}).json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _start_run(service: str, plan: Path, settings: dict[str, Any]) -> str:
    imported = httpx.post(
        f"{service}/api/v2/plans",
        params={"base_dir": str(plan.parent)},
        content=plan.read_bytes(),
        headers={"content-type": "application/yaml"},
    )
    assert imported.status_code == 201, imported.text
    started = httpx.post(
        f"{service}/api/v2/runs",
        json={"masterplan_id": imported.json()["id"], "settings": settings},
    )
    assert started.status_code == 202, started.text
    return str(started.json()["run_id"])


def _finished(service: str, run_id: str, limit: float) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        report: dict[str, Any] = httpx.get(f"{service}/api/v2/runs/{run_id}").json()
        return report if not report["live"] and report["status"] != "pending" else None

    return _eventually(probe, limit=limit, what=f"run {run_id} finishing")


def test_prometheus_reads_a_live_run_and_an_alert_fires(service: str, prometheus: str) -> None:
    # Simulated latency and a small concurrency keep the run going for several scrape
    # intervals, however fast the engine gets.
    run_id = _start_run(
        service,
        EXAMPLE / "plan.yaml",
        {"levels": "atomic", "latency_ms": 300, "concurrency": 8},
    )
    # Prometheus sees the run while it goes...
    _eventually(
        lambda: (
            True
            if [
                s
                for s in _query(prometheus, 'mge_runs_active{masterplan="inventory"}')
                if s["value"][1] == "1"
            ]
            else None
        ),
        limit=60,
        what="Prometheus seeing the run live",
    )
    report = _finished(service, run_id, limit=600)
    assert report["status"] == "completed", report
    completed = report["atoms"]["completed"]
    assert completed > 0

    # ...and reads its completed-atoms count back.
    def count() -> float | None:
        series = _query(prometheus, 'mge_atoms_completed_total{masterplan="inventory"}')
        if series and float(series[0]["value"][1]) == completed:
            return float(series[0]["value"][1])
        return None

    assert _eventually(count, limit=30, what="the completed count in Prometheus") == completed
    peak = _query(prometheus, 'max_over_time(mge_runs_active{masterplan="inventory"}[10m])')
    assert float(peak[0]["value"][1]) == 1.0

    # A run whose every answer is silently wrong passes L1 and fails acceptance tests.
    tripping = {
        "levels": "atomic",
        "fault_rate": 1.0,
        "fault_kinds": ["wrong_operator", "wrong_constant"],
        "max_attempts": 1,
    }
    bad = _finished(service, _start_run(service, SHOP_PLAN, tripping), limit=300)
    assert bad["precision_percent"] is not None and bad["precision_percent"] < 95

    def firing() -> dict[str, Any] | None:
        alerts = httpx.get(f"{prometheus}/api/v1/alerts").json()["data"]["alerts"]
        for alert in alerts:
            labels = alert["labels"]
            if (labels["alertname"], labels.get("masterplan"), alert["state"]) == (
                "MgePrecisionBelowTarget",
                "shop",
                "firing",
            ):
                return dict(alert)
        return None

    alert = _eventually(firing, limit=60, what="MgePrecisionBelowTarget firing for shop")
    assert alert["labels"]["severity"] == "critical"
    assert float(alert["value"]) == pytest.approx(bad["precision_percent"] / 100)
    alerts = httpx.get(f"{prometheus}/api/v1/alerts").json()["data"]["alerts"]
    assert not [
        a
        for a in alerts
        if a["labels"]["alertname"] == "MgePrecisionBelowTarget"
        and a["labels"].get("masterplan") == "inventory"
    ]
    assert SHOP.is_dir()
