"""The scheduler: makespan against the lower bound, and the engine's own cost per atom.

Three synthetic projects (`_synth`: wide, chains, random layers; `modules` files of
`per_module` one-line functions each, so modules x per_module atoms, plus one
import header per module of the layered shape), each run by the real engine
(`create_run` + `execute_run`, replay model, `levels="atomic"`, no tests,
concurrency 100, SQLite) with `--schedule eager` and `--schedule waves`, and as
Dask distributed futures (one in-process worker, `concurrency` threads) whose
tasks sleep for the same per-atom latencies. Replay's latency is lognormal around
the mean (`mge.llm._replay.simulated_latency`, deterministic per atom and
attempt); the bound uses those exact draws: max(longest latency-weighted chain,
sum of latencies / concurrency). The makespan of an engine run is its
`generate` stage (first atom scheduled to last atom done), read from progress
events; skeletons, atomization and output are outside it.

Engine overhead: the wide project at zero latency, wall and CPU time of the
generate stage per atom (one model call, L1 validation, prompt, and the
database writes of one attempt) on SQLite as `mge.db.make_engine` sets it up
(WAL, synchronous=NORMAL). L1 validation time is the sum of the stored
`validation_results.duration_seconds`.

`python -m bench.scheduler [--per-module N] [--modules N] [--shapes a,b]
[--no-dask] [--write-docs]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench._docs import write_section
from bench.scheduler._drive import EngineRun, run_engine
from bench.scheduler._peer import Work, run_dask, work_of
from bench.scheduler._synth import SHAPES, module_sources, write_project

DOCS = Path(__file__).resolve().parents[2] / "docs" / "BENCHMARKS.md"
SECTION = "## Scheduler"
LATENCY_MS = 50.0
CONCURRENCY = 100
CORES = os.cpu_count() or 1


@dataclass
class ShapeResult:
    shape: str
    work: Work
    bound: float
    eager: EngineRun | None
    waves: EngineRun | None
    dask_seconds: float | None


@dataclass
class Overhead:
    label: str
    run: EngineRun

    @property
    def ms_per_atom(self) -> float:
        return 1000 * self.run.generate_seconds / max(self.run.atoms, 1)

    @property
    def cpu_ms_per_atom(self) -> float:
        return 1000 * self.run.generate_cpu_seconds / max(self.run.atoms, 1)

    @property
    def validation_ms_per_atom(self) -> float:
        return 1000 * self.run.validation_seconds / max(self.run.atoms, 1)


def measure_shape(
    shape: str, root: Path, *, modules: int, per_module: int, dask: bool, log: bool = True
) -> ShapeResult:
    sources = module_sources(shape, modules, per_module)
    work = work_of(sources, latency_ms=LATENCY_MS)
    bound = work.lower_bound(CONCURRENCY)
    plan = write_project(root / shape, shape, modules, per_module)
    runs: dict[str, EngineRun] = {}
    for schedule in ("eager", "waves"):
        runs[schedule] = run_engine(
            plan,
            root / f"{shape}-{schedule}",
            schedule=schedule,
            latency_ms=LATENCY_MS,
            concurrency=CONCURRENCY,
        )
        if log:
            print(f"  {shape} {schedule}: {runs[schedule]}", flush=True)
    dask_seconds = run_dask(work, CONCURRENCY) if dask else None
    if log and dask_seconds is not None:
        print(f"  {shape} dask: {dask_seconds:.2f} s", flush=True)
    return ShapeResult(shape, work, bound, runs["eager"], runs["waves"], dask_seconds)


def measure_overhead(root: Path, *, modules: int, per_module: int) -> list[Overhead]:
    plan = write_project(root / "overhead", "wide", modules, per_module)
    run = run_engine(plan, root / "overhead", schedule="eager", latency_ms=0.0)
    print(f"  overhead: {run}", flush=True)
    return [Overhead("SQLite as make_engine sets it up (WAL)", run)]


def _ratio(seconds: float | None, bound: float) -> str:
    return "n/a" if seconds is None else f"{seconds:.2f} s ({seconds / bound:.2f}x)"


def shape_table(results: list[ShapeResult]) -> str:
    lines = [
        "| graph | atoms | critical path (atoms) | bound | eager | waves | Dask futures "
        "| eager CPU s (engine + workers) | cores busy | eager / Dask |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        eager = r.eager.generate_seconds if r.eager else None
        waves = r.waves.generate_seconds if r.waves else None
        cpu = (
            f"{r.eager.generate_cpu_seconds:.2f} + {r.eager.worker_cpu_seconds:.2f}"
            if r.eager
            else "n/a"
        )
        busy = (
            f"{(r.eager.generate_cpu_seconds + r.eager.worker_cpu_seconds) / eager:.2f} of {CORES}"
            if r.eager and eager
            else "n/a"
        )
        versus = f"{eager / r.dask_seconds:.2f}" if eager and r.dask_seconds else "n/a"
        lines.append(
            f"| {r.shape} | {r.work.atoms} | {r.work.critical_path_atoms()} | {r.bound:.2f} s "
            f"| {_ratio(eager, r.bound)} | {_ratio(waves, r.bound)} "
            f"| {_ratio(r.dask_seconds, r.bound)} | {cpu} | {busy} | {versus} |"
        )
    return "\n".join(lines)


def overhead_table(rows: list[Overhead]) -> str:
    lines = [
        "| database | atoms | wall s | atoms/s | wall ms/atom | engine CPU ms/atom "
        "| worker CPU ms/atom | L1 validation ms/atom |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for o in rows:
        rate = o.run.atoms / o.run.generate_seconds if o.run.generate_seconds else 0.0
        lines.append(
            f"| {o.label} | {o.run.atoms} | {o.run.generate_seconds:.1f} | {rate:.1f} "
            f"| {o.ms_per_atom:.2f} | {o.cpu_ms_per_atom:.2f} "
            f"| {1000 * o.run.worker_cpu_seconds / max(o.run.atoms, 1):.2f} "
            f"| {o.validation_ms_per_atom:.2f} |"
        )
    return "\n".join(lines)


def write_docs(body: str, section: str = SECTION, after: str | None = None) -> None:
    """Replace `section`, or add it after section `after` (else at the end)."""
    write_section(section, body, DOCS, after=after)


METHOD = """\
Synthetic projects (`bench/scheduler/_synth.py`): `--modules` files of
`--per-module` one-line functions; *wide*: no calls; *chain*: in each module every
function calls the previous one (one chain per module, all side by side);
*layered*: layers of 5 modules, each function calling 1-3 seeded-random
functions of the layer below (imported, so each layer adds an import-header atom
to the path). The real engine runs each (`create_run` + `execute_run`, replay
model, `levels="atomic"`, `run_tests=False`, concurrency 100) with the eager and
the wave schedule, and Dask distributed futures run the same graph (one
in-process worker with 100 threads, each task sleeping its atom's latency).
Latency: replay's own per-atom draw (`mge.llm._replay.simulated_latency`,
lognormal, mean 50 ms); the bound is max(latency-weighted critical path, sum of
latencies / 100) over those same draws. Makespan = the engine's `generate` stage
(progress events), Dask's submit-to-last-result; SQLite as `mge.db.make_engine`
sets it up (WAL, synchronous=NORMAL). Overhead = the wide project at latency 0:
generate-stage wall and CPU time per atom (model call, prompt, L1 validation,
database writes); L1 time = the stored `validation_results` durations, wherever
they ran. The engine runs with its default `validation_workers` (one worker
process on this 2-core machine, for runs of 1,000 atoms or more, started while
the atoms are being stored so that it is ready when generation begins). *eager
CPU s* is the CPU time of the engine's process in the eager run's generate
stage, plus the time its validation workers spent judging (as they report it;
their start-up is left out). *cores busy* is that sum over the makespan: when it
is close to the machine's core count, the run is bound by the work per atom
(prompt, replay, L1, database), not by waiting, and a faster schedule cannot
shorten it. Produced by:"""


SWEEP_SECTION = "## Scheduler at other latencies"
SWEEP_METHOD = """\
The wide graph of the table above (eager schedule, concurrency 100, validation
workers as by default) at other mean replay latencies, each against its own
bound (sum of that run's latencies / 100). It shows the latency from which the
engine's own work per atom stops mattering: with real models (seconds per call)
the run is far inside it. The engine's CPU time grows with the latency although
the work is the same: on a loop with time to spare, completions and verdicts
arrive one per loop turn instead of in batches, which costs CPU but no time. What
is left above the bound at 400 ms is mostly the start (a hundred calls begin
together) and the tail (the last calls' lognormal latencies), which no schedule
that does not know the latencies in advance avoids. Worker CPU is the time the
validation workers spent judging, as they report it. Produced by:"""


def sweep_table(root: Path, latencies: list[float], *, modules: int, per_module: int) -> str:
    lines = [
        "| mean latency | bound | eager | engine CPU s | worker CPU s |",
        "|---:|---:|---:|---:|---:|",
    ]
    sources = module_sources("wide", modules, per_module)
    plan = write_project(root / "sweep", "wide", modules, per_module)
    for latency in latencies:
        bound = work_of(sources, latency_ms=latency).lower_bound(CONCURRENCY)
        run = run_engine(plan, root / f"sweep-{latency:g}", schedule="eager", latency_ms=latency)
        print(f"  wide eager at {latency:g} ms: {run}", flush=True)
        lines.append(
            f"| {latency:g} ms | {bound:.2f} s | {_ratio(run.generate_seconds, bound)} "
            f"| {run.generate_cpu_seconds:.2f} | {run.worker_cpu_seconds:.2f} |"
        )
    return "\n".join(lines)


def _sweep(args: argparse.Namespace) -> int:
    latencies = [float(x) for x in args.sweep.split(",") if x]
    with tempfile.TemporaryDirectory(prefix="mge-bench-sweep-") as scratch:
        table = sweep_table(
            Path(scratch), latencies, modules=args.modules, per_module=args.per_module
        )
    print(table)
    if args.write_docs:
        command = f".venv/bin/python -m bench.scheduler --sweep {args.sweep} --write-docs"
        write_docs(
            "\n".join([SWEEP_SECTION, "", SWEEP_METHOD, "", "```", command, "```", "", table, ""]),
            SWEEP_SECTION,
            after=SECTION,
        )
        print(f"wrote {DOCS}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scheduler")
    parser.add_argument("--modules", type=int, default=500)
    parser.add_argument("--per-module", type=int, default=20, help="functions per module")
    parser.add_argument("--overhead-per-module", type=int, default=10)
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    parser.add_argument(
        "--sweep", default="", help="only: the wide graph, eager, at these latencies (ms, a,b)"
    )
    args, _unknown = parser.parse_known_args(argv or [])
    if args.sweep:
        return _sweep(args)
    shapes = [s for s in args.shapes.split(",") if s]
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mge-bench-scheduler-") as scratch:
        root = Path(scratch)
        overhead = measure_overhead(root, modules=args.modules, per_module=args.overhead_per_module)
        results = [
            measure_shape(
                shape,
                root,
                modules=args.modules,
                per_module=args.per_module,
                dask=not args.no_dask,
            )
            for shape in shapes
        ]
    rendered = shape_table(results) + "\n\n" + overhead_table(overhead)
    print(rendered)
    print(f"bench/scheduler took {time.perf_counter() - began:.0f} s")
    if args.write_docs:
        command = ".venv/bin/python -m bench.scheduler --write-docs"
        if args.modules != 500 or args.per_module != 20 or args.overhead_per_module != 10:
            command += (
                f" --modules {args.modules} --per-module {args.per_module}"
                f" --overhead-per-module {args.overhead_per_module}"
            )
        machine = f"{platform.python_implementation()} {platform.python_version()}, "
        machine += f"{platform.machine()}, 2 cores shared with other work"
        write_docs(
            "\n".join(
                [
                    SECTION,
                    "",
                    METHOD,
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
    return 0
