"""`--executor ray` against `--executor local` on the same plan, in one run.

Each executor runs the bundled example (examples/inventory/plan.yaml: 187 atoms,
L1 to L4 with blame, mutation testing) with the replay model at the same fault rate
and seed, as the real `mge run` command in a fresh interpreter, on a fresh
PostgreSQL database each. Measured per run:

- wall time of the command;
- CPU time of the command and of every process it started (the engine, the
  validation workers, the sandboxes, and for `ray` the cluster it starts and
  stops), sampled from /proc every 50 ms: a process belongs to the run while it
  descends from the command or shares its session, and counts with the last CPU
  time seen. `RUSAGE_CHILDREN` cannot be used: a sandbox's processes live in
  their own PID namespace and are never reaped up to the benchmark. What a process
  spends in its last 50 ms, or in a life shorter than that, is missed, so the
  figures are slightly low, for both executors alike;
- whether the output and the report equal the other executor's.

The ratio is ray ÷ local. On one small machine, Ray can only add work (its own
processes, shipping the project to every check); what it buys is more machines.

    .venv/bin/python -m bench.executor [--repeats N] [--fault-rate P] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench._docs import write_section

PLAN = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "plan.yaml"
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DB = "mge_executor_bench"
SECTION = "## Executors: local and Ray"
RUNS_MARK = "@@runs@@"


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".pytest_cache" not in p.parts
    }


def _database(admin: Any, name: str) -> str:
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, int, float] | None:
    """(parent, session, CPU seconds) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    # After the name: state ppid pgrp session ... utime(12) stime(13), counted from state.
    return int(fields[1]), int(fields[3]), (int(fields[11]) + int(fields[12])) / _TICKS


class TreeCPU(threading.Thread):
    """CPU seconds of a process and everything it starts (see the module docstring)."""

    def __init__(self, root: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.members: set[int] = {root}
        self.cpu: dict[int, float] = {}
        self.done = threading.Event()

    def sample(self) -> None:
        stats = {}
        with os.scandir("/proc") as entries:
            pids = [int(entry.name) for entry in entries if entry.name.isdigit()]
        for pid in pids:
            found = _stat(pid)
            if found is not None:
                stats[pid] = found
        session = stats.get(self.root, (0, -1, 0.0))[1]
        changed = True
        while changed:
            changed = False
            for pid, (parent, sid, _) in stats.items():
                if pid not in self.members and (parent in self.members or sid == session):
                    self.members.add(pid)
                    changed = True
        for pid in self.members:
            if pid in stats:
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), stats[pid][2])

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(self.interval)

    def stop(self) -> tuple[float, float]:
        """(all processes, the command itself) in CPU seconds."""
        self.done.set()
        self.join()
        return sum(self.cpu.values()), self.cpu.get(self.root, 0.0)


def run_once(executor: str, url: str, out: Path, fault_rate: float, seed: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "mge", "run", str(PLAN), "--db", url, "--out", str(out)]
    command += ["--json", "--fault-rate", str(fault_rate), "--seed", str(seed)]
    command += ["--executor", executor]
    env = {**os.environ, "NO_COLOR": "1", "RAY_AUTH_MODE": "disabled"}
    began = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    sampler = TreeCPU(process.pid)
    sampler.start()
    stdout, stderr = process.communicate(timeout=1800)
    wall = time.perf_counter() - began
    cpu, driver = sampler.stop()
    if process.returncode != 0:
        raise SystemExit(f"{executor}: exit {process.returncode}: {stderr.strip()[-500:]}")
    report = json.loads(stdout)
    return {"wall": wall, "cpu": cpu, "driver": driver, "report": report, "files": _files(out)}


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    keys = ("status", "atoms", "attempts", "tests", "precision_percent", "tokens")
    return {key: report[key] for key in keys}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.executor")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write-docs", action="store_true")
    args, _ = parser.parse_known_args(argv)
    try:
        import ray  # noqa: F401
    except ImportError:
        print("bench.executor: Ray is not installed (pip install 'mge[ray]'); skipped")
        return 0
    os.environ.setdefault("MGE_RAY_NUM_CPUS", str(os.cpu_count() or 1))
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    results: dict[str, list[dict[str, Any]]] = {"local": [], "ray": []}
    try:
        with tempfile.TemporaryDirectory(prefix="mge-bench-executor-") as scratch:
            for number in range(args.repeats):
                # Alternated, so drift in the machine's load falls on both.
                for executor in ("local", "ray") if number % 2 == 0 else ("ray", "local"):
                    url = _database(admin, f"{BENCH_DB}_{executor}")
                    out = Path(scratch) / f"{executor}-{number}"
                    result = run_once(executor, url, out, args.fault_rate, args.seed)
                    results[executor].append(result)
                    print(
                        f"{executor}: {result['wall']:.1f} s wall, {result['cpu']:.1f} s CPU "
                        f"({result['driver']:.1f} s in the driver)",
                        flush=True,
                    )
    finally:
        with admin.connect() as connection:
            for executor in results:
                connection.execute(
                    text(f'DROP DATABASE IF EXISTS "{BENCH_DB}_{executor}" WITH (FORCE)')
                )
        admin.dispose()
    same_output = all(
        r["files"] == results["local"][0]["files"] for r in results["local"] + results["ray"]
    )
    same_report = all(
        _comparable(r["report"]) == _comparable(results["local"][0]["report"])
        for r in results["local"] + results["ray"]
    )
    wall = {name: statistics.median(r["wall"] for r in runs) for name, runs in results.items()}
    cpu = {name: statistics.median(r["cpu"] for r in runs) for name, runs in results.items()}
    driver = {name: statistics.median(r["driver"] for r in runs) for name, runs in results.items()}
    ray_figures = results["ray"][0]["report"].get("executor", {})
    report = results["local"][0]["report"]
    body = _section(args, wall, cpu, driver, same_output, same_report, ray_figures, report)
    each = "; ".join(
        f"{name}: " + ", ".join(f"{r['wall']:.1f} s wall / {r['cpu']:.1f} s CPU" for r in runs)
        for name, runs in results.items()
    )
    body = body.replace(
        RUNS_MARK,
        f"Each run, in order: {each}. The machine is shared, so runs of one executor "
        "differ by more than the executors do in wall time; read the ratios with that.",
    )
    print(body)
    if args.write_docs:
        write_section(SECTION, body)
    return 0 if same_output and same_report else 1


def _section(
    args: argparse.Namespace,
    wall: dict[str, float],
    cpu: dict[str, float],
    driver: dict[str, float],
    same_output: bool,
    same_report: bool,
    ray_figures: dict[str, Any],
    report: dict[str, Any],
) -> str:
    cores = os.cpu_count() or 1
    lines = [
        SECTION,
        "",
        f"`python -m bench.executor` (repeats {args.repeats}, median): the bundled example "
        f"({report['atoms']['total']} atoms, {report['tests']['total']} tests, mutation "
        f"testing on), replay model at fault rate {args.fault_rate}, seed {args.seed}, "
        f"PostgreSQL, `mge run` in a fresh interpreter; {cores} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, shared with other "
        "work. `ray` starts its own one-node cluster on this machine (every core, a 100 MB "
        "object store, no dashboard). CPU is the command's and every process it started, "
        "sampled from /proc (slightly low for both: see the module docstring).",
        "",
        "| executor | wall | CPU, all processes | CPU, the driver | ray ÷ local (wall) "
        "| ray ÷ local (CPU) |",
        "|---|---:|---:|---:|---:|---:|",
        f"| local | {wall['local']:.1f} s | {cpu['local']:.1f} s | {driver['local']:.1f} s | | |",
        f"| ray | {wall['ray']:.1f} s | {cpu['ray']:.1f} s | {driver['ray']:.1f} s "
        f"| {wall['ray'] / wall['local']:.2f}x | {cpu['ray'] / cpu['local']:.2f}x |",
        "",
        RUNS_MARK,
        "",
        f"Same output files: {'yes' if same_output else 'NO'}; same report (statuses, "
        f"attempts, tests, tokens): {'yes' if same_report else 'NO'}. Under `ray`, "
        f"{ray_figures.get('judged_remotely', 0)} verdicts came in "
        f"{ray_figures.get('judge_batches', 0)} batched tasks "
        f"({ray_figures.get('judge_task_cpu_ms', 0):.1f} ms of CPU each on average) and "
        f"{ray_figures.get('sandbox_tasks', 0)} sandboxed checks ran as tasks "
        f"({ray_figures.get('sandbox_task_seconds', 0):.1f} s waited for in all).",
        "",
        "What the ratio means: on one 2-core machine Ray cannot win. It adds a cluster to "
        "start and stop (a GCS, a raylet, agents and worker processes: seconds of CPU), "
        "pickles every batch of verdicts and ships the whole project with every sandboxed "
        "check, while the engine's driver does the same scheduling, model calls and "
        "database writes as under `local`. What `ray` buys is more machines: the sandboxed "
        "checks and mutation runs, the CPU-heavy part, go to whichever node has a free CPU "
        "and the `sandbox` resource. docs/RAY.md says how to run it on a cluster.",
    ]
    return "\n".join(lines) + "\n"
