"""Serving the metrics over HTTP on loopback, as `mge run --metrics-port` will."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator

import pytest

from mge.errors import ConfigError
from mge.monitoring import MetricsExporter, MgeMetrics, render_metrics, start_exporter


@pytest.fixture
def exporter(metrics: MgeMetrics) -> Iterator[MetricsExporter]:
    running = start_exporter(0, registry=metrics.registry)
    try:
        yield running
    finally:
        running.close()


def test_the_exporter_serves_live_values(metrics: MgeMetrics, exporter: MetricsExporter) -> None:
    assert exporter.host == "127.0.0.1"
    assert exporter.port > 0
    run = metrics.run("inventory")
    for _ in range(3):
        run.atom_finished("completed")
    with urllib.request.urlopen(exporter.url, timeout=5) as response:
        body = response.read().decode()
        content_type = response.headers["Content-Type"]
    assert content_type.startswith("text/plain")
    assert 'mge_atoms_completed_total{masterplan="inventory"} 3.0' in body
    run.atom_finished("completed")
    with urllib.request.urlopen(exporter.url, timeout=5) as response:
        assert 'mge_atoms_completed_total{masterplan="inventory"} 4.0' in response.read().decode()


def test_a_taken_port_is_a_config_error(exporter: MetricsExporter) -> None:
    with pytest.raises(ConfigError, match=f"cannot serve metrics on 127.0.0.1:{exporter.port}"):
        start_exporter(exporter.port)


def test_an_out_of_range_port_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"0\.\.65535"):
        start_exporter(70000)


def test_close_frees_the_port(metrics: MgeMetrics) -> None:
    running = start_exporter(0, registry=metrics.registry)
    port = running.port
    running.close()
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))


def test_render_metrics_gives_body_and_content_type(metrics: MgeMetrics) -> None:
    metrics.run("p").wave_finished(2.0)
    body, content_type = render_metrics(metrics.registry)
    assert content_type.startswith("text/plain; version=")
    assert b'mge_wave_duration_seconds_count{masterplan="p"} 1.0' in body
    assert b'mge_waves_executed_total{masterplan="p"} 1.0' in body
