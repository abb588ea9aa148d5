"""Drive the real engine on a synthetic plan and time its generation stage, and the
CPU the machine spent on it.

The makespan runs from the `generate` progress event (the stage's start, before the
scheduler orders the atoms) to the `atom_done` event of the stage's last atom, as
a peer's makespan runs to its last result. What the engine does after that (the
last group commit made durable, the write-behind thread joined) is the *flush*,
timed on its own up to the `validate` event. A stage whose atoms do not all end
in the schedule's one pass (blocked atoms, a second pass) has no such last atom,
and its makespan runs to the `validate` event.

CPU is read from /proc at the two marks that bound the makespan, for three groups
of processes:

- the driver: this process (`time.process_time`, every thread of it);
- everything this process started, at any depth: the validation workers of the
  `local` executor, and for `ray` the cluster `ray.init` starts (GCS, raylet,
  agents, worker processes);
- the PostgreSQL server processes serving the run's database (its backends, as
  `pg_stat_activity` lists them), when the run is on PostgreSQL.

A process counts with its CPU at the second mark minus its CPU at the first (zero
if it was born in between). One that exits within the stage is missed; none of
these do. The machine's busy time over the same interval (/proc/stat) gives what
other processes took meanwhile: the machine is shared.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

from bench.scheduler._path import Timeline
from mge.db import make_engine
from mge.db.migrate import upgrade
from mge.db.models import GenerationRun, ValidationLevel, ValidationResult
from mge.execute import RunSettings, create_run, execute_run, run_report

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DB = "mge_scheduler_bench"
_TICKS = os.sysconf("SC_CLK_TCK")
#: The mark taken at the generate stage's last `atom_done`.
LAST_ATOM = "last atom done"


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent, CPU seconds) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    # After the name, counted from the state: ppid(1) ... utime(11) stime(12).
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def process_name(pid: int) -> str:
    """The process's title (Ray names its workers `ray::...`), else its program (for
    a Python program, the script or module it runs)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    parts = [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    if not parts:
        return "?"
    words = parts[0].split(" ") if len(parts) == 1 else parts
    name = Path(words[0]).name
    if name.startswith("python") and len(words) > 1:
        rest = [w for w in words[1:] if not w.startswith("-")]
        name = Path(rest[0]).name if rest else name
    return name


def by_name(
    before: dict[int, float], after: dict[int, float], names: dict[int, str]
) -> dict[str, float]:
    """`growth` per process title (`names`, read while they lived), largest first."""
    named: dict[str, float] = {}
    for pid, cpu in after.items():
        name = names.get(pid, "?")
        named[name] = named.get(name, 0.0) + max(0.0, cpu - before.get(pid, 0.0))
    return dict(sorted(named.items(), key=lambda item: -item[1]))


def descendants_cpu(root: int) -> dict[int, float]:
    """CPU seconds of every live process descending from `root` (not `root` itself)."""
    stats: dict[int, tuple[int, float]] = {}
    with os.scandir("/proc") as entries:
        for entry in entries:
            if entry.name.isdigit():
                found = _stat(int(entry.name))
                if found is not None:
                    stats[int(entry.name)] = found
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    seen: dict[int, float] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen[pid] = stats[pid][1]
            todo.extend(children.get(pid, []))
    return seen


def processes_cpu(pids: list[int]) -> dict[int, float]:
    found = {pid: _stat(pid) for pid in pids}
    return {pid: stat[1] for pid, stat in found.items() if stat is not None}


def machine_seconds() -> tuple[float, float]:
    """(busy, stolen): CPU seconds the machine's cores have spent running something
    since boot, and seconds the hypervisor kept them from running at all (steal,
    on a virtual machine whose host is shared), from /proc/stat."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()
    values = [int(v) for v in first[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    stolen = values[7] if len(values) > 7 else 0
    # guest time is already counted in user time.
    busy = sum(values[:7]) - idle
    return busy / _TICKS, stolen / _TICKS


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def growth(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two snapshots by the processes alive at the second."""
    return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items())


@dataclass
class Mark:
    wall: float
    driver: float
    children: dict[int, float]
    database: dict[int, float]
    machine: float
    stolen: float = 0.0
    names: dict[int, str] = field(default_factory=dict)


@dataclass
class StageClock:
    """A progress sink that notes when each stage starts, and the CPU so far."""

    #: The run's PostgreSQL backends, when it runs on PostgreSQL.
    database_pids: Callable[[], list[int]] | None = None
    marks: dict[str, Mark] = field(default_factory=dict)
    attempts: int = 0
    #: Atoms of the generate stage not yet done (None before the stage starts).
    unfinished: int | None = None
    #: Each atom's moments in the stage, for the realized critical path (`_path`).
    timeline: Timeline = field(default_factory=Timeline)

    def mark(self) -> Mark:
        # The clocks first: what follows reads /proc and asks the database.
        wall, driver = time.perf_counter(), time.process_time()
        pids = self.database_pids() if self.database_pids is not None else []
        children = descendants_cpu(os.getpid())
        busy, stolen = machine_seconds()
        return Mark(
            wall=wall,
            driver=driver,
            children=children,
            database=processes_cpu(pids),
            machine=busy,
            stolen=stolen,
            names={pid: process_name(pid) for pid in children},
        )

    def event(self, kind: str, **data: Any) -> None:
        if kind in ("atom_started", "attempt", "atom_done") and self.unfinished is not None:
            self.timeline.note(kind, time.perf_counter(), data)
        if kind == "stage":
            name = str(data.get("name"))
            if name not in self.marks:
                self.marks[name] = self.mark()
            if name == "generate":
                self.unfinished = int(data.get("atoms", 0)) - int(data.get("done", 0))
        elif kind == "atom_done" and self.unfinished is not None:
            self.unfinished -= 1
            if self.unfinished == 0:
                self.marks[LAST_ATOM] = self.mark()
            elif self.unfinished < 0:
                # An atom ended twice (a second pass): the stage had no one last atom.
                self.marks.pop(LAST_ATOM, None)
        elif kind == "attempt":
            self.attempts += 1

    def makespan(self, ended: Mark) -> tuple[Mark, Mark, float | None]:
        """The marks that bound the makespan, and the flush after it (None when the
        stage had no one last atom)."""
        start = self.marks.get("generate", ended)
        stage_end = self.marks.get("validate", ended)
        last = self.marks.get(LAST_ATOM)
        if last is None or "validate" not in self.marks:
            return start, stage_end, None
        return start, last, stage_end.wall - last.wall


@dataclass(frozen=True)
class EngineRun:
    executor: str
    status: str
    atoms: int
    completed: int
    attempts: int
    generate_seconds: float
    total_seconds: float
    # CPU seconds over the makespan: this process (the engine, the single
    # decider), the processes it started (validation workers, or the Ray cluster),
    # the database server's backends for the run, and the whole machine.
    driver_cpu_seconds: float
    children_cpu_seconds: float
    database_cpu_seconds: float
    machine_busy_seconds: float
    max_in_flight: int
    validation_seconds: float
    # As the executor reports it: for `local`, the CPU its validation workers spent
    # judging; for `ray`, the CPU the L1 tasks spent judging (on the workers).
    judged_cpu_seconds: float = 0.0
    judged_remotely: int = 0
    # The started processes' CPU by title (for `ray`: `raylet`, `gcs_server`,
    # `ray::_judge_batch`, `ray::IDLE`...).
    started_by_name: dict[str, float] = field(default_factory=dict)
    # Core-seconds the hypervisor took from this machine over the stage (steal).
    stolen_seconds: float = 0.0
    # From the last atom done to the stage's end: the last group commit made durable.
    # None when the makespan ran to the stage's end (see the module docstring).
    flush_seconds: float | None = None
    # Each atom's moments in the stage (`_path`).
    timeline: Timeline = field(default_factory=Timeline, repr=False)

    @property
    def cpu_seconds(self) -> float:
        """Every CPU second the run cost over the makespan."""
        return self.driver_cpu_seconds + self.children_cpu_seconds + self.database_cpu_seconds

    @property
    def other_cpu_seconds(self) -> float:
        """What the machine's other processes took meanwhile."""
        return max(0.0, self.machine_busy_seconds - self.cpu_seconds)

    def cores_available(self, cores: float) -> float:
        """`cores` less what the hypervisor took over the stage, on average: time
        the machine's cores did not run at all is no core the run could use."""
        return max(cores - self.cores(self.stolen_seconds), 0.1 * cores)

    def cores(self, cpu_seconds: float) -> float:
        """`cpu_seconds` over the makespan: how many cores that kept busy on average."""
        return cpu_seconds / self.generate_seconds if self.generate_seconds > 0 else 0.0

    def per_atom_ms(self, seconds: float) -> float:
        return 1000 * seconds / max(self.atoms, 1)

    def __str__(self) -> str:
        return (
            f"{self.executor}: {self.status}, {self.completed}/{self.atoms} atoms, "
            f"generate {self.generate_seconds:.2f} s wall, CPU {self.driver_cpu_seconds:.2f} "
            f"driver + {self.children_cpu_seconds:.2f} started + "
            f"{self.database_cpu_seconds:.2f} database (machine busy "
            f"{self.machine_busy_seconds:.2f} s, stolen {self.stolen_seconds:.2f} s), "
            f"flush {self.flush_text()}"
        )

    def flush_text(self) -> str:
        return "n/a" if self.flush_seconds is None else f"{1000 * self.flush_seconds:.0f} ms"


class Database:
    """A fresh PostgreSQL database per run, on the local server."""

    def __init__(self, admin_url: str = ADMIN_URL, name: str = BENCH_DB) -> None:
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.name = name
        self.url = admin_url.rsplit("/", 1)[0] + "/" + name

    def fresh(self) -> str:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self.url

    def backends(self) -> list[int]:
        with self.admin.connect() as connection:
            rows = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                {"name": self.name},
            )
            return [int(row[0]) for row in rows]

    def close(self) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def run_engine(
    plan: Path,
    workdir: Path,
    *,
    schedule: str,
    latency_ms: float,
    concurrency: int = 100,
    executor: str = "local",
    database: Database | None = None,
) -> EngineRun:
    """One run of `plan`: on a fresh PostgreSQL database when `database` is given,
    else on a fresh SQLite file under `workdir`, set up exactly as
    `mge.db.make_engine` sets it up (WAL, synchronous=NORMAL)."""
    workdir.mkdir(parents=True, exist_ok=True)
    url = database.fresh() if database is not None else f"sqlite:///{workdir / 'mge.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        settings = RunSettings(
            model="replay",
            latency_ms=latency_ms,
            levels="atomic",
            run_tests=False,
            concurrency=concurrency,
            schedule="eager" if schedule == "eager" else "waves",
            out_dir=str(workdir / "out"),
            executor="ray" if executor == "ray" else "local",
        )
        run_id = create_run(engine, plan, settings)
        clock = StageClock(database.backends if database is not None else None)
        began = time.perf_counter()
        status = asyncio.run(execute_run(engine, run_id, progress=clock))
        ended = clock.mark()
        report = run_report(engine, run_id)
        with engine.connect() as connection:
            validation = connection.scalar(
                select(func.coalesce(func.sum(ValidationResult.duration_seconds), 0.0)).where(
                    ValidationResult.run_id == run_id,
                    ValidationResult.level == ValidationLevel.ATOMIC,
                )
            )
            stored = connection.scalar(
                select(GenerationRun.report).where(GenerationRun.id == run_id)
            )
    finally:
        engine.dispose()
    start, stop, flush = clock.makespan(ended)
    atoms = report.get("atoms", {})
    stored = stored or {}
    workers = stored.get("validation_workers") or {}
    figures = stored.get("executor") or {}
    if executor == "ray":
        judged_cpu = figures.get("judge_task_cpu_ms", 0.0) * figures.get("judge_batches", 0) / 1000
        judged = int(figures.get("judged_remotely", 0))
    else:
        judged_cpu = float(workers.get("cpu_seconds", 0.0))
        judged = int(workers.get("remote", 0))
    return EngineRun(
        executor=executor,
        status=status.value,
        atoms=int(atoms.get("total", 0)),
        completed=int(atoms.get("completed", 0)),
        attempts=clock.attempts,
        generate_seconds=stop.wall - start.wall,
        total_seconds=ended.wall - began,
        driver_cpu_seconds=stop.driver - start.driver,
        children_cpu_seconds=growth(start.children, stop.children),
        database_cpu_seconds=growth(start.database, stop.database),
        machine_busy_seconds=stop.machine - start.machine,
        stolen_seconds=stop.stolen - start.stolen,
        max_in_flight=int(report.get("max_in_flight", 0) or 0),
        validation_seconds=float(validation or 0.0),
        judged_cpu_seconds=float(judged_cpu),
        judged_remotely=judged,
        started_by_name=by_name(start.children, stop.children, stop.names),
        flush_seconds=flush,
        timeline=clock.timeline,
    )
