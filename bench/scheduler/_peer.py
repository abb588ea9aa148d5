"""The same graph on Dask distributed futures, and the lower bound both are judged by.

Every atom of the engine's run sleeps for its replay latency: the replay model
draws it with `simulated_latency(mean, seed, Purpose("atom", id, 1, language))`,
lognormal around the mean and fixed per atom. The bench uses those very draws
for the Dask tasks and for the bound, so all three schedules face the same work.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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

    def lower_bound(self, concurrency: int) -> float:
        """max(critical path, total work / concurrency): no schedule can beat either."""
        return max(self.critical_path_seconds(), sum(self.seconds.values()) / concurrency)


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


def _task(seconds: float, *_inputs: object) -> float:
    time.sleep(seconds)
    return seconds


def run_dask(work: Work, concurrency: int) -> float:
    """Makespan (wall seconds) of the graph as Dask futures on an in-process cluster.

    One worker with `concurrency` threads, so at most that many tasks sleep at once,
    as with the engine's semaphore; each task is submitted with its prerequisites'
    futures as arguments, so Dask starts it when they are done.
    """
    from dask.distributed import Client, LocalCluster, wait

    makespan: float | None = None
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
            began = time.perf_counter()
            futures: dict[str, object] = {}
            for key in work.order:
                inputs: Sequence[object] = [futures[p] for p in work.prerequisites[key]]
                futures[key] = client.submit(_task, work.seconds[key], *inputs, key=key, pure=False)
            wait(list(futures.values()))  # type: ignore[no-untyped-call]
            makespan = time.perf_counter() - began
    except TimeoutError:
        # Closing a client that ran 10,000 futures sometimes outlasts Dask's own 60 s
        # limit; the makespan was measured before that and stands.
        if makespan is None:
            raise
    assert makespan is not None
    return makespan
