"""Driving the real `mge` command line from the reliability tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from mge.db import make_engine

EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "plan.yaml"


def env(**values: str) -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", **values}


def mge(
    *args: str, cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mge", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
        env=env(**(extra_env or {})),
    )


def start(*args: str, cwd: Path, extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mge", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(**(extra_env or {})),
    )


def scalar(url: str, sql: str) -> object:
    """One value from the database, or None while the table does not exist yet."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar()
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], what: str) -> None:
    """Wait (up to two minutes) until `condition` holds while `process` still runs."""
    deadline = time.monotonic() + 120
    while not condition():
        assert process.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)
