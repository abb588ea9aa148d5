"""`mge run` killed with SIGKILL mid-run, then `mge resume`: nothing completed is
generated again, and the output equals an uninterrupted run's."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.execute.conftest import mge_cli


def _python_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def _attempts(database: Path) -> int:
    try:
        with sqlite3.connect(database) as connection:
            return int(connection.execute("select count(*) from atom_retry_history").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


LEASE_SECONDS = 2.0

_GENERATION_ATTEMPTS = (
    "select a.atom_key, count(*) from atomic_units a join atom_retry_history h"
    " on h.atom_id = a.id where a.status = 'completed' and h.trigger = 'generation'"
    " group by a.atom_key"
)


def test_kill_nine_then_resume_gives_the_uninterrupted_output(
    example_plan: Path, tmp_path: Path
) -> None:
    common = ["--fault-rate", "0.2", "--seed", "9", "--quiet", "--levels", "atomic"]
    straight = mge_cli(
        "run",
        str(example_plan),
        "--db",
        f"sqlite:///{tmp_path / 'a.db'}",
        "--out",
        str(tmp_path / "a"),
        "--json",
        *common,
        cwd=tmp_path,
    )
    assert straight.returncode == 0, straight.stderr
    expected = json.loads(straight.stdout)

    database = tmp_path / "b.db"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mge",
            "run",
            str(example_plan),
            "--db",
            f"sqlite:///{database}",
            "--out",
            str(tmp_path / "b"),
            "--latency-ms",
            "40",
            "--concurrency",
            "4",
            *common,
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # A short lease, so the resume below may take the killed run over soon.
        env={**os.environ, "MGE_RUN_LEASE_SECONDS": str(LEASE_SECONDS)},
    )
    deadline = time.monotonic() + 120
    while _attempts(database) < 25 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    with sqlite3.connect(database) as connection:
        run_id, status = connection.execute("select id, status from generation_runs").fetchone()
        done_before = dict(connection.execute(_GENERATION_ATTEMPTS).fetchall())
    assert status == "running"
    assert done_before, "some atoms should have completed before the kill"
    time.sleep(LEASE_SECONDS + 0.5)  # the dead process's lease lapses

    resumed = mge_cli(
        "resume",
        str(run_id)[:8],
        "--db",
        f"sqlite:///{database}",
        "--json",
        "--quiet",
        cwd=tmp_path,
    )
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["status"] == "completed"
    with sqlite3.connect(database) as connection:
        after = dict(connection.execute(_GENERATION_ATTEMPTS).fetchall())
    # Atoms completed before the kill were not generated again (blame may still
    # regenerate one later, as it would in an uninterrupted run).
    assert {key: after[key] for key in done_before} == done_before
    assert _python_files(tmp_path / "b") == _python_files(tmp_path / "a")
    assert report["atoms"] == expected["atoms"]
    assert report["tests"] == expected["tests"]
    assert report["reference_match_percent"] == expected["reference_match_percent"]


def test_status_and_resume_errors(example_plan: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    done = mge_cli(
        "run",
        str(example_plan),
        "--db",
        db,
        "--out",
        str(tmp_path / "c"),
        "--json",
        "--quiet",
        "--no-tests",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    status = mge_cli("status", run_id, "--db", db, "--json", cwd=tmp_path)
    assert json.loads(status.stdout)["run_id"] == run_id
    again = mge_cli("resume", run_id, "--db", db, cwd=tmp_path)
    assert again.returncode == 7 and "nothing to resume" in again.stderr
    missing = mge_cli("status", "deadbeef", "--db", db, cwd=tmp_path)
    assert missing.returncode == 6 and "no run deadbeef" in missing.stderr
    busy = mge_cli("run", str(example_plan), "--db", db, "--out", str(tmp_path / "c"), cwd=tmp_path)
    assert busy.returncode == 2 and "not empty" in busy.stderr
    zero = mge_cli(
        "run",
        str(example_plan),
        "--db",
        db,
        "--budget-usd",
        "0",
        "--out",
        str(tmp_path / "d"),
        cwd=tmp_path,
    )
    assert zero.returncode == 2 and "budget" in zero.stderr
    assert "Traceback" not in zero.stderr + busy.stderr + missing.stderr


def test_ctrl_c_stops_gracefully_and_prints_the_resume_command(
    example_plan: Path, tmp_path: Path
) -> None:
    database = tmp_path / "i.db"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mge",
            "run",
            str(example_plan),
            "--db",
            f"sqlite:///{database}",
            "--out",
            str(tmp_path / "i"),
            "--latency-ms",
            "40",
            "--concurrency",
            "4",
            "--quiet",
            "--levels",
            "atomic",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while _attempts(database) < 10 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "resume with: mge resume " in stderr
    assert "Traceback" not in stderr
    with sqlite3.connect(database) as connection:
        (status,) = connection.execute("select status from generation_runs").fetchone()
        running = connection.execute(
            "select count(*) from atomic_units where status = 'running'"
        ).fetchone()[0]
    assert status == "interrupted" and running == 0
