"""The scheduler against the machine it runs on, under both executors, and its peers.

Three synthetic projects (`_synth`: wide, chains, random layers; `modules` files of
`per_module` one-line functions each, so modules x per_module atoms, plus one
import header per module of the layered shape), each run by the real engine
(`create_run` + `execute_run`, replay model, `levels="atomic"`, no tests,
concurrency 100, eager schedule) under `--executor local` and `--executor ray`,
one after the other on a fresh PostgreSQL database each (Ray refuses SQLite).
Replay's latency is lognormal around the mean (`mge.llm._replay.simulated_latency`,
deterministic per atom and attempt).

The bound of a run (`_model.machine_bound`) is max(latency-weighted critical path,
Σ latency ÷ concurrency, total CPU ÷ cores available), the latencies being those
exact draws and the CPU what the run cost over its makespan: the engine's
process, every process it started (validation workers; Ray's cluster) and the
database server's backends for the run (`_drive`). *Cores available* is the
machine's cores less what the hypervisor took over the same interval (steal, in
/proc/stat): the machine is a shared virtual one. The makespan of a run runs from
its `generate` stage's start to its last atom done, from progress events, as a
peer's runs to its last result; the flush of the last group commit after it is
timed and shown on its own.

The peers run the same graphs with the same latencies (`_peer`): Dask distributed
and Ray, each set up as its documentation recommends for many sleeping tasks,
plus the old Dask setup (one submit per task) on the shapes `--old-dask` names.

From the CPU measured per atom under `ray`, `_model` gives where 10k- to 1M-atom
plans stop being CPU-bound on 1 to 64 nodes at 1, 5 and 20 s of model latency.

Each graph runs `--repeat` times (3 by default) under each executor, alternated;
each table shows an executor's median run by eager ÷ bound, and the verdict is
that run's, with every run's ratio beside it.

`python -m bench.scheduler [--modules N] [--per-module N] [--shapes a,b]
[--executors local,ray] [--repeat N] [--no-peers] [--old-dask a,b] [--write-docs]`;
`--sweep 100,200,400` instead runs the wide graph, local, on SQLite, at other
latencies; `--calls 3000` instead times the model's calls under `ray`, one actor
call each against MGE's bundles (`_calls`); `--alternate BEFORE,AFTER [--rounds
N]` instead runs the engines of two commits or more in turn on the same graphs
(`_alternate`).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench._docs import write_section
from bench.scheduler._calls import calls_table, run_calls
from bench.scheduler._drive import Database, EngineRun, cores, run_engine
from bench.scheduler._model import (
    Bound,
    CpuPerAtom,
    cpu_bound_from,
    floors,
    machine_bound,
    nodes_that_help,
)
from bench.scheduler._path import breakdown
from bench.scheduler._peer import (
    PeerRun,
    Work,
    run_dask,
    run_dask_per_submit,
    run_ray,
    work_of,
)
from bench.scheduler._synth import SHAPES, module_sources, write_project

DOCS = Path(__file__).resolve().parents[2] / "docs" / "BENCHMARKS.md"
SECTION = "## Scheduler"
MODEL_SECTION = "## Scheduler: where plans stop being CPU-bound"
LATENCY_MS = 50.0
CONCURRENCY = 100
CORES = cores()
TARGET = 1.10
MODEL_ATOMS = (10_000, 100_000, 1_000_000)
MODEL_NODES = (1, 4, 16, 64)
MODEL_LATENCIES = (1.0, 5.0, 20.0)
#: The most calls in flight a run allows (`RunSettings.concurrency`'s upper limit).
MAX_CONCURRENCY = 10_000


@dataclass
class ShapeResult:
    shape: str
    work: Work
    # Every run of each executor, in the order they ran (`--repeat`).
    samples: dict[str, list[EngineRun]] = field(default_factory=dict)
    peers: list[PeerRun] = field(default_factory=list)

    def bound(self, run: EngineRun) -> Bound:
        return machine_bound(
            self.work.critical_path_seconds(),
            self.work.latency_seconds(),
            CONCURRENCY,
            run.cpu_seconds,
            run.cores_available(CORES),
        )

    def ratio(self, run: EngineRun) -> float:
        return run.generate_seconds / self.bound(run).seconds

    @property
    def runs(self) -> dict[str, EngineRun]:
        """Each executor's median run by eager ÷ bound (of an even number, the upper
        of the two middle ones): the run the tables show and the verdict judges.
        Runs of the same code on this virtual machine spread by ±5%, so one run
        alone says little about where the target stands."""
        return {
            executor: sorted(runs, key=self.ratio)[len(runs) // 2]
            for executor, runs in self.samples.items()
            if runs
        }

    def ratios_text(self, executor: str) -> str:
        """Each run's eager ÷ bound, in the order they ran."""
        return " / ".join(f"{self.ratio(run):.2f}" for run in self.samples.get(executor, []))


def measure_shape(
    shape: str,
    root: Path,
    database: Database,
    *,
    modules: int,
    per_module: int,
    executors: list[str],
    peers: bool,
    old_dask: bool,
    repeat: int = 1,
) -> ShapeResult:
    """`repeat` runs of the engine under each executor, the executors' order turned
    each round, so that drift in the machine's speed falls on all of them; the
    peers once."""
    sources = module_sources(shape, modules, per_module)
    result = ShapeResult(shape, work_of(sources, latency_ms=LATENCY_MS))
    plan = write_project(root / shape, shape, modules, per_module)
    for round_ in range(repeat):
        for executor in executors if round_ % 2 == 0 else executors[::-1]:
            _measure_engine(result, plan, root / f"{shape}-{executor}-{round_}", executor, database)
    if peers:
        result.peers.append(run_dask(result.work, CONCURRENCY, coroutines=True))
        result.peers.append(run_dask(result.work, CONCURRENCY, coroutines=False))
        if importlib.util.find_spec("ray") is not None:
            result.peers.append(run_ray(result.work, CONCURRENCY, cpus=CORES))
            result.peers.append(run_ray(result.work, CONCURRENCY, cpus=CORES, then_task=True))
    if old_dask:
        result.peers.append(run_dask_per_submit(result.work, CONCURRENCY))
    for peer in result.peers:
        print(f"  {result.shape} {peer.name}: {peer.seconds:.2f} s, {peer.cpu_seconds:.2f} s CPU")
    return result


def _measure_engine(
    result: ShapeResult, plan: Path, workdir: Path, executor: str, database: Database
) -> None:
    run = run_engine(
        plan,
        workdir,
        schedule="eager",
        latency_ms=LATENCY_MS,
        concurrency=CONCURRENCY,
        executor=executor,
        database=database,
    )
    result.samples.setdefault(executor, []).append(run)
    print(f"  {result.shape} {run}, {result.ratio(run):.2f}x of its bound", flush=True)
    path = breakdown(result.work, run.timeline)
    if path is not None:
        print(
            f"    critical chain as it ran: {path.steps} steps, waiting {path.waiting:.2f} s, "
            f"before the call {path.before_call:.2f} s, latency {path.latency:.2f} s, "
            f"call overhead {path.call_overhead:.2f} s, checks {path.checks:.2f} s",
            flush=True,
        )
    top = ", ".join(f"{name} {cpu:.2f}" for name, cpu in list(run.started_by_name.items())[:6])
    print(f"    started, CPU s by process: {top}", flush=True)


def engine_table(results: list[ShapeResult]) -> str:
    lines = [
        "| graph | atoms | executor | critical path | Σ latency ÷ 100 "
        "| CPU ÷ cores available | bound | eager | eager ÷ bound | each run's ÷ bound "
        "| ≤ 1.10x | flush "
        "| CPU s: driver + started + database | cores busy: the run | other work "
        "| stolen | CPU ms/atom |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for executor, run in r.runs.items():
            bound = r.bound(run)
            ratio = r.ratio(run)
            lines.append(
                f"| {r.shape} | {run.atoms} | {executor} | {bound.critical_path:.2f} s "
                f"| {bound.latency_per_slot:.2f} s | {bound.cpu_per_core:.2f} s "
                f"| {bound.seconds:.2f} s | {run.generate_seconds:.2f} s | {ratio:.2f}x "
                f"| {r.ratios_text(executor)} "
                f"| {'yes' if ratio <= TARGET else 'no'} | {run.flush_text()} "
                f"| {run.driver_cpu_seconds:.2f} + {run.children_cpu_seconds:.2f} "
                f"+ {run.database_cpu_seconds:.2f} | {run.cores(run.cpu_seconds):.2f} "
                f"| {run.cores(run.other_cpu_seconds):.2f} "
                f"| {run.cores(run.stolen_seconds):.2f} "
                f"| {run.per_atom_ms(run.cpu_seconds):.2f} |"
            )
    return "\n".join(lines)


PATH = """\
The chain of atoms that ended each run (`bench/scheduler/_path.py`): from the last
atom done, back through the prerequisite that finished last at each step, split
by the progress events into *waiting* (its prerequisite done to its start),
*before the call* (its start to its model call: prompt, slot, budget), the
model's *latency* (replay's draw), the call's *overhead* beyond it (the loop
getting back to the call; under `ray`, the actor's round trip) and *checks* (the
answer back to the atom done: the wait for a validation worker, the checks, the
attempt recorded). The five add up to the chain's span, which starts at its first
atom's start, 20-30 ms into the makespan."""


def path_table(results: list[ShapeResult]) -> str:
    lines = [
        "| graph | executor | steps | waiting | before the call | latency | call overhead "
        "| checks | eager |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for executor, run in r.runs.items():
            path = breakdown(r.work, run.timeline)
            if path is None:
                continue
            lines.append(
                f"| {r.shape} | {executor} | {path.steps} | {path.waiting:.2f} s "
                f"| {path.before_call:.2f} s | {path.latency:.2f} s "
                f"| {path.call_overhead:.2f} s | {path.checks:.2f} s "
                f"| {run.generate_seconds:.2f} s |"
            )
    return "\n".join(lines)


def peer_table(results: list[ShapeResult]) -> str:
    names: list[str] = []
    for r in results:
        for executor in r.runs:
            if f"MGE, {executor}" not in names:
                names.append(f"MGE, {executor}")
        for peer in r.peers:
            if peer.name not in names:
                names.append(peer.name)
    lines = [
        "| graph | atoms | latency bound | " + " | ".join(names) + " |",
        "|---|---:|---:|" + "---:|" * len(names),
    ]
    for r in results:
        latency_bound = r.work.lower_bound(CONCURRENCY)
        cells: dict[str, str] = {}
        for executor, run in r.runs.items():
            cells[f"MGE, {executor}"] = (
                f"{run.generate_seconds:.2f} s ({run.generate_seconds / latency_bound:.2f}x), "
                f"{run.per_atom_ms(run.cpu_seconds):.2f} ms"
            )
        for peer in r.peers:
            cells[peer.name] = (
                f"{peer.seconds:.2f} s ({peer.seconds / latency_bound:.2f}x), "
                f"{1000 * peer.cpu_seconds / max(r.work.atoms, 1):.2f} ms"
            )
        lines.append(
            f"| {r.shape} | {r.work.atoms} | {latency_bound:.2f} s | "
            + " | ".join(cells.get(name, "n/a") for name in names)
            + " |"
        )
    return "\n".join(lines)


def cpu_per_atom(results: list[ShapeResult], executor: str) -> CpuPerAtom | None:
    """Pooled over the shapes: CPU ms per atom of the driver, of what it started
    (what spreads over a cluster) and of the database server."""
    runs = [r.runs[executor] for r in results if executor in r.runs]
    atoms = sum(run.atoms for run in runs)
    if not atoms:
        return None
    return CpuPerAtom(
        driver_ms=1000 * sum(run.driver_cpu_seconds for run in runs) / atoms,
        spread_ms=1000 * sum(run.children_cpu_seconds for run in runs) / atoms,
        database_ms=1000 * sum(run.database_cpu_seconds for run in runs) / atoms,
    )


def cpu_table(results: list[ShapeResult]) -> str:
    lines = [
        "| executor | driver | started (workers, cluster) | of which judging | database | all |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for executor in ("local", "ray"):
        cpu = cpu_per_atom(results, executor)
        if cpu is None:
            continue
        runs = [r.runs[executor] for r in results if executor in r.runs]
        judged = 1000 * sum(run.judged_cpu_seconds for run in runs) / sum(r.atoms for r in runs)
        total = cpu.driver_ms + cpu.spread_ms + cpu.database_ms
        lines.append(
            f"| {executor} | {cpu.driver_ms:.2f} | {cpu.spread_ms:.2f} | {judged:.2f} "
            f"| {cpu.database_ms:.2f} | {total:.2f} |"
        )
    return "\n".join(lines)


def started_lines(results: list[ShapeResult]) -> list[str]:
    """Per run, the CPU seconds of the processes it started, by process title."""
    lines = []
    for r in results:
        for executor, run in r.runs.items():
            top = list(run.started_by_name.items())[:6]
            named = ", ".join(f"`{name}` {cpu:.2f}" for name, cpu in top if cpu >= 0.01)
            lines.append(f"- {r.shape}, {executor}: {named or 'none'}")
    return lines


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def model_tables(cpu: CpuPerAtom, node_cores: int) -> str:
    """Where runs become CPU-bound (calls in flight), and the floors of 10k-1M-atom
    plans at the most calls in flight a run allows."""
    head = "| model latency | " + " | ".join(f"{n} node{'s' if n > 1 else ''}" for n in MODEL_NODES)
    lines = [
        "Calls in flight from which a run is CPU-bound (`_model.cpu_bound_from`):",
        "",
        head + " |",
        "|---:|" + "---:|" * len(MODEL_NODES),
    ]
    for latency in MODEL_LATENCIES:
        cells = [
            f"{cpu_bound_from(latency, n, cpu, cores_per_node=node_cores):,.0f}"
            for n in MODEL_NODES
        ]
        lines.append(f"| {latency:g} s | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Floors of a wide plan (every atom ready at once) at {MAX_CONCURRENCY:,} calls in "
        "flight, the most a run allows (`_model.floors`): the shortest possible run, and "
        "what bounds it (*latency*: not CPU-bound; *driver*, *database*, *cluster*: "
        "CPU-bound there):",
        "",
        "| atoms | model latency | " + " | ".join(f"{n} node(s)" for n in MODEL_NODES) + " |",
        "|---:|---:|" + "---|" * len(MODEL_NODES),
    ]
    for atoms in MODEL_ATOMS:
        for latency in MODEL_LATENCIES:
            cells = []
            for n in MODEL_NODES:
                f = floors(
                    atoms,
                    latency,
                    n,
                    cpu,
                    cores_per_node=node_cores,
                    concurrency=min(MAX_CONCURRENCY, atoms),
                )
                cells.append(f"{_duration(f.seconds)} ({f.binding})")
            lines.append(f"| {atoms:,} | {latency:g} s | " + " | ".join(cells) + " |")
    helping = nodes_that_help(cpu, cores_per_node=node_cores)
    lines += [
        "",
        f"Nodes of {node_cores} cores that still shorten a CPU-bound run "
        f"(`_model.nodes_that_help`): {helping}; beyond that the driver "
        "(or the database), which no node takes, is the limit.",
    ]
    return "\n".join(lines)


def write_docs(body: str, section: str = SECTION, after: str | None = None) -> None:
    """Replace `section`, or add it after section `after` (else at the end)."""
    write_section(section, body, DOCS, after=after)


def write_table_section(section: str, method: str, command: str, table: str) -> None:
    """A section of its own after the scheduler's: how, the command, the table."""
    body = "\n".join([section, "", method, "", "```", command, "```", "", table, ""])
    write_docs(body, section, after=SECTION)
    print(f"wrote {DOCS}")


METHOD = """\
Synthetic projects (`bench/scheduler/_synth.py`): `--modules` files of
`--per-module` one-line functions; *wide*: no calls; *chain*: in each module every
function calls the previous one (one chain per module, all side by side);
*layered*: layers of 5 modules, each function calling 1-3 seeded-random
functions of the layer below (imported, so each layer adds an import-header atom
to the path). The real engine runs each (`create_run` + `execute_run`, replay
model, `levels="atomic"`, `run_tests=False`, concurrency 100, eager schedule)
under `--executor local` and `--executor ray`, in one bench run, `--repeat` times
each (the executors' order turned each round), each run on a fresh PostgreSQL
database (Ray refuses SQLite, so both use it; the figures before issue
22 were on SQLite). `ray` starts its own one-node cluster (every core, 100 MB
object store, no dashboard); its worker processes start within the first
generate stage, and that start-up is counted. Latency: replay's own per-atom
draw (`mge.llm._replay.simulated_latency`, lognormal, mean 50 ms).

The bound (`bench/scheduler/_model.py`, `machine_bound`) is max(latency-weighted
critical path, Σ latency ÷ 100, total CPU ÷ cores available), over the makespan:
from the generate stage's start (before the scheduler orders the atoms) to the
last atom done, from progress events, as a peer's makespan runs to its last
result. What the engine does after its last atom, the last group commit made
durable, is *flush*, timed to the next stage's start and left out of the
makespan and of its CPU (a stage whose atoms do not all end in the schedule's one
pass has no last atom to stop at; its makespan runs to the stage's end and
*flush* is n/a). *CPU* is read from /proc at the makespan's two ends: the
engine's process (*driver*), every
process it started (*started*: the local validation worker, or Ray's GCS,
raylet, agents and workers) and the PostgreSQL backends serving the run
(*database*). *Cores available* are the cores the bench may run on
(`sched_getaffinity`, all of the machine's) less the cores the hypervisor took
over the stage (*stolen*: the steal time of /proc/stat, on average over the
stage). This machine is a virtual one on a shared host; a stolen core-second is
one in which the machine ran nothing at all, the run's processes or any other,
and the same code's runs spent between 0 and 2 s of the 2 cores' time that way
within one sitting. *Other work* is the cores the machine's other processes kept
busy over the same interval (/proc/stat), shown beside the run's own *cores
busy* and not subtracted from the cores: the kernel would have given those to
the run had it asked, and subtracting them would make every run on a saturated
machine meet its bound by construction. When *cores busy* plus *other work* is
near the cores available, the machine was saturated.
Runs of the same code on this machine spread by about ±5% (see the A/A runs
below), so each configuration's figures are those of its median run by *eager ÷
bound*, every run's ratio beside them; the other tables show the same median runs.
Target: eager ≤ 1.10x the bound. Produced by:"""

SATURATED = (
    "A lower *eager ÷ bound* under `ray` is not a faster run: Ray's own processes "
    "add CPU, which raises the CPU term of its bound; the *eager* column compares "
    "the two executors. With the machine saturated (the run's cores plus other "
    "work at the cores available), the gap to the bound is the share of the cores the "
    "other work took, not cores the schedule left idle."
)

PEERS = """\
The same graphs, the same latency draws, on the peers (`bench/scheduler/_peer.py`),
makespan from submission to the last result; CPU is this process and every
process it started over that time. Each cell: makespan (its ratio to the latency
bound, max(critical path, Σ latency ÷ 100)), then CPU ms per task. The peers do
no work per task but sleep, so their CPU is their own overhead per task, to set
beside Dask's documented ~1 ms per task; MGE's includes a prompt, L1 and the
database writes of each attempt.

- *Dask, async tasks*: the whole graph handed to the scheduler at once
  (`Client.get` on a task graph: one message, not a `submit` per task) on an
  in-process `LocalCluster` with one worker of 100 slots, keyed `atom-<n>` so
  that Dask groups the tasks (an atom id has no key prefix, so each task would be
  a task group of its own, which costs the scheduler dearly: dask/distributed#8677,
  and was most of the gap in a trial here); each task an
  `async def` that awaits `asyncio.sleep`, which the worker runs on its event
  loop, at most 100 at once. *Dask, threads*: the same graph with plain
  functions calling `time.sleep` on the worker's 100 threads. `secede`/`rejoin`
  (or `worker_client`) were left out on purpose: a seceded task gives up its
  slot, so more than 100 calls would wait at once, which the engine never allows.
  Separate worker processes (`processes=True`) were slower in a trial on this
  machine (the scheduler and worker then talk over TCP; sleeping tasks hold no
  GIL to escape).
- *Ray, async actor*: one actor (`max_concurrency=100`, `num_cpus=0`), each atom
  a method call that awaits `asyncio.sleep`, its prerequisites passed as
  `ObjectRef`s so Ray runs it when they are ready; every call submitted at once.
  A Ray task per atom would need a worker process per sleeping call.
- *Ray, async actor, then a task*: the same, with each call's answer passed on to
  a Ray task (1 CPU) that returns it at once and that the dependents wait for
  instead: the two cluster round trips `--executor ray` makes on every step of a
  chain (the model's call on an actor, then its L1 check as a task), with none of
  the work: what those round trips alone cost on this machine. It sends a task
  per atom, where MGE sends the checks off the path in batches, so its own CPU is
  higher than those round trips need.
- *Dask, one submit per task (the old setup)*: what the figure of 264 s for
  10,000 tasks came from: a `Client.submit` per task from a loop, each with its
  prerequisites' futures and the atom id as its key, on 100 threads. Each submit
  is its own scheduler message and graph update, and each task its own task
  group: milliseconds of CPU per task on 2 cores shared with other work, well
  above Dask's documented ~1 ms per task. Run on the shapes `--old-dask` names."""


def _section(
    command: str, results: list[ShapeResult], seconds: float, machine: str, load: str
) -> str:
    within: list[str] = []
    missed: list[str] = []
    for r in results:
        for executor, run in r.runs.items():
            ratio = r.ratio(run)
            if ratio <= TARGET:
                within.append(f"{r.shape} {executor}")
            else:
                busy = run.cores(run.machine_busy_seconds)
                missed.append(
                    f"{r.shape} {executor} ({ratio:.2f}x; the machine {busy:.2f} of "
                    f"{run.cores_available(CORES):.2f} cores available busy)"
                )
    repeat = max((len(runs) for r in results for runs in r.samples.values()), default=1)
    verdict = (
        f"Target eager ≤ {TARGET:.2f}x the bound: met by {len(within)} of "
        f"{len(within) + len(missed)} "
        + (f"configurations (each its median of {repeat} runs)" if repeat > 1 else "runs")
        + (f"; missed by {', '.join(missed)}." if missed else ".")
    )
    return "\n".join(
        [
            SECTION,
            "",
            METHOD,
            "",
            "```",
            command,
            "```",
            "",
            f"Machine: {machine}; load average {load}. The bench took {seconds:.0f} s.",
            "",
            engine_table(results),
            "",
            verdict,
            "",
            SATURATED,
            "",
            "CPU ms per atom over the makespan, pooled over the three graphs:",
            "",
            cpu_table(results),
            "",
            "*Started*, CPU seconds by process title over the makespan (Ray "
            "titles a worker by what it runs at the moment of reading: `ray::IDLE` "
            "between tasks). Under `ray` the workers' CPU is far above the judging "
            "they report doing (*of which judging*); the rest is not broken down "
            "here: the workers' start-up (importing MGE) falls in the stage, each "
            "L1 task unpickles its arguments, the files' layouts included, and Ray's "
            "task protocol has its own cost:",
            "",
            *started_lines(results),
            "",
            PATH,
            "",
            path_table(results),
            "",
            "### Scheduler peers",
            "",
            PEERS,
            "",
            peer_table(results),
            "",
        ]
    )


MODEL_METHOD = """\
A model (`bench/scheduler/_model.py`), not a measurement: where a plan of 10k to
1M atoms stops being CPU-bound on N nodes, from the CPU per atom measured under
`ray` in the run above (pooled over its three graphs). It splits that CPU by where
it can run: the *driver* (the engine's process, the single decider: prompts, the
model's bookkeeping, every database write) runs on one core whatever the
cluster; the *database* on the PostgreSQL backends serving the run (taken as one
core: the engine writes through one session); *started* (the L1 tasks and Ray's
own processes) spreads over N nodes of `--node-cores` cores. A run's floor is
max(depth x latency, atoms x latency ÷ calls in flight) for latency and atoms x
CPU per atom ÷ cores for each CPU part; it is CPU-bound when a CPU part is the
larger. The CPU per atom is that of runs that were CPU-bound (50 ms calls, 100 in
flight, on 2 cores), which is the regime at the crossover the model locates;
below the crossover the engine spends more CPU per atom (completions arrive one
at a time, see "Scheduler at other latencies") but has CPU to spare. Not in the
measured figure: a real provider's HTTPS calls in the driver, and L2-L4 tests and
mutation runs (sandboxed Ray tasks that spread over nodes). Produced by the same
command:"""


def _model_section(command: str, cpu: CpuPerAtom, node_cores: int) -> str:
    return "\n".join(
        [
            MODEL_SECTION,
            "",
            MODEL_METHOD,
            "",
            "```",
            command,
            "```",
            "",
            f"Measured under `ray`, CPU ms per atom: driver {cpu.driver_ms:.2f}, "
            f"started {cpu.spread_ms:.2f}, database {cpu.database_ms:.2f}; nodes of "
            f"{node_cores} cores.",
            "",
            model_tables(cpu, node_cores),
            "",
        ]
    )


SWEEP_SECTION = "## Scheduler at other latencies"
SWEEP_METHOD = """\
The wide graph (eager schedule, concurrency 100, `--executor local` with its
validation workers as by default, SQLite as `mge.db.make_engine` sets it up) at
other mean replay latencies, each against its latency bound (sum of that run's
latencies / 100). It shows the latency from which the engine's own work per atom
stops mattering: with real models (seconds per call) the run is far inside it.
The engine's CPU time grows with the latency although the work is the same: on a
loop with time to spare, completions and verdicts arrive one per loop turn
instead of in batches, which costs CPU but no time. What is left above the bound
at 400 ms is mostly the start (a hundred calls begin together) and the tail (the
last calls' lognormal latencies), which no schedule that does not know the
latencies in advance avoids. Worker CPU is the time the validation workers spent
judging, as they report it. Produced by:"""


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
            f"| {latency:g} ms | {bound:.2f} s "
            f"| {run.generate_seconds:.2f} s ({run.generate_seconds / bound:.2f}x) "
            f"| {run.driver_cpu_seconds:.2f} | {run.judged_cpu_seconds:.2f} |"
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
        command = (
            f".venv/bin/python -m bench.scheduler --sweep {args.sweep} "
            f"--modules {args.modules} --per-module {args.per_module} --write-docs"
        )
        write_table_section(SWEEP_SECTION, SWEEP_METHOD, command, table)
    return 0


CALLS_SECTION = "## Scheduler: the model's calls under ray"
CALLS_METHOD = """\
How the model's calls reach their actor under `ray` (`bench/scheduler/_calls.py`):
one actor call per model call, as MGE sent them before, against MGE's bundles
(`ActorModel` over `ModelActor`: the calls of one loop turn in one `submit`, one
`collect` out per actor), alternated on one cluster of every core. The model
sleeps for replay's latency draw (mean 50 ms) and answers at once; 100 calls in
flight, each request with a 3,000-character prompt. *Driver CPU* is this
process's, *actor CPU* the actor process's; *back after its latency* is how long
after its sleep ended a call's answer reached the coroutine awaiting it. Produced
by:"""


def _calls(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("ray") is None:
        print("bench.scheduler: Ray is not installed (pip install 'mge[ray]'); skipped")
        return 0
    runs = run_calls(
        args.calls, concurrency=CONCURRENCY, latency_ms=LATENCY_MS, prompt_bytes=3000, cpus=CORES
    )
    table = calls_table(runs)
    print(table)
    if args.write_docs:
        command = f".venv/bin/python -m bench.scheduler --calls {args.calls} --write-docs"
        write_table_section(CALLS_SECTION, CALLS_METHOD, command, table)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scheduler")
    parser.add_argument("--modules", type=int, default=150)
    parser.add_argument("--per-module", type=int, default=20, help="functions per module")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--executors", default="local,ray")
    parser.add_argument("--no-peers", action="store_true", help="no Dask or Ray peers")
    parser.add_argument(
        "--old-dask", default="wide", help="shapes to run the old Dask setup on ('' for none)"
    )
    parser.add_argument("--node-cores", type=int, default=CORES, help="cores per node in the model")
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    parser.add_argument(
        "--sweep", default="", help="only: the wide graph, eager, at these latencies (ms, a,b)"
    )
    parser.add_argument(
        "--calls", type=int, default=0, help="only: time this many model calls under ray"
    )
    parser.add_argument(
        "--alternate",
        default="",
        help="only: the engine of these commits (a,b), run in turn round after round",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --alternate")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each graph and executor; the median counts"
    )
    parser.add_argument("--one-run", default="", help=argparse.SUPPRESS)  # shape:executor
    given = list(argv or [])
    args, _unknown = parser.parse_known_args(given)
    if args.repeat < 1 or args.rounds < 1:
        print("bench.scheduler: --repeat and --rounds take a whole number of 1 or more")
        return 2
    if args.sweep:
        return _sweep(args)
    if args.calls:
        return _calls(args)
    shapes = [s for s in args.shapes.split(",") if s]
    executors = [e for e in args.executors.split(",") if e]
    if "ray" in executors and importlib.util.find_spec("ray") is None:
        print("bench.scheduler: Ray is not installed (pip install 'mge[ray]'); local only")
        executors = [e for e in executors if e != "ray"]
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("MGE_RAY_NUM_CPUS", str(CORES))
    if args.one_run or args.alternate:
        from bench.scheduler import _alternate  # it builds on this module

        if args.one_run:
            return _alternate.print_one_run(args)
        return _alternate.alternate(args, shapes, executors)
    old_dask = {s for s in args.old_dask.split(",") if s}
    began = time.perf_counter()
    load_before = os.getloadavg()
    try:
        database = Database()
        database.fresh()
    except Exception as error:  # no PostgreSQL server: nothing to measure against
        print(f"bench.scheduler: PostgreSQL unavailable ({type(error).__name__}); skipped")
        return 0
    results: list[ShapeResult] = []
    try:
        with tempfile.TemporaryDirectory(prefix="mge-bench-scheduler-") as scratch:
            for number, shape in enumerate(shapes):
                # Alternated, so drift in the machine's load falls on both executors.
                order = executors if number % 2 == 0 else executors[::-1]
                results.append(
                    measure_shape(
                        shape,
                        Path(scratch),
                        database,
                        modules=args.modules,
                        per_module=args.per_module,
                        executors=order,
                        peers=not args.no_peers,
                        old_dask=shape in old_dask,
                        repeat=args.repeat,
                    )
                )
    finally:
        database.close()
    seconds = time.perf_counter() - began
    load_after = os.getloadavg()
    load = f"{load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end"
    machine = f"{platform.python_implementation()} {platform.python_version()}, "
    machine += f"{platform.machine()}, {CORES} cores"
    command = " ".join([".venv/bin/python -m bench.scheduler", *given])
    body = _section(command, results, seconds, machine, load)
    print(body)
    cpu = cpu_per_atom(results, "ray")
    model = _model_section(command, cpu, args.node_cores) if cpu is not None else ""
    print(model)
    print(f"bench/scheduler took {seconds:.0f} s")
    if args.write_docs:
        write_docs(body)
        if model:
            write_docs(model, MODEL_SECTION, after=SECTION)
        print(f"wrote {DOCS}")
    return 0
