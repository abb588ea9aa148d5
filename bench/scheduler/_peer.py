"""The same graph on Dask distributed and on Ray, and the latency bound all are judged by.

Every atom of the engine's run sleeps for its replay latency: the replay model
draws it with `simulated_latency(mean, seed, Purpose("atom", id, 1, language))`,
lognormal around the mean and fixed per atom. The bench uses those very draws
for the peers' tasks and for the bound, so every schedule faces the same work.

The peers are set up as their own documentation recommends for many short tasks
that wait rather than compute (see docs/BENCHMARKS.md, "Scheduler peers"):

- **Dask**: the whole graph handed to the scheduler at once (`Client.get` on a
  task graph, one message, rather than a `Client.submit` per task), on an
  in-process cluster (`processes=False`: nothing to serialise, and sleeping tasks
  hold no GIL) with one worker of `concurrency` slots. Two task kinds: `async def`
  tasks (`asyncio.sleep`), which the worker runs on its event loop, still at most
  `nthreads` at once, and plain functions (`time.sleep`) on the worker's threads.
  `secede`/`rejoin` would not help here: a seceded task frees its slot, so more
  than `concurrency` would sleep at once, which the engine never allows.
- **Ray**: one async actor (`max_concurrency=concurrency`, `num_cpus=0`), each
  atom a method call whose prerequisites are passed as `ObjectRef`s, so Ray starts
  it when they are ready; all calls submitted at once. Ray's own advice for many
  concurrent waits: an async actor rather than a task (a process) per wait.
  *Then a task*: each answer goes on to a task that does nothing, which the
  dependents wait for: the two round trips `--executor ray` makes on every step
  of a chain (the model's actor, then an L1 task), with none of the work.
- Keys Dask can group (`atom-<n>`, see `_dask_graph`).
- The old setup, for the record: one `Client.submit` per task in a loop, each
  with its prerequisites' futures and the atom id as its key, on 100 threads
  (`run_dask_per_submit`).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.scheduler._drive import descendants_cpu, growth
from mge.atomize import atomize_source
from mge.graph import build_graph
from mge.llm import Purpose
from mge.llm._replay import simulated_latency


@dataclass(frozen=True)
class Work:
    """A graph to schedule: atom ids in a topological order, prerequisites, latencies."""

    order: list[str]
    prerequisites: dict[str, list[str]]
    seconds: dict[str, float]

    @property
    def atoms(self) -> int:
        return len(self.order)

    def critical_path_seconds(self) -> float:
        finish: dict[str, float] = {}
        for key in self.order:
            start = max((finish[p] for p in self.prerequisites[key]), default=0.0)
            finish[key] = start + self.seconds[key]
        return max(finish.values(), default=0.0)

    def critical_path_atoms(self) -> int:
        depth: dict[str, int] = {}
        for key in self.order:
            depth[key] = 1 + max((depth[p] for p in self.prerequisites[key]), default=0)
        return max(depth.values(), default=0)

    def latency_seconds(self) -> float:
        return sum(self.seconds.values())

    def lower_bound(self, concurrency: int) -> float:
        """max(critical path, total latency / concurrency): no schedule beats either
        (the machine's term, CPU / cores, is `bench.scheduler.bound`'s)."""
        return max(self.critical_path_seconds(), self.latency_seconds() / concurrency)


def work_of(
    sources: Mapping[str, str], *, latency_ms: float, seed: int = 0, language: str = "python"
) -> Work:
    """The atom graph the engine builds from these reference files, with replay latencies."""
    results = [atomize_source(text.encode(), file) for file, text in sources.items()]
    atoms, analysis = build_graph(results)
    prerequisites: dict[str, list[str]] = {atom.id: [] for atom in atoms}
    dependents: dict[str, list[str]] = {atom.id: [] for atom in atoms}
    for edge in analysis.kept_edges:
        prerequisites[edge.target].append(edge.source)
        dependents[edge.source].append(edge.target)
    # Kahn's order, so every prerequisite comes before its dependents.
    waiting = {key: len(value) for key, value in prerequisites.items()}
    order = [key for key, count in waiting.items() if count == 0]
    for key in order:
        for dependent in dependents[key]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                order.append(dependent)
    if len(order) != len(atoms):
        raise ValueError("the synthetic graph has a cycle")
    seconds = {
        key: simulated_latency(latency_ms, seed, Purpose("atom", key, 1, language)) for key in order
    }
    return Work(order=order, prerequisites=prerequisites, seconds=seconds)


@dataclass(frozen=True)
class PeerRun:
    """Makespan (submit to last result) and the CPU this process and its children
    spent meanwhile."""

    name: str
    seconds: float
    cpu_seconds: float


class _CPU:
    """CPU of this process and everything it started, from `start` to `stop`."""

    def start(self) -> None:
        self.began = time.perf_counter()
        self.driver = time.process_time()
        self.children = descendants_cpu(os.getpid())

    def stop(self, name: str) -> PeerRun:
        seconds = time.perf_counter() - self.began
        cpu = time.process_time() - self.driver
        cpu += growth(self.children, descendants_cpu(os.getpid()))
        return PeerRun(name, seconds, cpu)


def _sleep(seconds: float, *_inputs: object) -> float:
    time.sleep(seconds)
    return seconds


async def _nap(seconds: float, *_inputs: object) -> float:
    await asyncio.sleep(seconds)
    return seconds


def _dask_graph(
    work: Work, function: Callable[..., Any]
) -> tuple[dict[str, tuple[Any, ...]], list[str]]:
    """The graph as Dask's task-graph spec, key -> (function, latency, *prerequisite
    keys), and its keys in order. Keys are `atom-<n>`: Dask groups tasks by the
    prefix of their key (`dask.utils.key_split`), and an atom id
    (`synth/m000.py::f000_0000#0`) has none, so every task would be a task group of
    its own, which costs the scheduler dearly (dask/distributed#8677)."""
    names = {key: f"atom-{number}" for number, key in enumerate(work.order)}
    graph = {
        names[key]: (function, work.seconds[key], *(names[p] for p in work.prerequisites[key]))
        for key in work.order
    }
    return graph, [names[key] for key in work.order]


def _with_dask(concurrency: int, body: Callable[[Any], PeerRun]) -> PeerRun:
    from dask.distributed import Client, LocalCluster

    result: PeerRun | None = None
    try:
        with (
            LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=1,
                threads_per_worker=concurrency,
                processes=False,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,  # type: ignore[no-untyped-call]
        ):
            client.submit(_sleep, 0.0, pure=False).result()  # the worker is up
            result = body(client)
    except TimeoutError:
        # Closing a client that ran 10,000 futures sometimes outlasts Dask's own 60 s
        # limit; the makespan was measured before that and stands.
        if result is None:
            raise
    assert result is not None
    return result


def run_dask(work: Work, concurrency: int, *, coroutines: bool = True) -> PeerRun:
    """The graph on Dask as its documentation recommends (see the module docstring)."""
    from dask.distributed import wait

    name = "Dask, async tasks" if coroutines else "Dask, threads"

    def body(client: Any) -> PeerRun:
        clock = _CPU()
        clock.start()
        graph, keys = _dask_graph(work, _nap if coroutines else _sleep)
        futures = client.get(graph, keys, sync=False)
        wait(futures)  # type: ignore[no-untyped-call]
        return clock.stop(name)

    return _with_dask(concurrency, body)


def run_dask_per_submit(work: Work, concurrency: int) -> PeerRun:
    """The old setup: one `Client.submit` per task, each with its prerequisites'
    futures as arguments, threads sleeping."""
    from dask.distributed import wait

    def body(client: Any) -> PeerRun:
        clock = _CPU()
        clock.start()
        futures: dict[str, object] = {}
        for key in work.order:
            inputs: Sequence[object] = [futures[p] for p in work.prerequisites[key]]
            futures[key] = client.submit(_sleep, work.seconds[key], *inputs, key=key, pure=False)
        wait(list(futures.values()))  # type: ignore[no-untyped-call]
        return clock.stop("Dask, one submit per task (the old setup)")

    return _with_dask(concurrency, body)


def start_ray(cpus: int) -> None:
    """A one-node cluster on this machine: `cpus` CPUs, a small object store, no
    dashboard."""
    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(
        num_cpus=cpus,
        object_store_memory=100 * 1024**2,
        include_dashboard=False,
        log_to_driver=False,
    )


def _answered(answer: float) -> float:
    return answer


def run_ray(work: Work, concurrency: int, *, cpus: int, then_task: bool = False) -> PeerRun:
    """The graph on Ray: one async actor, every atom a method call (see the module
    docstring), on a one-node cluster started here (no dashboard, a small object store).
    With `then_task`, each call's answer goes on to a task (1 CPU, no work) that the
    atom's dependents wait for instead: the two round trips `--executor ray` puts on
    every step of a chain, the model's actor and then L1, with none of the work."""
    import ray

    class Sleeper:
        async def step(self, seconds: float, *_inputs: object) -> float:
            await asyncio.sleep(seconds)
            return seconds

    start_ray(cpus)
    try:
        actor = ray.remote(num_cpus=0, max_concurrency=concurrency)(Sleeper).remote()
        ray.get(actor.step.remote(0.0))  # the actor is up
        task = ray.remote(num_cpus=1)(_answered)
        if then_task:
            ray.get([task.remote(0.0) for _ in range(cpus)])  # its workers are up
        clock = _CPU()
        clock.start()
        refs: dict[str, Any] = {}
        for key in work.order:
            inputs = [refs[p] for p in work.prerequisites[key]]
            refs[key] = actor.step.remote(work.seconds[key], *inputs)
            if then_task:
                refs[key] = task.remote(refs[key])
        ray.get(list(refs.values()))
        return clock.stop("Ray, async actor, then a task" if then_task else "Ray, async actor")
    finally:
        ray.shutdown()
