"""The model's calls under `ray`: one actor call per model call (how MGE sent them
before its bundles) against MGE's own bundles (`ActorModel` over `ModelActor`,
`mge.execute._ray_model`), on one cluster, with the same model and requests.

The model sleeps for replay's latency draw of each request (`simulated_latency`)
and answers at once, so what is measured is the calls' own cost: the CPU of this
process (the driver) and of the actor's process, and how long after its latency
each call came back to the coroutine awaiting it (the median). The calls are made
`concurrency` at a time, as the engine makes them; each request carries a prompt of
`prompt_bytes` characters (an atom's prompt is a few kilobytes).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench.scheduler._drive import processes_cpu
from bench.scheduler._peer import start_ray
from mge.llm import ModelRequest, ModelResponse, Purpose
from mge.llm._replay import simulated_latency


@dataclass(frozen=True)
class CallsRun:
    way: str
    calls: int
    seconds: float
    driver_cpu_seconds: float
    actor_cpu_seconds: float
    late_ms: float  # median: back at the caller this long after the call's latency


def _requests(calls: int, prompt_bytes: int) -> list[ModelRequest]:
    filler = "x" * prompt_bytes
    return [
        ModelRequest.single(f"atom {n}: {filler}", purpose=Purpose("atom", f"a{n}"))
        for n in range(calls)
    ]


def run_calls(
    calls: int,
    *,
    concurrency: int,
    latency_ms: float,
    prompt_bytes: int,
    cpus: int,
    rounds: int = 2,
) -> list[CallsRun]:
    """Each way `rounds` times, alternated, on one cluster started here."""
    import ray

    from mge.execute._ray_model import ActorModel, remote_model_actor

    # Defined here so that Ray ships them by value: workers need not import the bench.
    class Sleeping:
        name = "sleeping"
        simulated = True

        async def complete(self, request: ModelRequest) -> ModelResponse:
            seconds = simulated_latency(latency_ms, 0, request.purpose)
            await asyncio.sleep(seconds)
            return ModelResponse(
                text="pass\n",
                input_tokens=1,
                output_tokens=1,
                cached_tokens=0,
                model=self.name,
                latency_seconds=seconds,
                cost_usd=0.0,
            )

        async def aclose(self) -> None:
            return None

    class Description:
        def build(self) -> Sleeping:
            return Sleeping()

    class PerCall:
        """A call per model call: `complete` awaited by the driver for each."""

        def __init__(self, description: Description) -> None:
            self.model = description.build()

        def ready(self) -> int:
            return os.getpid()

        async def complete(self, request: ModelRequest) -> ModelResponse:
            return await self.model.complete(request)

    requests = _requests(calls, prompt_bytes)
    latency = [simulated_latency(latency_ms, 0, r.purpose) for r in requests]
    options: dict[str, Any] = {"num_cpus": 0, "max_concurrency": max(2 * concurrency, 16)}
    start_ray(cpus)
    try:
        per_call = ray.remote(PerCall).options(**options).remote(Description())
        bundled = remote_model_actor.options(**options).remote(Description(), [])
        pids = {
            "one actor call each": ray.get(per_call.ready.remote()),
            "bundles (ActorModel)": ray.get(bundled.ready.remote()),
        }

        async def by_call(request: ModelRequest) -> Any:
            return await asyncio.wrap_future(per_call.complete.remote(request).future())

        model = ActorModel(Sleeping(), [bundled], lambda _cache: None)  # type: ignore[arg-type]
        ways = {"one actor call each": by_call, "bundles (ActorModel)": model.complete}
        runs: list[CallsRun] = []
        for _ in range(rounds):
            for way, call in ways.items():
                runs.append(_timed(way, call, requests, latency, concurrency, pids[way]))
        return runs
    finally:
        ray.shutdown()


def _timed(
    way: str,
    call: Any,
    requests: list[ModelRequest],
    latency: list[float],
    concurrency: int,
    pid: int,
) -> CallsRun:
    late: list[float] = []

    async def all_calls() -> None:
        slots = asyncio.Semaphore(concurrency)

        async def one(n: int) -> None:
            async with slots:
                began = time.perf_counter()
                await call(requests[n])
                late.append(time.perf_counter() - began - latency[n])

        await asyncio.gather(*(one(n) for n in range(len(requests))))

    actor_before = processes_cpu([pid]).get(pid, 0.0)
    driver_before = time.process_time()
    began = time.perf_counter()
    asyncio.run(all_calls())
    seconds = time.perf_counter() - began
    return CallsRun(
        way=way,
        calls=len(requests),
        seconds=seconds,
        driver_cpu_seconds=time.process_time() - driver_before,
        actor_cpu_seconds=processes_cpu([pid]).get(pid, 0.0) - actor_before,
        late_ms=1000 * statistics.median(late),
    )


def calls_table(runs: list[CallsRun]) -> str:
    lines = [
        "| way | calls | wall | driver CPU | actor CPU | back after its latency (median) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| {run.way} | {run.calls} | {run.seconds:.2f} s | {run.driver_cpu_seconds:.2f} s "
            f"| {run.actor_cpu_seconds:.2f} s | {run.late_ms:.1f} ms |"
        )
    return "\n".join(lines)
