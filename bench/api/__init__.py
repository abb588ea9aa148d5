"""The service under load: a replay run of the bundled example through `mge serve`,
once alone and once while 200 clients on loopback poll its status and hold its
server-sent event stream.

`mge serve` runs as its own process on a free loopback port (SQLite in a temporary
directory, no token). The run is started with `POST /api/v2/runs` and its duration
is the engine's own (`duration_seconds` of the report), plus the wall time from
the start request until the service reports it finished. Under load, half the
clients poll `GET /api/v2/runs/{id}` every `--poll-interval` seconds and the
other half hold `GET /api/v2/runs/{id}/events` open; every request's latency is
recorded (for streams, the time to the first event), an error is any non-2xx
answer or transport failure, and each stream checks that the event ids it got are
1, 2, 3, ... without a gap. The load stops when the run ends or after
`--max-seconds`, whichever is first. The clients are coroutines in this process:
on a 2-core machine they compete with the service and the run for the CPU, which
is part of what is measured.

`python -m bench.api [--clients N] [--poll-interval S] [--levels atomic|all]
[--max-seconds S] [--write-docs]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench._docs import write_section

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "BENCHMARKS.md"
EXAMPLE = ROOT / "examples" / "inventory" / "plan.yaml"
MGE = str(Path(sys.executable).with_name("mge"))
SECTION = "## API"
_EVENT_ID = re.compile(rb"^id: (\d+)$", re.MULTILINE)


@dataclass
class Load:
    poll_ms: list[float] = field(default_factory=list)
    first_event_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    events_per_stream: list[int] = field(default_factory=list)
    gaps: int = 0
    probe_ms: list[float] = field(default_factory=list)


_PROBE = """
import sys, time, httpx
url = sys.argv[1]
with httpx.Client(timeout=60.0) as client:
    while True:
        began = time.perf_counter()
        ok = client.get(url).status_code == 200
        print(f"{1000 * (time.perf_counter() - began):.3f} {int(ok)}", flush=True)
        time.sleep(0.5)
"""


def _start_probe(url: str) -> subprocess.Popen[str]:
    """One extra client in its own process, polling every 0.5 s: the service's latency
    as seen from outside the 200 clients' (saturated) event loop."""
    return subprocess.Popen([sys.executable, "-c", _PROBE, url], stdout=subprocess.PIPE, text=True)


def _stop_probe(process: subprocess.Popen[str]) -> list[float]:
    process.terminate()
    out, _ = process.communicate(timeout=30)
    found = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == "1":
            found.append(float(parts[0]))
    return found


@dataclass
class RunResult:
    report: dict[str, Any]
    wall_seconds: float

    @property
    def engine_seconds(self) -> float:
        return float(self.report["duration_seconds"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_service(scratch: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MGE_API_TOKEN"}
    env["MGE_RUNS_DIR"] = str(scratch / "runs")
    env["MGE_PLAN_ROOTS"] = str(ROOT)  # the example plan is read from the checkout
    process = subprocess.Popen(
        [
            MGE,
            "serve",
            "--port",
            str(port),
            "--db",
            f"sqlite:///{scratch / 'mge.db'}",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(scratch / "serve.log").open("wb"),
        env=env,
        cwd=scratch,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"mge serve did not become ready; see {scratch / 'serve.log'}")


def _stop_service(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _start_run(client: httpx.AsyncClient, levels: str) -> str:
    imported = await client.post(
        "/api/v2/plans",
        params={"base_dir": str(EXAMPLE.parent)},
        content=EXAMPLE.read_bytes(),
        headers={"content-type": "application/yaml"},
    )
    imported.raise_for_status()
    started = await client.post(
        "/api/v2/runs",
        json={"masterplan_id": imported.json()["id"], "settings": {"levels": levels}},
    )
    started.raise_for_status()
    return str(started.json()["run_id"])


async def _wait_finished(client: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    while True:
        report: dict[str, Any] = (await client.get(f"/api/v2/runs/{run_id}")).json()
        if not report["live"] and report["status"] != "pending":
            return report
        await asyncio.sleep(0.2)


async def _poller(
    client: httpx.AsyncClient, run_id: str, interval: float, until: asyncio.Event, load: Load
) -> None:
    while not until.is_set():
        began = time.perf_counter()
        try:
            response = await client.get(f"/api/v2/runs/{run_id}")
            if response.status_code != 200:
                load.errors.append(f"poll {response.status_code}")
            else:
                load.poll_ms.append(1000 * (time.perf_counter() - began))
        except httpx.HTTPError as error:
            load.errors.append(f"poll {type(error).__name__}")
        await asyncio.sleep(interval)


async def _streamer(
    client: httpx.AsyncClient, run_id: str, until: asyncio.Event, load: Load
) -> None:
    began = time.perf_counter()
    expected = 1
    count = 0
    try:
        async with client.stream("GET", f"/api/v2/runs/{run_id}/events") as response:
            if response.status_code != 200:
                load.errors.append(f"stream {response.status_code}")
                return
            pending = b""
            async for chunk in response.aiter_bytes():
                # Parse ids from raw bytes: the clients share one process with 200 peers,
                # and decoding every line would make the client the bottleneck.
                pending += chunk
                complete, _, pending = pending.rpartition(b"\n\n")
                for match in _EVENT_ID.finditer(complete):
                    if count == 0:
                        load.first_event_ms.append(1000 * (time.perf_counter() - began))
                    number = int(match.group(1))
                    if number != expected:
                        load.gaps += 1
                    expected = number + 1
                    count += 1
                if until.is_set() and count:
                    break
    except httpx.HTTPError as error:
        load.errors.append(f"stream {type(error).__name__}")
    finally:
        load.events_per_stream.append(count)


async def _run(
    base: str, *, clients: int, interval: float, levels: str, max_seconds: float
) -> tuple[RunResult, Load]:
    limits = httpx.Limits(max_connections=clients + 20, max_keepalive_connections=clients + 20)
    timeout = httpx.Timeout(60.0)
    load = Load()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        began = time.perf_counter()
        run_id = await _start_run(client, levels)
        probe = _start_probe(f"{base}/api/v2/runs/{run_id}")
        until = asyncio.Event()
        workers = []
        for number in range(clients):
            if number % 2 == 0:
                workers.append(_poller(client, run_id, interval, until, load))
            else:
                workers.append(_streamer(client, run_id, until, load))
        tasks = [asyncio.create_task(w) for w in workers]
        try:
            report = await asyncio.wait_for(_wait_finished(client, run_id), max_seconds)
        except TimeoutError:  # the load is bounded; report where the run got to
            report = (await client.get(f"/api/v2/runs/{run_id}")).json()
        finally:
            until.set()
            load.probe_ms = _stop_probe(probe)
            await asyncio.wait(tasks, timeout=30)
            for task in tasks:
                task.cancel()
        wall = time.perf_counter() - began
    return RunResult(report, wall), load


async def _alone(base: str, levels: str) -> RunResult:
    async with httpx.AsyncClient(base_url=base, timeout=60.0) as client:
        began = time.perf_counter()
        run_id = await _start_run(client, levels)
        report = await _wait_finished(client, run_id)
        return RunResult(report, time.perf_counter() - began)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def render(alone: RunResult, loaded: RunResult, load: Load, clients: int, interval: float) -> str:
    atoms = alone.report["atoms"]["total"]
    streams = len(load.events_per_stream)
    lines = [
        f"Run: the example ({atoms} atoms, replay, levels `{alone.report.get('levels', '')}`), "
        f"{clients} clients: {clients // 2} polling status every {interval:g} s, "
        f"{clients - clients // 2} holding the event stream.",
        "",
        "| | requests | p50 ms | p99 ms | max ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
        f"| status polls | {len(load.poll_ms)} | {_percentile(load.poll_ms, 50):.1f} "
        f"| {_percentile(load.poll_ms, 99):.1f} | {max(load.poll_ms, default=0):.1f} "
        f"| {sum(e.startswith('poll') for e in load.errors)} |",
        f"| event streams (time to first event) | {streams} "
        f"| {_percentile(load.first_event_ms, 50):.1f} "
        f"| {_percentile(load.first_event_ms, 99):.1f} "
        f"| {max(load.first_event_ms, default=0):.1f} "
        f"| {sum(e.startswith('stream') for e in load.errors)} |",
        f"| status, from a separate process (every 0.5 s) | {len(load.probe_ms)} "
        f"| {_percentile(load.probe_ms, 50):.1f} | {_percentile(load.probe_ms, 99):.1f} "
        f"| {max(load.probe_ms, default=0):.1f} | - |",
        "",
        "| run | status | engine duration s | wall s (start request to finished) |",
        "|---|---|---:|---:|",
        f"| alone | {alone.report['status']} | {alone.engine_seconds:.1f} "
        f"| {alone.wall_seconds:.1f} |",
        f"| under load | {loaded.report['status']} | {loaded.engine_seconds:.1f} "
        f"| {loaded.wall_seconds:.1f} |",
        "",
        f"Events per stream: min {min(load.events_per_stream, default=0)}, "
        f"max {max(load.events_per_stream, default=0)}; gaps in event ids: {load.gaps}.",
        "",
        "The 200 clients are coroutines of one Python process, so their latencies include",
        "their own event loop's queueing; the probe, one more client in its own process,",
        "shows what the service answers meanwhile. The service runs the run's engine in a",
        "worker thread of the same process, so the run competes with the requests for the",
        "GIL and for the machine's 2 cores (shared with other work while measured).",
    ]
    if load.errors:
        counts = Counter(load.errors)
        lines.append("Errors: " + ", ".join(f"{k} x{n}" for k, n in counts.most_common()) + ".")
    return "\n".join(lines)


def write_docs(body: str) -> None:
    write_section(SECTION, body, DOCS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--levels", choices=("atomic", "all"), default="atomic")
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    args, _unknown = parser.parse_known_args(argv or [])
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mge-bench-api-") as scratch:
        process, base = _start_service(Path(scratch))
        try:
            alone = asyncio.run(_alone(base, args.levels))
            print(f"  alone: {alone.report['status']} in {alone.engine_seconds:.1f} s", flush=True)
            loaded, load = asyncio.run(
                _run(
                    base,
                    clients=args.clients,
                    interval=args.poll_interval,
                    levels=args.levels,
                    max_seconds=args.max_seconds,
                )
            )
            print(
                f"  under load: {loaded.report['status']} in {loaded.engine_seconds:.1f} s",
                flush=True,
            )
        finally:
            _stop_service(process)
    alone.report["levels"] = args.levels
    rendered = render(alone, loaded, load, args.clients, args.poll_interval)
    print(rendered)
    print(f"bench/api took {time.perf_counter() - began:.0f} s")
    if args.write_docs:
        command = ".venv/bin/python -m bench.api --write-docs"
        if args.clients != 200 or args.poll_interval != 1.0 or args.levels != "atomic":
            command += (
                f" --clients {args.clients} --poll-interval {args.poll_interval:g}"
                f" --levels {args.levels}"
            )
        machine = f"{platform.python_implementation()} {platform.python_version()}, "
        machine += f"{platform.machine()}, 2 cores shared with other work"
        write_docs(
            "\n".join(
                [
                    SECTION,
                    "",
                    "Produced by:",
                    "",
                    "```",
                    command,
                    "```",
                    "",
                    f"Machine: {machine}.",
                    "",
                    rendered,
                    "",
                ]
            )
        )
        print(f"wrote {DOCS}")
    return 0 if not load.errors and not load.gaps else 1
