"""The arithmetic of the scheduler benchmark: the bound a run is judged by, and the
model of where a plan stops being CPU-bound.

Pure functions of measured figures, so tests can check them without a run.

**The bound.** No schedule finishes a run sooner than any of

- the latency-weighted critical path (the longest chain of model calls),
- the sum of all latencies ÷ the calls allowed in flight (`concurrency`),
- the CPU the run cost ÷ the cores it had.

**The model.** A run of `atoms` atoms at `latency` seconds per model call, with
`concurrency` calls in flight on a graph `depth` atoms deep, cannot beat its
latency floor, max(depth x latency, atoms x latency ÷ concurrency). Its CPU floors,
from the CPU measured per atom:

- the driver: the engine's own process is the single decider (prompts, the
  model's bookkeeping, every database write); one process, one core, whatever the
  cluster;
- the database: the PostgreSQL backends serving the run, `database_cores` of them
  busy at once (the engine writes through one session: 1);
- what spreads: the L1 tasks and Ray's own processes, over nodes x cores per node.

The run is CPU-bound when a CPU floor exceeds the latency floor. Since both grow
with the atoms, what decides is the calls in flight: a run is CPU-bound from
latency ÷ (largest CPU per atom on one core) calls in flight (`cpu_bound_from`),
whatever its size; the size decides whether the graph is wide enough to have that
many in flight and how long the run takes there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Bound:
    critical_path: float
    latency_per_slot: float
    cpu_per_core: float

    @property
    def seconds(self) -> float:
        return max(self.critical_path, self.latency_per_slot, self.cpu_per_core)

    @property
    def binding(self) -> str:
        """Which term the bound is."""
        terms = {
            "critical path": self.critical_path,
            "latency ÷ concurrency": self.latency_per_slot,
            "CPU ÷ cores": self.cpu_per_core,
        }
        return max(terms, key=lambda name: terms[name])


def machine_bound(
    critical_path_seconds: float,
    latency_seconds: float,
    concurrency: int,
    cpu_seconds: float,
    cores: float,
) -> Bound:
    """max(latency-weighted critical path, Σ latency ÷ concurrency, CPU ÷ cores)."""
    if concurrency < 1 or cores <= 0:
        raise ValueError("concurrency and cores must be positive")
    return Bound(critical_path_seconds, latency_seconds / concurrency, cpu_seconds / cores)


@dataclass(frozen=True)
class CpuPerAtom:
    """Measured CPU milliseconds per atom, by where the work can run."""

    driver_ms: float
    spread_ms: float
    database_ms: float


@dataclass(frozen=True)
class Floors:
    """Seconds no run can beat, by cause (see the module docstring)."""

    latency: float
    driver: float
    database: float
    spread: float

    @property
    def cpu(self) -> float:
        return max(self.driver, self.database, self.spread)

    @property
    def seconds(self) -> float:
        return max(self.latency, self.cpu)

    @property
    def cpu_bound(self) -> bool:
        return self.cpu > self.latency

    @property
    def binding(self) -> str:
        terms = {
            "latency": self.latency,
            "driver": self.driver,
            "database": self.database,
            "cluster": self.spread,
        }
        return max(terms, key=lambda name: terms[name])


def floors(
    atoms: int,
    latency_seconds: float,
    nodes: int,
    cpu: CpuPerAtom,
    *,
    cores_per_node: int,
    concurrency: int,
    depth: int = 1,
    database_cores: int = 1,
) -> Floors:
    """The floors of a run of `atoms` atoms on `nodes` nodes (module docstring)."""
    if min(atoms, nodes, cores_per_node, concurrency, depth, database_cores) < 1:
        raise ValueError("atoms, nodes, cores, concurrency, depth must be positive")
    return Floors(
        latency=max(depth * latency_seconds, atoms * latency_seconds / concurrency),
        driver=atoms * cpu.driver_ms / 1000,
        database=atoms * cpu.database_ms / 1000 / database_cores,
        spread=atoms * cpu.spread_ms / 1000 / (nodes * cores_per_node),
    )


def cpu_bound_from(
    latency_seconds: float,
    nodes: int,
    cpu: CpuPerAtom,
    *,
    cores_per_node: int,
    database_cores: int = 1,
) -> float:
    """Calls in flight from which a run is CPU-bound: the latency over the largest
    CPU time per atom that one core must give (driver, database, or the cluster's
    share), so the calls come back faster than the CPU can take them."""
    per_atom = max(
        cpu.driver_ms, cpu.database_ms / database_cores, cpu.spread_ms / (nodes * cores_per_node)
    )
    return math.inf if per_atom <= 0 else 1000 * latency_seconds / per_atom


def nodes_that_help(cpu: CpuPerAtom, *, cores_per_node: int, database_cores: int = 1) -> int:
    """The most nodes that still shorten a CPU-bound run: beyond it the cluster's
    share per atom is below the driver's (or the database's), which no node takes."""
    serial = max(cpu.driver_ms, cpu.database_ms / database_cores)
    if serial <= 0:
        raise ValueError("the driver's CPU per atom must be positive")
    return max(1, math.ceil(cpu.spread_ms / (cores_per_node * serial)))
