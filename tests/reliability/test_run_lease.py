"""One owner per run, on the real PostgreSQL server: a resume while the owner's
lease is alive is refused, a stale lease is taken over, of two concurrent resumes
exactly one runs, and a process whose run was taken over writes nothing more."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from sqlalchemy import text
from tests.reliability._cli import EXAMPLE_PLAN, mge, scalar, start, wait_for

from mge.db import make_engine, migrate

ATTEMPTS = "select count(*) from atom_retry_history"
# An atom asked twice for the same attempt would mean two owners generated it.
DUPLICATE_ATTEMPTS = (
    "select count(*) from (select atom_id, attempt_number from atom_retry_history"
    " group by atom_id, attempt_number having count(*) > 1) as twice"
)
RUN_STATE = (
    "select status || ' ' || attempts_total || ' ' || cost_usd || ' ' || updated_at"
    " from generation_runs"
)
SLOW_RUN = ("--latency-ms", "150", "--concurrency", "2", "--levels", "atomic", "--quiet")


def _start_run(url: str, tmp_path: Path, lease_seconds: float) -> subprocess.Popen[str]:
    migrate.upgrade(url)
    process = start(
        "run",
        str(EXAMPLE_PLAN),
        "--db",
        url,
        "--out",
        str(tmp_path / "out"),
        *SLOW_RUN,
        cwd=tmp_path,
        extra_env={"MGE_RUN_LEASE_SECONDS": str(lease_seconds)},
    )
    wait_for(lambda: int(scalar(url, ATTEMPTS) or 0) >= 10, process, "ten attempts")
    return process


def _run_id(url: str) -> str:
    return str(scalar(url, "select id from generation_runs"))


def _expire_lease(url: str) -> None:
    """What a lapsed lease looks like: its owner stopped renewing it long ago."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text("update generation_runs set lease_expires_at = :past"),
            {"past": "2000-01-01T00:00:00+00:00"},
        )
    engine.dispose()


def _snapshot(url: str) -> tuple[object, ...]:
    return (
        scalar(url, ATTEMPTS),
        scalar(url, "select count(*) from validation_results"),
        scalar(url, RUN_STATE),
        scalar(url, "select lease_generation from generation_runs"),
    )


def test_concurrent_resumes_exactly_one_runs(postgres_url: str, tmp_path: Path) -> None:
    first = _start_run(postgres_url, tmp_path, lease_seconds=60)
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=30)
    _expire_lease(postgres_url)  # the killed owner's lease lapses
    run_id = _run_id(postgres_url)

    resumes = [
        start("resume", run_id, "--db", postgres_url, "--quiet", cwd=tmp_path) for _ in range(2)
    ]
    outcomes = sorted((p.wait(timeout=600), p.communicate()[1]) for p in resumes)

    (won, won_err), (lost, lost_err) = outcomes
    assert (won, lost) == (0, 7), outcomes
    assert "Traceback" not in won_err + lost_err
    refusal = lost_err.strip().splitlines()
    assert len(refusal) == 1, lost_err
    # Refused by the lease, or (had the winner already finished) by the run's status.
    assert "is being executed by process" in refusal[0] or "nothing to resume" in refusal[0]
    assert scalar(postgres_url, "select status from generation_runs") == "completed"
    assert scalar(postgres_url, DUPLICATE_ATTEMPTS) == 0
    assert scalar(postgres_url, "select lease_owner from generation_runs") is None


def test_a_live_lease_refuses_and_a_fenced_owner_writes_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    owner = _start_run(postgres_url, tmp_path, lease_seconds=60)
    run_id = _run_id(postgres_url)
    refused = mge("resume", run_id, "--db", postgres_url, "--quiet", cwd=tmp_path)
    assert refused.returncode == 7, refused.stderr
    assert f"is being executed by process {owner.pid}" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    # Another process takes the run over (as a resume would after a lapse) while the
    # owner still runs; what the database holds at that moment is the reference.
    engine = make_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "update generation_runs set lease_owner = 'another', lease_pid = 1,"
                " lease_generation = lease_generation + 1,"
                " lease_expires_at = now() + interval '1 hour'"
            )
        )
        at_takeover = tuple(
            connection.execute(text(sql)).scalar()
            for sql in (ATTEMPTS, "select count(*) from validation_results", RUN_STATE)
        )
    engine.dispose()
    _, stderr = owner.communicate(timeout=120)

    # The owner found its run taken over at its next commit and stopped, writing nothing.
    assert owner.returncode == 7, stderr
    assert "was taken over by another process" in stderr
    assert "Traceback" not in stderr
    assert _snapshot(postgres_url)[:3] == at_takeover
    assert scalar(postgres_url, "select lease_owner from generation_runs") == "another"

    # Once that lease lapses, a resume takes the run over and finishes it.
    _expire_lease(postgres_url)
    taken = mge("resume", run_id, "--db", postgres_url, "--quiet", cwd=tmp_path)
    assert taken.returncode == 0, taken.stderr
    assert scalar(postgres_url, "select status from generation_runs") == "completed"
    assert scalar(postgres_url, DUPLICATE_ATTEMPTS) == 0
