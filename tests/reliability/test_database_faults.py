"""Database faults get one mapping in every command (issue 20): a missing, corrupt
or truncated SQLite file and an unreachable server exit 3 with one line and create
nothing; a schema behind says "run `mge db upgrade`"; a schema from a newer MGE is
refused by every command that writes; `db downgrade` asks before it drops data;
and a database password never reaches the output."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from tests.execute.conftest import EXAMPLE_PLAN, mge_cli

from mge.db import migrate

RUN = "0123abcd"
PLAN = str(EXAMPLE_PLAN)
# (command, whether it writes); each is pointed at the database with --db.
READERS = [["status", RUN], ["review", "list"], ["plan", "list"], ["plan", "export", RUN]]
WRITERS = [
    ["resume", RUN],
    ["review", "skip", "1"],
    ["plan", "import", PLAN],
    ["run", PLAN, "--out", "out", "--levels", "atomic"],
]


def _one_line(result: object, code: int, *needles: str) -> str:
    stderr: str = getattr(result, "stderr")  # noqa: B009
    lines = stderr.strip().splitlines()
    assert getattr(result, "returncode") == code, stderr  # noqa: B009
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    for needle in needles:
        assert needle in lines[0], stderr
    return lines[0]


def _at_head(path: Path) -> Path:
    migrate.upgrade(f"sqlite:///{path}")
    mge_cli("plan", "import", PLAN, "--db", f"sqlite:///{path}", cwd=path.parent)
    return path


def _corrupt(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 40)
    return path


def _truncated(path: Path) -> Path:
    _at_head(path)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


def _older(path: Path) -> Path:
    migrate.upgrade(f"sqlite:///{path}", "0001")
    return path


def _newer(path: Path) -> Path:
    _at_head(path)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0999'")
    return path


BROKEN: dict[str, tuple[Callable[[Path], Path], str]] = {
    "corrupt": (_corrupt, "file is not a database"),
    "truncated": (_truncated, "malformed"),
}


@pytest.mark.parametrize("command", READERS + WRITERS[:2], ids=" ".join)
def test_a_mistyped_path_is_one_line_and_creates_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "typo" / "deeper" / "mge.db"
    result = mge_cli(*command, "--db", f"sqlite:///{missing}", cwd=tmp_path)
    _one_line(result, 3, "no database at", str(missing))
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize(
    ("kind", "command"),
    [("corrupt", command) for command in READERS + WRITERS]
    + [("truncated", command) for command in (READERS[0], WRITERS[0], WRITERS[3])],
    ids=lambda value: value if isinstance(value, str) else " ".join(value),
)
def test_a_broken_file_is_one_line_with_exit_3(
    tmp_path: Path, kind: str, command: list[str]
) -> None:
    make, message = BROKEN[kind]
    path = make(tmp_path / "mge.db")
    result = mge_cli(*command, "--db", f"sqlite:///{path}", cwd=tmp_path)
    _one_line(result, 3, message)


@pytest.mark.parametrize("command", READERS + WRITERS[:2], ids=" ".join)
def test_an_older_schema_asks_for_an_upgrade(tmp_path: Path, command: list[str]) -> None:
    path = _older(tmp_path / "mge.db")
    result = mge_cli(*command, "--db", f"sqlite:///{path}", cwd=tmp_path)
    _one_line(result, 3, "behind this mge", "run `mge db upgrade`")
    assert migrate.current_revision(f"sqlite:///{path}") == "0001"


@pytest.mark.parametrize("command", [*WRITERS, ["migrate-tasks", "--production"]], ids=" ".join)
def test_a_newer_schema_is_refused_by_every_command_that_writes(
    tmp_path: Path, command: list[str]
) -> None:
    path = _newer(tmp_path / "mge.db")
    before = path.read_bytes()
    result = mge_cli(*command, "--db", f"sqlite:///{path}", cwd=tmp_path)
    _one_line(result, 3, "'0999'", "newer than this mge")
    assert not (tmp_path / "out").exists()
    with sqlite3.connect(path) as connection:
        masterplans = connection.execute("SELECT COUNT(*) FROM masterplans").fetchone()[0]
    assert masterplans == 1 and len(before) > 0  # the import above is all there is


def test_a_newer_schema_can_still_be_read(tmp_path: Path) -> None:
    path = _newer(tmp_path / "mge.db")
    listed = mge_cli("plan", "list", "--db", f"sqlite:///{path}", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "inventory" in listed.stdout


def test_serving_a_newer_schema_is_refused_before_the_server_starts(tmp_path: Path) -> None:
    path = _newer(tmp_path / "mge.db")
    result = mge_cli("serve", "--port", "0", "--db", f"sqlite:///{path}", cwd=tmp_path)
    _one_line(result, 3, "newer than this mge")


@pytest.mark.parametrize(
    "command",
    [["status", RUN], ["resume", RUN], ["db", "current"], ["review", "list"], ["run", PLAN]],
    ids=" ".join,
)
def test_an_unreachable_server_is_one_line_without_the_password(
    tmp_path: Path, command: list[str]
) -> None:
    url = "postgresql://mge:s3cret-pw@127.0.0.1:1/mge"
    result = mge_cli(*command, "--db", url, cwd=tmp_path)
    line = _one_line(result, 3, "Connection refused")
    assert "s3cret" not in result.stdout + result.stderr and "***" in line


def test_downgrade_asks_first_and_says_what_it_drops(tmp_path: Path) -> None:
    path = _at_head(tmp_path / "mge.db")
    url = f"sqlite:///{path}"
    refused = mge_cli("db", "downgrade", "0001", "--db", url, cwd=tmp_path)
    line = _one_line(refused, 2, "--yes", "atomic_units (0 rows)", "masterplans.v2_mode (1 row)")
    assert "generation_runs" in line
    head = migrate.head_revision()
    assert migrate.current_revision(url) == head  # the preview changed nothing
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM masterplans").fetchone()[0] == 1
    done = mge_cli("db", "downgrade", "0001", "--db", url, "--yes", cwd=tmp_path)
    assert done.returncode == 0 and f"{head} -> 0001" in done.stdout, done.stderr
    assert migrate.current_revision(url) == "0001"


def test_the_resume_hint_masks_the_password(postgres_url: str, tmp_path: Path) -> None:
    """PostgreSQL here trusts loopback, so a password in the URL is accepted and
    ignored: the run works, and the password must not be printed back."""
    url = make_url(postgres_url).set(password="s3cret-pw")
    shown = url.render_as_string(hide_password=False)
    result = mge_cli(
        "run", PLAN, "--budget-usd", "0.01", "--levels", "atomic", "--out", "out",
        "--db", shown, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 5, result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    hint = [line for line in result.stderr.splitlines() if line.startswith("resume with")]
    assert len(hint) == 1 and ":***@" in hint[0] and "password hidden" in hint[0]
