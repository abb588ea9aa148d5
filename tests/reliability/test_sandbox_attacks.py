"""Hostile generated tests against the sandbox: they try to escape it, forge their
verdict and outlive their deadline, and each attempt must fail.

The attacks live in `fixtures/hostile`, real test files a generated project could
hold; each is copied into a small project whose `calc.add` is wrong where the
attack is about forging a pass.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mge.errors import SandboxUnavailable
from mge.validate import sandbox
from mge.validate.sandbox import Limits, run_python
from mge.validate.testing import run_pytest

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
WRONG_ADD = "def add(a, b):\n    return a - b\n"


def _project(base: Path, tests: list[str], *, calc: str = WRONG_ADD) -> Path:
    out = base / "out"
    (out / "tests").mkdir(parents=True)
    (out / "calc.py").write_text(calc)
    for name in tests:
        target = "conftest.py" if name.startswith("conftest") else name
        shutil.copyfile(HOSTILE / name, out / "tests" / target)
    return out


def _survivors(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture
def listener() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        yield int(server.getsockname()[1])
    finally:
        server.close()


def test_generated_tests_cannot_escape_the_sandbox(tmp_path: Path, listener: int) -> None:
    out = _project(tmp_path, ["test_escape.py"], calc="def add(a, b):\n    return a + b\n")
    (out / "port.txt").write_text(str(listener))
    (tmp_path / "victim.txt").write_text("keep me")
    (tmp_path / ".mge").mkdir()
    database = tmp_path / ".mge" / "mge.db"
    sqlite3.connect(database).close()
    pth = Path(sysconfig.get_paths()["purelib"]) / "pwned.pth"
    outcome = run_pytest(out, ["tests/test_escape.py"], timeout=120)
    verdicts = {nodeid.rsplit("::", 1)[1]: ok for nodeid, ok in outcome.verdicts.items()}
    # Writing the project and /tmp works, but only in the sandbox's private copies.
    private = {"test_change_the_project_itself", "test_write_the_shared_tmp"}
    assert {name for name, ok in verdicts.items() if ok} == private
    assert len(verdicts) == 10
    assert (tmp_path / "victim.txt").read_text() == "keep me"
    assert not (tmp_path / "planted.txt").exists()
    assert (out / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    assert not pth.exists()
    assert not Path("/tmp/mge-hostile-marker").exists()
    forks = next(f for f in outcome.failures if f.test.endswith("process_limit"))
    assert "Resource temporarily unavailable" in forks.text


def test_the_process_limit_holds_when_mge_runs_as_root() -> None:
    script = (
        "import os, time\n"
        "n = 0\n"
        "try:\n"
        "    for _ in range(300):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(3)\n"
        "            os._exit(0)\n"
        "        n += 1\n"
        "except OSError:\n"
        "    pass\n"
        "print(n)\n"
    )
    result = run_python(["-c", script], limits=Limits(processes=64, timeout_seconds=30))
    assert int(result.stdout.split()[0]) < 64


def test_an_atexit_hook_cannot_rewrite_the_verdict(tmp_path: Path) -> None:
    out = _project(tmp_path, ["test_forge_atexit.py"])
    outcome = run_pytest(out, ["tests/test_forge_atexit.py"], timeout=60)
    assert not outcome.ok and outcome.passed == 0
    # The failure was on record before the hook ran; the exit status 0 it forced
    # disagrees with what pytest reported, so the whole run counts as tampered.
    assert outcome.verdicts["tests/test_forge_atexit.py::test_add"] is False
    assert outcome.tampered


def test_lines_written_to_the_report_pipe_are_noticed(tmp_path: Path) -> None:
    out = _project(tmp_path, ["test_forge_stream.py"])
    outcome = run_pytest(out, ["tests/test_forge_stream.py"], timeout=60)
    assert outcome.tampered and not outcome.ok
    assert outcome.passed == 0 and not any(outcome.verdicts.values())
    assert any(f.test == "<report>" for f in outcome.failures)


def test_a_conftest_that_rewrites_reports_does_not_turn_a_failure_into_a_pass(
    tmp_path: Path,
) -> None:
    out = _project(tmp_path, ["test_forge_atexit.py", "conftest_flip.py"])
    outcome = run_pytest(out, ["tests/test_forge_atexit.py"], timeout=60)
    assert not outcome.ok
    assert outcome.verdicts["tests/test_forge_atexit.py::test_add"] is False


def test_leaving_the_interpreter_mid_test_is_a_failure(tmp_path: Path) -> None:
    out = _project(tmp_path, ["test_exit_early.py"])
    outcome = run_pytest(out, ["tests/test_exit_early.py"], timeout=60)
    assert not outcome.ok and outcome.passed == 0


def test_a_detached_child_does_not_outlive_the_deadline(tmp_path: Path) -> None:
    out = _project(tmp_path, ["test_detached_child.py"])
    started = time.monotonic()
    hang = "tests/test_detached_child.py::test_hang_with_a_detached_child"
    outcome = run_pytest(out, ["tests/test_detached_child.py"], select=[hang], timeout=5)
    assert time.monotonic() - started < 15
    assert outcome.timed_out and not outcome.ok
    assert _survivors("mge-outlive-marker") == []


def test_a_child_left_behind_does_not_hold_up_a_finished_run(tmp_path: Path) -> None:
    out = _project(tmp_path, ["test_detached_child.py"])
    started = time.monotonic()
    leave = "tests/test_detached_child.py::test_passes_but_leaves_a_child"
    outcome = run_pytest(out, ["tests/test_detached_child.py"], select=[leave], timeout=60)
    assert time.monotonic() - started < 15
    assert outcome.ok and outcome.passed == 1
    assert _survivors("mge-outlive-marker") == []


def test_without_bwrap_running_generated_code_fails_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sandbox, "_PROBED", None)
    with pytest.raises(SandboxUnavailable) as raised:
        run_python(["-c", "print('ran')"])
    assert "bwrap is not installed" in str(raised.value)
    assert "MGE_SANDBOX=none" in str(raised.value) and "\n" not in str(raised.value)


def test_the_explicit_opt_out_runs_unsandboxed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MGE_SANDBOX", "none")
    result = run_python(["-c", "import os; print(os.path.exists('/etc/shadow'))"])
    assert result.ok and not result.sandboxed
    assert result.stdout.strip() == str(os.path.exists("/etc/shadow"))


def test_an_unknown_sandbox_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MGE_SANDBOX", "off")
    with pytest.raises(SandboxUnavailable):
        run_python(["-c", "pass"])
