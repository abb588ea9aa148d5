"""The `mge db` commands through the real entry point, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def mge(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "mge", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=120,
    )


def test_upgrade_current_check_downgrade(db_url: str) -> None:
    up = mge("db", "upgrade", "--db", db_url)
    assert up.returncode == 0, up.stderr
    assert "base (empty) -> 0004" in up.stdout
    again = mge("db", "upgrade", "--db", db_url)
    assert again.returncode == 0 and "already at 0004" in again.stdout
    current = mge("db", "current", "--db", db_url, "--json")
    assert json.loads(current.stdout) == {"current": "0004", "head": "0004", "at_head": True}
    check = mge("db", "check", "--db", db_url)
    assert check.returncode == 0 and "no drift" in check.stdout
    down = mge("db", "downgrade", "0001", "--db", db_url, "--yes")
    assert down.returncode == 0 and "0004 -> 0001" in down.stdout
    tables = json.loads(mge("db", "tables", "--db", db_url, "--json").stdout)["tables"]
    assert "atomic_units" not in tables and "masterplan_tasks" in tables
    drift = mge("db", "check", "--db", db_url)
    assert drift.returncode == 3 and "not at head" in drift.stderr


def test_default_database_is_a_sqlite_file_under_dot_mge(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MGE_DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "mge", "db", "upgrade"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".mge" / "mge.db").is_file()


def test_environment_and_mge_toml_choose_the_database(tmp_path: Path) -> None:
    (tmp_path / "mge.toml").write_text('database_url = "sqlite:///from-toml.db"\n')
    env = {k: v for k, v in os.environ.items() if k != "MGE_DATABASE_URL"}
    from_toml = subprocess.run(
        [sys.executable, "-m", "mge", "db", "upgrade"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert from_toml.returncode == 0, from_toml.stderr
    assert (tmp_path / "from-toml.db").is_file()
    env["MGE_DATABASE_URL"] = "sqlite:///from-env.db"
    from_env = subprocess.run(
        [sys.executable, "-m", "mge", "db", "upgrade"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert from_env.returncode == 0, from_env.stderr
    assert (tmp_path / "from-env.db").is_file()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["db", "upgrade", "--db", "::nonsense::"], 2, "error: malformed database URL"),
        (["db", "current", "--db", "postgresql://postgres@127.0.0.1:1/x"], 3, "Connection refused"),
        (["db", "upgrade", "zzz"], 3, "error: unknown revision 'zzz'"),
        (["db", "downgrade", "nope"], 3, "error: unknown revision 'nope'"),
    ],
)
def test_errors_are_one_line_with_an_exit_code(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    env = {**os.environ, "MGE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "mge", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_malformed_mge_toml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "mge.toml").write_text("database_url = [unterminated\n")
    env = {k: v for k, v in os.environ.items() if k != "MGE_DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "mge", "db", "current"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2
    assert "mge.toml" in result.stderr and "Traceback" not in result.stderr
