"""Fixtures of the monitoring tests: a private registry and the promtool binary."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from mge.monitoring import MgeMetrics

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"


@pytest.fixture
def metrics() -> MgeMetrics:
    return MgeMetrics(CollectorRegistry())


@pytest.fixture(scope="session")
def promtool() -> str:
    """The promtool binary. Missing is a failure, not a skip: the rules would go untested."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not installed; run scripts/install_system_tools.sh "
            "(Debian package `prometheus`)",
            pytrace=False,
        )
    return path
