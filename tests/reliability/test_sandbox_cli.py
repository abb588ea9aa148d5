"""`mge run` on a machine where generated code cannot be sandboxed stops at once,
with one line, before anything is generated or stored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _run(example_plan: Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    bare = tmp_path / "bin"  # a PATH without bwrap
    bare.mkdir(exist_ok=True)
    database = tmp_path / "mge.db"
    command = [sys.executable, "-m", "mge", "run", str(example_plan), "--quiet"]
    command += [
        "--levels",
        "atomic",
        "--db",
        f"sqlite:///{database}",
        "--out",
        str(tmp_path / "out"),
    ]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1", "PATH": str(bare), **env},
    )


def test_without_bwrap_a_run_stops_with_one_line(example_plan: Path, tmp_path: Path) -> None:
    result = _run(example_plan, tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "bwrap is not installed" in line and "MGE_SANDBOX=none" in line
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "mge.db").exists()


def test_an_unknown_sandbox_setting_stops_a_run(example_plan: Path, tmp_path: Path) -> None:
    result = _run(example_plan, tmp_path, MGE_SANDBOX="off")
    assert result.returncode == 2
    assert "MGE_SANDBOX='off'" in result.stderr
