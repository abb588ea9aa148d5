"""Running generated code somewhere it cannot hurt MGE or the machine.

Generated code is hostile until proven otherwise: it may try to write outside the
project, read secrets, fork without end, reach the network, outlive its deadline
or forge the report that judges it. It never runs inside the MGE process, and by
default never outside a bubblewrap (`bwrap`) sandbox:

- a new mount namespace whose root is an empty, read-only tmpfs holding only the
  system directories (`/usr` and its links), a few harmless files of `/etc`
  (never `shadow`), the interpreter and its virtual environment, all read-only;
- a private copy of the project (owned by the sandbox's user) mounted at the
  project's own path, the only writable place besides a private `/tmp`: what the
  code writes there is thrown away, so it can neither change the project MGE
  judges nor anything beside it (MGE's database included: it is not visible);
- new PID, network, IPC and UTS namespaces: only a loopback device, and killing
  the sandbox's first process kills every process the code started, detached or
  not (`--die-with-parent`, and PID 1 of the namespace);
- an unprivileged user: when MGE runs as root the code runs as a fresh uid chosen
  per run (`setpriv`), so `RLIMIT_NPROC` holds (Linux exempts root from it) and
  counts only this sandbox's processes; otherwise bwrap maps MGE's own uid into a
  user namespace it cannot leave (`--disable-userns`);
- resource limits (`setrlimit` before exec): CPU seconds, address space, file
  size and processes; and an environment stripped to a short allow-list.

Where bwrap cannot build a sandbox (not installed, or the kernel refuses the
namespaces), running generated code fails with one `SandboxUnavailable` line,
unless the environment says `MGE_SANDBOX=none`: an explicit, documented opt-out
that runs the code as a plain subprocess with only the resource limits.

A run may also get a *report channel*: a pipe whose write end only the sandboxed
process inherits and whose read end only MGE holds, plus a key sent through a
second pipe the process reads once at start. Its content can be appended to but
never rewritten, which is what lets `mge.validate.testing` take a verdict the code
under test cannot take back. A run may also get a *data channel* (`MGE_DATA_FD`):
one more pipe only MGE reads, for bulk output such as per-test coverage, kept apart
from the report so that nothing sent on it can change a verdict.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import resource
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mge.errors import SandboxUnavailable

_ALLOWED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT")
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
#: The opt-out: `MGE_SANDBOX=none` runs generated code without bwrap (unsafe).
SANDBOX_SETTING = "MGE_SANDBOX"
#: Top-level system paths the code may read (each a directory or a link to one).
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: The only files of /etc it sees: what the dynamic loader, time zones, name
#: lookup of `localhost` and mimetypes read. Never shadow, never credentials.
_ETC = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/hosts",
    "/etc/mime.types",
)
#: Skipped when the project is copied into the sandbox: large, and not the project's.
_NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache")
#: The size of the sandbox's /dev/shm (a tmpfs: memory, so bounded).
_SHM_BYTES = 64 * 1024**2
#: How long output still read after the process ended (or was killed) may take:
#: a detached child holding the pipes open must not hold up the verdict.
_DRAIN_SECONDS = 1.0


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
    #: What the process wrote to its report channel (empty without one).
    report: bytes = b""
    #: The key the process was handed for its report channel.
    report_key: str = ""
    #: What the process wrote to its data channel (empty without one).
    data: bytes = b""
    sandboxed: bool = True

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


@dataclass
class _Layout:
    """One run's private directories on the host, and who owns them."""

    scratch: Path
    uid: int
    gid: int
    workdir: Path
    binds: list[tuple[Path, Path]] = field(default_factory=list)  # (host, inside), writable
    readable: list[tuple[Path, Path]] = field(default_factory=list)  # (host, inside)


def _mode() -> str:
    value = os.environ.get(SANDBOX_SETTING, "bwrap").strip().lower() or "bwrap"
    if value not in ("bwrap", "none"):
        raise SandboxUnavailable(f"{SANDBOX_SETTING}={value!r}: use 'bwrap' (default) or 'none'")
    return value


_PROBED: str | None = None
_PROBE_LOCK = threading.Lock()


def ensure_available() -> bool:
    """Whether generated code will run in bwrap (True) or, by the explicit opt-out,
    without it (False). Raises `SandboxUnavailable` when bwrap cannot run here and
    nobody opted out, so a missing sandbox is never silently skipped."""
    global _PROBED
    if _mode() == "none":
        return False
    with _PROBE_LOCK:
        if _PROBED is None:
            _PROBED = _probe_bwrap()
    if _PROBED:
        raise SandboxUnavailable(
            f"cannot sandbox generated code: {_PROBED}; install bubblewrap (apt-get install "
            f"bubblewrap) and allow user namespaces, or set {SANDBOX_SETTING}=none to run "
            "it unsandboxed (unsafe)"
        )
    return True


def _probe_bwrap() -> str:
    """'' when a minimal sandbox starts here, else why not (one line)."""
    binary = shutil.which("bwrap")
    if binary is None:
        return "bwrap is not installed"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    command = [binary, *_namespaces(), *_system_mounts(), "--", "/bin/true"]
    try:
        probe = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap failed to start ({exc})"
    if probe.returncode != 0:
        lines = probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"]
        return f"bwrap refused to start ({lines[-1]})"
    return ""


def _namespaces() -> list[str]:
    common = [
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
    ]
    if os.geteuid() == 0:
        # bwrap as root keeps its capabilities; `setpriv` drops to a plain uid.
        return common
    return ["--unshare-user", "--disable-userns", *common]


def _system_mounts() -> list[str]:
    args: list[str] = []
    for top in _SYSTEM:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    # bwrap would make /etc 0700 (as every mount point it makes): readable first.
    args += ["--perms", "0755", "--dir", "/etc"]
    for name in _ETC:
        args += ["--ro-bind-try", name, name]
    return [*args, "--proc", "/proc", "--dev", "/dev"]


def _interpreter_paths() -> list[Path]:
    """The interpreter, its standard library and the virtual environment's packages."""
    candidates = {
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(sys.exec_prefix),
        Path(os.path.realpath(sys.executable)).parent.parent,
    }
    return sorted({path.resolve() for path in candidates if path.is_dir()})


def _limit(kind: int, value: int) -> None:
    try:
        _soft, hard = resource.getrlimit(kind)
        ceiling = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (ceiling, ceiling))
    except (ValueError, OSError):
        pass


def _preexec(limits: Limits, *, drop_network: bool) -> None:
    os.setsid()
    if drop_network:
        _try_drop_network()
    _limit(resource.RLIMIT_CPU, limits.cpu_seconds)
    _limit(resource.RLIMIT_AS, limits.memory_bytes)
    _limit(resource.RLIMIT_FSIZE, limits.file_size_bytes)
    _limit(resource.RLIMIT_NPROC, limits.processes)


def _try_drop_network() -> bool:
    """Unsandboxed runs only: a network namespace where unprivileged ones exist."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0)
    except (OSError, AttributeError):
        return False


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {key: os.environ[key] for key in _ALLOWED_ENV if key in os.environ}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONNOUSERSITE"] = "1"
    env.update(extra or {})
    return env


def _layout(scratch: Path, project: Path | None, readable: Sequence[Path]) -> _Layout:
    """The run's writable directories: a private /tmp, and the project's copy (or an
    empty working directory), owned by the uid the code will run as."""
    if os.geteuid() == 0:
        # A uid no account uses, fresh per run: its process count is this sandbox's.
        uid = gid = 10_000_000 + random.SystemRandom().randrange(10_000_000)
    else:
        uid, gid = os.getuid(), os.getgid()
    tmp = scratch / "tmp"
    tmp.mkdir()
    if project is not None:
        copy = scratch / "project"
        shutil.copytree(project, copy, symlinks=True, ignore=_NOT_COPIED)
        layout = _Layout(scratch, uid, gid, project, [(tmp, Path("/tmp")), (copy, project)])
    else:
        work = scratch / "work"
        work.mkdir()
        layout = _Layout(scratch, uid, gid, work, [(tmp, Path("/tmp")), (work, work)])
    if os.geteuid() == 0:
        for host, _inside in layout.binds:
            _chown_tree(host, uid, gid)
        # MGE's own temporary directories are private (0700): the sandbox's uid
        # reads copies of them instead.
        for number, path in enumerate(readable):
            copy = scratch / "readable" / str(number)
            if path.is_dir():
                shutil.copytree(path, copy, symlinks=True, ignore=_NOT_COPIED)
            else:
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copy)
            _chown_tree(copy, uid, gid)
            layout.readable.append((copy, path))
    else:
        layout.readable.extend((path, path) for path in readable)
    etc = scratch / "etc"
    etc.mkdir()
    (etc / "passwd").write_text(f"sandbox:x:{uid}:{gid}:sandbox:/tmp:/bin/sh\n")
    (etc / "group").write_text(f"sandbox:x:{gid}:\n")
    return layout


def _readable(pythonpath: Sequence[Path], project: Path | None) -> list[Path]:
    """The extra paths to show read-only: existing ones, outside the project (which
    is there, writable, anyway)."""
    found: list[Path] = []
    for path in (Path(p).resolve() for p in pythonpath):
        inside = project is not None and (path == project or project in path.parents)
        if path.exists() and not inside and path not in found:
            found.append(path)
    return found


def _chown_tree(top: Path, uid: int, gid: int) -> None:
    os.chown(top, uid, gid)
    for folder, dirs, files in os.walk(top):
        for name in [*dirs, *files]:
            os.chown(os.path.join(folder, name), uid, gid, follow_symlinks=False)


def _bwrap_command(layout: _Layout, command: Sequence[str]) -> list[str]:
    """The bwrap command line; descriptors passed to bwrap reach the command as they
    are (neither bwrap nor setpriv closes them)."""
    args = ["bwrap", *_namespaces(), *_system_mounts()]
    etc = layout.scratch / "etc"
    args += ["--ro-bind", str(etc / "passwd"), "/etc/passwd"]
    args += ["--ro-bind", str(etc / "group"), "/etc/group"]
    made: set[str] = {"/", "/tmp", "/etc", "/proc", "/dev", *_SYSTEM}

    def parents(inside: Path) -> None:
        # bwrap makes missing mount points 0700, which the sandbox user could not
        # cross: make them first, traversable.
        for parent in reversed(inside.parents):
            if str(parent) not in made:
                made.add(str(parent))
                args.extend(["--perms", "0755", "--dir", str(parent)])

    tmp_host, tmp_inside = layout.binds[0]
    args += ["--bind", str(tmp_host), str(tmp_inside)]
    # Shared memory for multiprocessing's semaphores and queues, bounded in size.
    args += ["--perms", "1777", "--size", str(_SHM_BYTES), "--tmpfs", "/dev/shm"]
    for host, inside in [(path, path) for path in _interpreter_paths()] + layout.readable:
        parents(inside)
        args += ["--ro-bind", str(host), str(inside)]
    for host, inside in layout.binds[1:]:
        parents(inside)
        args += ["--bind", str(host), str(inside)]
    args += ["--remount-ro", "/", "--chdir", str(layout.workdir)]
    if os.geteuid() == 0:
        args += [
            "--",
            "setpriv",
            f"--reuid={layout.uid}",
            f"--regid={layout.gid}",
            "--clear-groups",
            "--no-new-privs",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ]
    return [*args, "--", *command]


def _stdin_writer(stream: object, data: bytes) -> threading.Thread:
    def write() -> None:
        with contextlib.suppress(OSError, ValueError):
            stream.write(data)  # type: ignore[attr-defined]
        with contextlib.suppress(OSError, ValueError):
            stream.close()  # type: ignore[attr-defined]

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def _collect(
    process: subprocess.Popen[bytes], readers: dict[int, bytearray], deadline: float
) -> bool:
    """Read every pipe until the process ends or the deadline passes; returns whether
    it timed out. Killing the process group ends the sandbox (its PID 1 dies with
    bwrap); pipes still open after that, or after a normal exit, are read for at
    most `_DRAIN_SECONDS` and then abandoned: a detached child never holds us up."""
    selector = selectors.DefaultSelector()
    for fd in readers:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    timed_out = False
    stop_at: float | None = None
    try:
        while selector.get_map():
            now = time.monotonic()
            if stop_at is None:
                if process.poll() is not None:
                    stop_at = now + _DRAIN_SECONDS
                elif now >= deadline:
                    timed_out = True
                    _kill(process)
                    stop_at = now + _DRAIN_SECONDS
            if stop_at is not None and now >= stop_at:
                break
            wait = 0.05 if stop_at is None else max(0.0, min(0.05, stop_at - now))
            for key, _events in selector.select(timeout=wait):
                fd = int(key.fd)
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if chunk:
                    readers[fd] += chunk
                else:
                    selector.unregister(fd)
        if process.poll() is None and not timed_out:
            timed_out = time.monotonic() >= deadline
            if not timed_out:
                # Every pipe closed but the process lives on: wait for it within the deadline.
                try:
                    process.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    timed_out = True
            if timed_out:
                _kill(process)
    finally:
        selector.close()
    process.wait()
    return timed_out


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()


def run_python(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    pythonpath: Sequence[Path] = (),
    limits: Limits | None = None,
    stdin: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    report: bool = False,
) -> SandboxResult:
    """Run `python ARGS...` in the sandbox and collect what it printed.

    `cwd` is the project: the run works in a private, writable copy of it mounted at
    the same path. `pythonpath` entries are visible read-only. The interpreter runs
    with `-s`: no user site-packages.
    With `report`, the process gets a report channel (`MGE_REPORT_FD`, and the key
    on `MGE_REPORT_KEY_FD`); what it wrote comes back in `SandboxResult.report`.
    """
    extra = {"PYTHONPATH": os.pathsep.join(str(path) for path in pythonpath)} if pythonpath else {}
    return run_command(
        [sys.executable, "-s", *args],
        cwd=cwd,
        readable=pythonpath,
        limits=limits,
        stdin=stdin,
        extra_env={**extra, **(extra_env or {})},
        report=report,
    )


def run_command(
    command: Sequence[str],
    *,
    cwd: Path | None = None,
    readable: Sequence[Path] = (),
    limits: Limits | None = None,
    stdin: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    report: bool = False,
    data: bool = False,
) -> SandboxResult:
    """Run `command` (a program under /usr, such as node, or the interpreter) in the
    sandbox, as `run_python` does: `cwd` is the project, copied; `readable` paths
    are visible read-only; `report` opens a report channel, `data` a data channel."""
    limits = limits or Limits()
    sandboxed = ensure_available()
    env = clean_environment(extra_env)
    interpreter = list(command)
    pythonpath = readable
    with tempfile.TemporaryDirectory(prefix="mge-sandbox-") as scratch_name:
        scratch = Path(scratch_name)
        channel_fds: list[int] = []
        report_key = ""
        report_read = -1
        if report:
            report_read, report_write = os.pipe()
            key_read, key_write = os.pipe()
            report_key = secrets.token_hex(16)
            os.write(key_write, report_key.encode("ascii"))
            os.close(key_write)
            channel_fds = [report_write, key_read]
            env["MGE_REPORT_FD"] = str(report_write)
            env["MGE_REPORT_KEY_FD"] = str(key_read)
        data_read = -1
        if data:
            data_read, data_write = os.pipe()
            channel_fds.append(data_write)
            env["MGE_DATA_FD"] = str(data_write)
        try:
            if sandboxed:
                project = cwd.resolve() if cwd else None
                layout = _layout(scratch, project, _readable(pythonpath, project))
                env["HOME"] = env["TMPDIR"] = "/tmp"
                command = _bwrap_command(layout, interpreter)
                workdir = layout.scratch
            else:
                workdir = cwd or scratch
                env["HOME"] = env["TMPDIR"] = str(scratch)
                command = interpreter
            started = time.perf_counter()
            process = subprocess.Popen(
                command,
                cwd=workdir,
                env=env,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=channel_fds,
                preexec_fn=lambda: _preexec(limits, drop_network=not sandboxed),
            )
        finally:
            for fd in channel_fds:
                os.close(fd)
        assert process.stdout is not None and process.stderr is not None
        if stdin is not None:
            _stdin_writer(process.stdin, stdin.encode("utf-8"))
        out_fd, err_fd = process.stdout.fileno(), process.stderr.fileno()
        readers = {out_fd: bytearray(), err_fd: bytearray()}
        for fd in (report_read, data_read):
            if fd >= 0:
                readers[fd] = bytearray()
        try:
            timed_out = _collect(process, readers, time.monotonic() + limits.timeout_seconds)
        finally:
            process.stdout.close()
            process.stderr.close()
            for fd in (report_read, data_read):
                if fd >= 0:
                    os.close(fd)
        duration = time.perf_counter() - started
    out, err = readers[out_fd], readers[err_fd]
    return SandboxResult(
        returncode=process.returncode,
        stdout=out.decode("utf-8", errors="replace"),
        stderr=err.decode("utf-8", errors="replace"),
        duration_seconds=duration,
        timed_out=timed_out,
        network_isolated=sandboxed or _probe_isolation(),
        report=bytes(readers.get(report_read, b"")) if report_read >= 0 else b"",
        report_key=report_key,
        data=bytes(readers[data_read]) if data_read >= 0 else b"",
        sandboxed=sandboxed,
    )


_ISOLATION: bool | None = None


def _probe_isolation() -> bool:
    """Unsandboxed runs: whether children really get their own network namespace here
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
            preexec_fn=lambda: _preexec(Limits(), drop_network=True),
            timeout=30,
            check=False,
        )
        _ISOLATION = probe.returncode == 0 and probe.stdout.strip() not in ("", own)
    return _ISOLATION
