"""Serving the metrics: a standalone HTTP exporter for CLI runs, bytes for a web app.

The service mounts `/metrics` itself (it owns its routes); CLI runs have no web
server, so `start_exporter` runs prometheus_client's own in a daemon thread.
Both default to loopback: metrics reveal plan names and costs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    start_http_server,
)

from mge.errors import ConfigError

__all__ = ["MetricsExporter", "render_metrics", "start_exporter"]


@dataclass
class MetricsExporter:
    """A running exporter; `port` is the bound one (useful when asked for port 0)."""

    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_exporter(
    port: int, *, host: str = "127.0.0.1", registry: CollectorRegistry | None = None
) -> MetricsExporter:
    """Serves `registry` (default: the process-wide one) at http://host:port/metrics.

    Raises:
        ConfigError: the port is out of range or cannot be bound.
    """
    if not 0 <= port <= 65535:
        raise ConfigError(f"metrics port must be within 0..65535, got {port}")
    try:
        server, thread = start_http_server(
            port, addr=host, registry=registry if registry is not None else REGISTRY
        )
    except OSError as exc:
        raise ConfigError(f"cannot serve metrics on {host}:{port}: {exc.strerror}") from exc
    return MetricsExporter(host, int(server.server_port), server, thread)


def render_metrics(registry: CollectorRegistry | None = None) -> tuple[bytes, str]:
    """The body and content type of a `/metrics` response, for any web framework."""
    return generate_latest(registry if registry is not None else REGISTRY), CONTENT_TYPE_LATEST
