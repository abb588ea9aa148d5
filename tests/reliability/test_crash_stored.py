"""Every exit path stores the truth: an unexpected error stores the run `failed`
with one line (never `completed`), `mge resume` continues it once the cause is
gone, and what a killed run left in the output is cleaned when a run starts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.reliability._cli import EXAMPLE_PLAN, mge

REFERENCE = EXAMPLE_PLAN.parent / "reference"
QUICK = ("--levels", "atomic", "--no-tests", "--quiet")


def _row(database: Path, sql: str) -> tuple[object, ...]:
    with sqlite3.connect(database) as connection:
        return tuple(connection.execute(sql).fetchone())


def test_an_unexpected_error_is_stored_as_failed_and_resume_continues(tmp_path: Path) -> None:
    database = tmp_path / "mge.db"
    db = f"sqlite:///{database}"
    out = tmp_path / "out"
    # A directory where the project's module must be written: the run can only
    # find out when it writes the project, after every atom was generated.
    (out / "inventory" / "money.py").mkdir(parents=True)

    crashed = mge(
        "run", str(EXAMPLE_PLAN), "--db", db, "--out", str(out), "--force", *QUICK, cwd=tmp_path
    )

    assert crashed.returncode == 1, crashed.stderr
    assert "Traceback" not in crashed.stderr
    status, error, attempts = _row(
        database, "select status, error, attempts_total from generation_runs"
    )
    assert status == "failed"
    assert str(error).startswith("IsADirectoryError: ") and "\n" not in str(error)
    assert f"error: {error}" in crashed.stderr
    assert "resume with: mge resume " in crashed.stderr

    (out / "inventory" / "money.py").rmdir()
    leftovers = [out / ".mge-write-probe", out / "inventory" / ".mge-partial.py"]
    for leftover in leftovers:
        leftover.write_text("left by a killed run\n")
    (run_id,) = _row(database, "select id from generation_runs")

    resumed = mge("resume", str(run_id)[:8], "--db", db, "--quiet", cwd=tmp_path)

    assert resumed.returncode == 0, resumed.stderr
    status, error, attempts_after = _row(
        database, "select status, error, attempts_total from generation_runs"
    )
    assert (status, error) == ("completed", None)
    assert attempts_after == attempts  # every atom was done: nothing generated again
    assert (out / "inventory" / "money.py").is_file()
    assert not any(leftover.exists() for leftover in leftovers)


def test_out_at_the_plans_own_reference_is_refused_before_anything_runs(tmp_path: Path) -> None:
    database = tmp_path / "mge.db"
    before = sorted(p.name for p in REFERENCE.rglob("*"))

    refused = mge(
        "run",
        str(EXAMPLE_PLAN),
        "--db",
        f"sqlite:///{database}",
        "--out",
        str(REFERENCE),
        "--force",
        *QUICK,
        cwd=tmp_path,
    )

    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip().splitlines() == [
        f"error: --out {REFERENCE} is the plan's own {REFERENCE}; choose another directory"
    ]
    assert _row(database, "select count(*) from generation_runs") == (0,)
    assert sorted(p.name for p in REFERENCE.rglob("*")) == before
