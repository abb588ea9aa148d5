"""`mge run --metrics-port`: a CLI run serves its metrics and feeds them live."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import REGISTRY
from tests.api.conftest import SHOP_PLAN
from typer.testing import CliRunner

from mge.cli.app import app


def _value(name: str, masterplan: str) -> float:
    value = REGISTRY.get_sample_value(name, {"masterplan": masterplan})
    return 0.0 if value is None else value


def test_a_cli_run_exports_its_metrics(sqlite_url: str, tmp_path: Path) -> None:
    before = _value("mge_atoms_completed_total", "shop")
    attempts_before = (
        REGISTRY.get_sample_value(
            "mge_attempts_total", {"masterplan": "shop", "attempt": "1", "outcome": "success"}
        )
        or 0.0
    )
    result = CliRunner().invoke(
        app,
        [
            "run",
            str(SHOP_PLAN),
            "--db",
            sqlite_url,
            "--out",
            str(tmp_path / "out"),
            "--levels",
            "atomic",
            "--metrics-port",
            "0",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"metrics at http://127\.0\.0\.1:\d+/metrics", result.stderr)
    completed = _value("mge_atoms_completed_total", "shop") - before
    assert completed == 7  # shop's atoms: every one generated and validated
    assert _value("mge_precision_ratio", "shop") == 1.0
    assert _value("mge_runs_active", "shop") == 0.0
    attempts = REGISTRY.get_sample_value(
        "mge_attempts_total", {"masterplan": "shop", "attempt": "1", "outcome": "success"}
    )
    assert attempts is not None and attempts - attempts_before == 7


def test_a_bad_metrics_port_is_a_clean_error(sqlite_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "run",
            str(SHOP_PLAN),
            "--db",
            sqlite_url,
            "--out",
            str(tmp_path / "out"),
            "--metrics-port",
            "70000",
        ],
    )
    assert result.exit_code == 2
    assert "--metrics-port" in result.output
    assert not (tmp_path / "out").exists()
