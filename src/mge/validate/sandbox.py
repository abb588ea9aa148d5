"""Running generated code somewhere it cannot hurt MGE or the machine.

Generated code never runs inside the MGE process. Each run is a fresh Python
subprocess with:

- a wall-clock timeout (the process group is killed when it expires);
- resource limits set with `setrlimit` before exec: CPU seconds, address space,
  file size, and number of processes;
- its own working directory (a temporary directory unless the caller names one);
- an environment stripped to a short allow-list, so API keys and database URLs
  never reach it (`PYTHONPATH` is set to the project under test);
- no network where the operating system allows an unprivileged process to drop it:
  on Linux the child first tries `unshare(CLONE_NEWUSER | CLONE_NEWNET)`, which
  leaves it only a loopback device that is down. Where that is refused (some
  containers forbid user namespaces) the run goes on with the network as it is,
  and `SandboxResult.network_isolated` says so.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_ALLOWED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "HOME", "TMPDIR", "SYSTEMROOT")
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000


@dataclass(frozen=True)
class Limits:
    timeout_seconds: float = 60.0
    cpu_seconds: int = 60
    memory_bytes: int = 2 * 1024**3
    file_size_bytes: int = 64 * 1024**2
    processes: int = 256


@dataclass(frozen=True)
class SandboxResult:
    returncode: int
    stdout: str
    stderr: str
    duration_seconds: float
    timed_out: bool
    network_isolated: bool

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def _try_drop_network() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0)
    except (OSError, AttributeError):
        return False


def _limit(kind: int, value: int) -> None:
    try:
        _soft, hard = resource.getrlimit(kind)
        ceiling = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (ceiling, ceiling))
    except (ValueError, OSError):
        pass


def _preexec(limits: Limits) -> None:
    os.setsid()
    _try_drop_network()
    _limit(resource.RLIMIT_CPU, limits.cpu_seconds)
    _limit(resource.RLIMIT_AS, limits.memory_bytes)
    _limit(resource.RLIMIT_FSIZE, limits.file_size_bytes)
    _limit(resource.RLIMIT_NPROC, limits.processes)


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {key: os.environ[key] for key in _ALLOWED_ENV if key in os.environ}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONHASHSEED"] = "0"
    env.update(extra or {})
    return env


def run_python(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    pythonpath: Sequence[Path] = (),
    limits: Limits | None = None,
    stdin: str | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> SandboxResult:
    """Run `python ARGS...` in the sandbox and collect what it printed."""
    limits = limits or Limits()
    extra = {"PYTHONPATH": os.pathsep.join(str(path) for path in pythonpath)} if pythonpath else {}
    env = clean_environment({**extra, **(extra_env or {})})
    with tempfile.TemporaryDirectory(prefix="mge-sandbox-") as scratch:
        workdir = cwd or Path(scratch)
        env["TMPDIR"] = scratch
        env["HOME"] = scratch
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=workdir,
            env=env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            preexec_fn=lambda: _preexec(limits),
        )
        timed_out = False
        try:
            stdout, stderr = process.communicate(stdin, timeout=limits.timeout_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
        duration = time.perf_counter() - started
    return SandboxResult(
        returncode=process.returncode,
        stdout=stdout,
        stderr=stderr,
        duration_seconds=duration,
        timed_out=timed_out,
        network_isolated=_probe_isolation(),
    )


_ISOLATION: bool | None = None


def _probe_isolation() -> bool:
    """Whether sandboxed children really get their own network namespace here
    (checked once per process by comparing namespace links)."""
    global _ISOLATION
    if _ISOLATION is None:
        try:
            own = os.readlink("/proc/self/ns/net")
        except OSError:
            _ISOLATION = False
            return False
        probe = subprocess.run(
            [sys.executable, "-c", "import os; print(os.readlink('/proc/self/ns/net'))"],
            capture_output=True,
            text=True,
            env=clean_environment(),
            preexec_fn=lambda: _preexec(Limits()),
            timeout=30,
            check=False,
        )
        _ISOLATION = probe.returncode == 0 and probe.stdout.strip() not in ("", own)
    return _ISOLATION
