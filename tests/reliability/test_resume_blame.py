"""A run killed during module validation (L2, blame regenerating suspects) and
resumed makes the decisions the uninterrupted run makes: the same attempts, for
the same reasons, at the same replay cost, and the same project on disk."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from tests.reliability._cli import EXAMPLE_PLAN, mge, scalar, start, wait_for

# Faults enough that module tests fail and blame regenerates atoms.
SETTINGS = ("--fault-rate", "0.3", "--seed", "9", "--no-mutation", "--quiet")
LEASE_SECONDS = 2.0
BLAME_ATTEMPTS = "select count(*) from atom_retry_history where trigger = 'blame:module'"


def _outcome(database: Path) -> dict[str, object]:
    with sqlite3.connect(database) as connection:
        status, attempts, cost, cached = connection.execute(
            "select status, attempts_total, cost_usd, cached_tokens from generation_runs"
        ).fetchone()
        triggers = dict(
            connection.execute(
                "select trigger, count(*) from atom_retry_history group by trigger"
            ).fetchall()
        )
        per_atom = connection.execute(
            "select a.atom_key, h.attempt_number, h.trigger, h.succeeded,"
            " h.input_tokens, h.output_tokens, h.cached_tokens"
            " from atom_retry_history h join atomic_units a on a.id = h.atom_id"
            " order by a.atom_key, h.attempt_number"
        ).fetchall()
    return {
        "status": status,
        "attempts": attempts,
        "cost": pytest.approx(cost, rel=1e-9),
        "cached_tokens": cached,
        "triggers": triggers,
        "per_atom": per_atom,
    }


def _alive() -> set[int]:
    """Processes that exist and are not zombies."""
    alive: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            alive.add(int(stat.parent.name))
    return alive


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _python_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def test_kill_during_blame_then_resume_matches_the_uninterrupted_run(tmp_path: Path) -> None:
    straight_db = tmp_path / "straight.db"
    out = tmp_path / "out"
    straight = mge(
        "run",
        str(EXAMPLE_PLAN),
        "--db",
        f"sqlite:///{straight_db}",
        "--out",
        str(out),
        *SETTINGS,
        cwd=tmp_path,
    )
    assert straight.returncode == 0, straight.stderr
    expected = _outcome(straight_db)
    assert expected["triggers"]["blame:module"] >= 4, "the plan must exercise L2 blame"
    # Both runs write to the same path: failures quote it, and prompts quote failures.
    out.rename(tmp_path / "straight")

    killed_db = tmp_path / "killed.db"
    url = f"sqlite:///{killed_db}"
    process = start(
        "run",
        str(EXAMPLE_PLAN),
        "--db",
        url,
        "--out",
        str(out),
        *SETTINGS,
        cwd=tmp_path,
        extra_env={"MGE_RUN_LEASE_SECONDS": str(LEASE_SECONDS)},
    )
    # Killed in the middle of L2: after blame has regenerated a few suspects.
    wait_for(lambda: int(scalar(url, BLAME_ATTEMPTS) or 0) >= 2, process, "blame at L2")
    sandboxed = _descendants(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    # What it ran in the sandbox dies with it: no orphan is left behind.
    deadline = time.monotonic() + 30
    while sandboxed & _alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not sandboxed & _alive()
    assert scalar(url, "select status from generation_runs") == "running"
    assert int(scalar(url, BLAME_ATTEMPTS) or 0) < expected["triggers"]["blame:module"]
    time.sleep(LEASE_SECONDS + 0.5)  # the dead process's lease lapses

    run_id = str(scalar(url, "select id from generation_runs"))
    resumed = mge("resume", run_id, "--db", url, "--quiet", cwd=tmp_path)

    assert resumed.returncode == 0, resumed.stderr
    assert _outcome(killed_db) == expected
    assert _python_files(out) == _python_files(tmp_path / "straight")
