"""The sandbox contains what generated code and its tests may do."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mge.validate.sandbox import Limits, run_command, run_python


def test_a_process_that_sleeps_forever_is_killed() -> None:
    result = run_python(["-c", "import time; time.sleep(60)"], limits=Limits(timeout_seconds=1))
    assert result.timed_out and not result.ok
    assert result.duration_seconds < 30


def test_a_process_that_spins_forever_hits_the_cpu_limit() -> None:
    result = run_python(
        ["-c", "while True: pass"], limits=Limits(timeout_seconds=30, cpu_seconds=1)
    )
    assert not result.ok and not result.timed_out
    assert result.returncode != 0


def test_memory_is_capped() -> None:
    result = run_python(
        ["-c", "x = bytearray(3 * 1024 ** 3)"], limits=Limits(memory_bytes=512 * 1024**2)
    )
    assert not result.ok
    assert "MemoryError" in result.stderr


def test_file_size_is_capped(tmp_path: Path) -> None:
    script = (
        "import os\n"
        "try:\n"
        "    open('big', 'wb').write(b'x' * (8 * 1024 * 1024))\n"
        "finally:\n"
        "    print(os.path.getsize('big'))\n"
    )
    result = run_python(["-c", script], cwd=tmp_path, limits=Limits(file_size_bytes=1024 * 1024))
    assert not result.ok
    assert "File too large" in result.stderr
    assert int(result.stdout) <= 1024 * 1024


def test_secrets_do_not_reach_the_child() -> None:
    os.environ["ANTHROPIC_API_KEY"] = "sk-test-secret"
    try:
        result = run_python(["-c", "import os; print(sorted(os.environ))"])
    finally:
        del os.environ["ANTHROPIC_API_KEY"]
    assert result.ok
    assert "ANTHROPIC_API_KEY" not in result.stdout
    assert "MGE_DATABASE_URL" not in result.stdout


def test_the_network_is_dropped_where_the_system_allows() -> None:
    script = (
        "import socket\n"
        "s = socket.socket()\n"
        "s.settimeout(2)\n"
        "try:\n"
        "    s.connect(('127.0.0.1', 5432))\n"
        "    print('connected')\n"
        "except OSError as e:\n"
        "    print('refused', e.errno)\n"
    )
    result = run_python(["-c", script])
    assert result.ok
    if not result.network_isolated:
        pytest.skip("this system refuses unprivileged network namespaces")
    assert "refused" in result.stdout


def test_exiting_the_interpreter_is_reported_not_fatal() -> None:
    result = run_python(["-c", "import os; os._exit(3)"])
    assert result.returncode == 3 and not result.ok


def test_each_run_gets_its_own_scratch_directory_removed_afterwards() -> None:
    script = "import os; open('note.txt', 'w').write('x'); print(os.getcwd())"
    first = run_python(["-c", script])
    second = run_python(["-c", script])
    assert first.ok and second.ok
    assert "mge-sandbox-" in first.stdout and first.stdout != second.stdout
    assert not Path(first.stdout.strip()).exists()


def test_code_without_a_project_writes_only_its_own_scratch(tmp_path: Path) -> None:
    target = tmp_path / "planted.txt"
    script = f"open({str(target)!r}, 'w').write('x')"
    result = run_python(["-c", script])
    assert not result.ok
    assert not target.exists()


def test_what_ordinary_tests_use_works_inside() -> None:
    """Multiprocessing (semaphores in /dev/shm), the user's name, `localhost` on the
    loopback device: ordinary test suites use them, and the sandbox must not break
    them while it hides everything else."""
    script = (
        "import getpass, multiprocessing, socket\n"
        "with multiprocessing.Pool(2) as pool:\n"
        "    print(pool.map(abs, [-1, -2]))\n"
        "print(getpass.getuser())\n"
        "server = socket.create_server((socket.gethostbyname('localhost'), 0))\n"
        "print(server.getsockname()[0])\n"
    )
    result = run_python(["-c", script])
    assert result.ok, result.stderr
    assert result.stdout.split() == ["[1,", "2]", "sandbox", "127.0.0.1"]


def test_the_data_channel_is_apart_from_the_report_and_the_output() -> None:
    script = (
        "import os\n"
        "os.write(int(os.environ['MGE_DATA_FD']), b'x' * 200000)\n"
        "os.write(int(os.environ['MGE_REPORT_FD']), b'verdict')\n"
        "print('out')\n"
    )
    result = run_command(
        [sys.executable, "-c", script], limits=Limits(timeout_seconds=30), report=True, data=True
    )
    assert result.ok, result.stderr
    assert result.data == b"x" * 200000  # more than a pipe holds: read while it runs
    assert result.report == b"verdict" and result.stdout == "out\n"
    plain = run_command([sys.executable, "-c", "import os; print('MGE_DATA_FD' in os.environ)"])
    assert plain.stdout == "False\n" and plain.data == b""
