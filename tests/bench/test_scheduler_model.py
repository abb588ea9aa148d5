"""The scheduler benchmark's arithmetic: the bound a run is judged by, the CPU it is
charged with, and the model of where a plan stops being CPU-bound.

No run and no timing here: the figures are made up so that each case checks a
term that a wrong formula would get wrong.
"""

from __future__ import annotations

import math

import pytest
from bench.scheduler._drive import LAST_ATOM, EngineRun, Mark, StageClock, growth
from bench.scheduler._model import (
    CpuPerAtom,
    cpu_bound_from,
    floors,
    machine_bound,
    nodes_that_help,
)
from bench.scheduler._peer import Work
from tests.bench.conftest import engine_run


def test_the_bound_is_the_largest_of_its_three_terms() -> None:
    # 12 s of CPU on 2 cores: 6 s, above the path (1 s) and 100 s of latency / 100.
    bound = machine_bound(1.0, 100.0, 100, 12.0, 2)
    assert bound.seconds == pytest.approx(6.0)
    assert bound.binding == "CPU ÷ cores"
    # Fewer cores left by other work: the CPU term grows with it.
    assert machine_bound(1.0, 100.0, 100, 12.0, 1.5).seconds == pytest.approx(8.0)
    path = machine_bound(9.0, 100.0, 100, 12.0, 2)
    assert (path.seconds, path.binding) == (9.0, "critical path")
    latency = machine_bound(1.0, 1000.0, 100, 12.0, 2)
    assert (latency.seconds, latency.binding) == (10.0, "latency ÷ concurrency")


def test_a_bound_needs_cores_and_slots() -> None:
    with pytest.raises(ValueError):
        machine_bound(1.0, 1.0, 0, 1.0, 2)
    with pytest.raises(ValueError):
        machine_bound(1.0, 1.0, 1, 1.0, 0)


def test_critical_path_and_latency_bound_of_a_small_graph() -> None:
    # a -> c, b -> c, c -> d; a is the slow branch.
    work = Work(
        order=["a", "b", "c", "d"],
        prerequisites={"a": [], "b": [], "c": ["a", "b"], "d": ["c"]},
        seconds={"a": 3.0, "b": 1.0, "c": 2.0, "d": 0.5},
    )
    assert work.critical_path_seconds() == pytest.approx(5.5)
    assert work.critical_path_atoms() == 3
    assert work.latency_seconds() == pytest.approx(6.5)
    assert work.lower_bound(1) == pytest.approx(6.5)
    assert work.lower_bound(4) == pytest.approx(5.5)


def _run(*, machine_busy_seconds: float = 17.0, stolen_seconds: float = 0.0) -> EngineRun:
    return engine_run(machine_busy_seconds=machine_busy_seconds, stolen_seconds=stolen_seconds)


def test_a_run_is_charged_with_every_process_it_used_and_the_rest_is_other_work() -> None:
    run = _run()
    assert run.cpu_seconds == pytest.approx(12.0)
    assert run.per_atom_ms(run.cpu_seconds) == pytest.approx(3.0)
    # The machine was busy 17 s in 10 s; 5 s of it was not the run's: half a core.
    assert run.other_cpu_seconds == pytest.approx(5.0)
    assert run.cores(run.cpu_seconds) == pytest.approx(1.2)
    assert run.cores(run.other_cpu_seconds) == pytest.approx(0.5)
    # A busy time below the run's own CPU (processes missed between samples) is no
    # negative other work.
    assert _run(machine_busy_seconds=11.0).other_cpu_seconds == 0.0


def test_cores_the_hypervisor_took_are_not_available_to_the_run() -> None:
    # 3 core-seconds stolen over a 10 s stage: 0.3 of a core, on average, ran nothing.
    run = _run(stolen_seconds=3.0)
    assert run.cores_available(2) == pytest.approx(1.7)
    assert _run().cores_available(2) == pytest.approx(2.0)
    # The CPU term of the bound grows with what was taken: 12 s over 1.7 cores.
    bound = machine_bound(1.0, 10.0, 100, run.cpu_seconds, run.cores_available(2))
    assert bound.cpu_per_core == pytest.approx(12.0 / 1.7)
    # A host that took nearly everything still leaves a positive core count.
    assert _run(stolen_seconds=25.0).cores_available(2) == pytest.approx(0.2)


def test_cpu_growth_counts_processes_born_within_and_ignores_those_gone() -> None:
    before = {1: 10.0, 2: 4.0, 3: 1.0}
    after = {1: 12.5, 2: 4.0, 4: 0.75}  # 3 exited, 4 was born in between
    assert growth(before, after) == pytest.approx(3.25)


CPU = CpuPerAtom(driver_ms=2.0, spread_ms=6.0, database_ms=0.5)


def test_floors_charge_the_driver_one_core_and_spread_the_rest_over_the_nodes() -> None:
    one = floors(100_000, 1.0, 1, CPU, cores_per_node=2, concurrency=1000)
    assert one.latency == pytest.approx(100.0)
    assert one.driver == pytest.approx(200.0)
    assert one.database == pytest.approx(50.0)
    assert one.spread == pytest.approx(300.0)
    assert (one.seconds, one.binding, one.cpu_bound) == (300.0, "cluster", True)
    many = floors(100_000, 1.0, 16, CPU, cores_per_node=2, concurrency=1000)
    assert many.driver == one.driver  # no node takes the driver's share
    assert many.spread == pytest.approx(300.0 / 16)
    assert (many.seconds, many.binding) == (200.0, "driver")


def test_a_slow_model_or_few_calls_in_flight_is_latency_bound() -> None:
    slow = floors(100_000, 20.0, 4, CPU, cores_per_node=2, concurrency=1000)
    assert slow.latency == pytest.approx(2000.0)
    assert not slow.cpu_bound and slow.binding == "latency"
    # A narrow plan: its depth, not its width, is the latency floor.
    deep = floors(1000, 1.0, 4, CPU, cores_per_node=2, concurrency=1000, depth=50)
    assert deep.latency == pytest.approx(50.0)


def test_runs_turn_cpu_bound_at_the_calls_in_flight_the_model_names() -> None:
    for nodes in (1, 4, 64):
        for latency in (1.0, 5.0, 20.0):
            crossover = cpu_bound_from(latency, nodes, CPU, cores_per_node=2)
            below = floors(
                10**6, latency, nodes, CPU, cores_per_node=2, concurrency=math.floor(crossover)
            )
            above = floors(
                10**6, latency, nodes, CPU, cores_per_node=2, concurrency=math.ceil(crossover) + 1
            )
            assert not below.cpu_bound
            assert above.cpu_bound
    # On one 2-core node the cluster's 3 ms per core per atom decide; on many
    # nodes the driver's 2 ms does: 1 s / 2 ms = 500 calls in flight.
    assert cpu_bound_from(1.0, 1, CPU, cores_per_node=2) == pytest.approx(1000 / 3)
    assert cpu_bound_from(1.0, 64, CPU, cores_per_node=2) == pytest.approx(500.0)


def test_nodes_stop_helping_once_the_driver_is_the_larger_share() -> None:
    enough = nodes_that_help(CPU, cores_per_node=2)
    assert enough == 2  # 6 ms over 2 nodes x 2 cores = 1.5 ms < the driver's 2 ms
    at = floors(10**6, 1.0, enough, CPU, cores_per_node=2, concurrency=10_000)
    fewer = floors(10**6, 1.0, enough - 1, CPU, cores_per_node=2, concurrency=10_000)
    more = floors(10**6, 1.0, 64, CPU, cores_per_node=2, concurrency=10_000)
    assert fewer.seconds > at.seconds == more.seconds
    with pytest.raises(ValueError):
        nodes_that_help(CpuPerAtom(0.0, 1.0, 0.0), cores_per_node=2)


def test_the_dask_peer_keys_group_and_keep_every_edge() -> None:
    from bench.scheduler._peer import _dask_graph, _sleep

    work = Work(
        order=["m.py::a#0", "m.py::b#0", "m.py::c#0"],
        prerequisites={"m.py::a#0": [], "m.py::b#0": [], "m.py::c#0": ["m.py::a#0", "m.py::b#0"]},
        seconds={"m.py::a#0": 0.1, "m.py::b#0": 0.2, "m.py::c#0": 0.3},
    )
    graph, keys = _dask_graph(work, _sleep)
    assert keys == ["atom-0", "atom-1", "atom-2"]
    assert graph["atom-2"] == (_sleep, 0.3, "atom-0", "atom-1")
    assert graph["atom-0"] == (_sleep, 0.1)


class _CountingClock(StageClock):
    """A stage clock whose marks are numbered, not read from the machine."""

    def mark(self) -> Mark:
        return Mark(wall=float(len(self.marks)), driver=0.0, children={}, database={}, machine=0.0)


def _drive(clock: StageClock, events: list[tuple[str, dict[str, object]]]) -> None:
    for kind, data in events:
        clock.event(kind, **data)


def test_the_makespan_ends_at_the_last_atom_and_the_flush_is_timed_apart() -> None:
    clock = _CountingClock()
    _drive(
        clock,
        [
            ("stage", {"name": "generate", "atoms": 4, "done": 1}),  # mark 0
            ("atom_done", {"atom": "a"}),
            ("atom_done", {"atom": "b"}),
            ("atom_done", {"atom": "c"}),  # the third of three: mark 1
            ("stage", {"name": "validate"}),  # mark 2
        ],
    )
    ended = clock.mark()
    start, stop, flush = clock.makespan(ended)
    assert (start.wall, stop.wall) == (0.0, 1.0)
    assert stop is clock.marks[LAST_ATOM]
    assert flush == pytest.approx(1.0)


def test_a_stage_without_one_last_atom_runs_to_its_end() -> None:
    # An atom done twice (a second pass) leaves no last atom to stop at.
    clock = _CountingClock()
    _drive(
        clock,
        [
            ("stage", {"name": "generate", "atoms": 2, "done": 0}),
            ("atom_done", {"atom": "a"}),
            ("atom_done", {"atom": "b"}),
            ("atom_done", {"atom": "a"}),
            ("stage", {"name": "validate"}),
        ],
    )
    _start, stop, flush = clock.makespan(clock.mark())
    assert stop is clock.marks["validate"] and flush is None
    # Blocked atoms never report done: the count never reaches zero.
    blocked = _CountingClock()
    _drive(
        blocked,
        [
            ("stage", {"name": "generate", "atoms": 3, "done": 0}),
            ("atom_done", {"atom": "a"}),
            ("stage", {"name": "validate"}),
        ],
    )
    assert blocked.makespan(blocked.mark())[1] is blocked.marks["validate"]
    # A run stopped before the next stage: the stage ends where the run ended.
    stopped = _CountingClock()
    _drive(stopped, [("stage", {"name": "generate", "atoms": 1, "done": 0})])
    _drive(stopped, [("atom_done", {"atom": "a"})])
    ended = stopped.mark()
    assert stopped.makespan(ended) == (stopped.marks["generate"], ended, None)
