"""The model's calls under the `ray` executor: async actors that build the model
from its description and make its calls (`ModelActor`), the driver's stand-in that
sends them (`ActorModel`), and how a failure on the cluster is reported here.

Part of the `ray` executor (see `mge.execute._ray`, which serves the model through
`serve_model`); like it, the only kind of module that imports Ray.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import os
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import ray
import ray.exceptions

from mge.errors import InfrastructureFailure
from mge.llm import CachingModel, Model, ModelDescription, ModelRequest, ModelResponse
from mge.llm import worst_case_usd as _worst_case_usd

#: How often Ray runs a task again after its worker or node died.
MAX_RETRIES = 3
#: How long a lost model actor's replacement may take to start (`ActorModel._replace`).
REPLACE_SECONDS = 60.0


#: An attribute value a failure carries back from an actor (see `_Failure`).
_Plain = str | int | float | bool | None


@dataclasses.dataclass(frozen=True)
class _Failure:
    """An exception raised by the model in an actor, as plain data: MGE's errors
    take keyword-only arguments (`TransportError(..., retries=)`) that pickling an
    exception does not restore, so the driver rebuilds it (`rebuilt`)."""

    module: str
    name: str
    message: str
    attributes: dict[str, _Plain]


#: A call's outcome as an actor reports it: the driver's number for the call, then the
#: response, or the failure, or neither (the call was cancelled).
Outcome = tuple[int, ModelResponse | None, _Failure | None]


def portable(error: BaseException) -> _Failure:
    attributes = {
        key: value
        for key, value in vars(error).items()
        if isinstance(value, str | int | float | bool) or value is None
    }
    return _Failure(type(error).__module__, type(error).__qualname__, str(error), attributes)


def rebuilt(failure: _Failure) -> BaseException:
    """The exception the model raised in the actor, as it would have been raised here."""
    kind: object = None
    with contextlib.suppress(Exception):
        kind = importlib.import_module(failure.module)
        for part in failure.name.split("."):
            kind = getattr(kind, part)
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        return RuntimeError(f"{failure.name}: {failure.message}")
    error = kind.__new__(kind)
    Exception.__init__(error, failure.message)
    error.__dict__.update(failure.attributes)
    return error


class ModelActor:
    """One model, built from its description in the actor's process. Calls arrive
    in bundles (`submit`) and their outcomes leave in bundles (`collect`); each call
    is an asyncio task here, so all of them wait on the provider at once (see
    `ActorModel` for why bundles)."""

    def __init__(self, description: ModelDescription, cache: list[str]) -> None:
        self.model = description.build()
        # The prompt-cache entries the driver has been told of (see `ActorModel`).
        self.reported: set[str] = set()
        self.restore(cache)
        self._running: dict[int, asyncio.Task[None]] = {}
        self._finished: list[Outcome] = []
        self._arrived = asyncio.Event()

    def ready(self) -> int:
        return os.getpid()

    def restore(self, cache: list[str]) -> None:
        self.reported.update(cache)
        if cache and isinstance(self.model, CachingModel):
            self.model.restore_cache(list(cache))

    async def submit(self, calls: list[tuple[int, ModelRequest]]) -> None:
        """Start these calls, each numbered by the driver; their outcomes wait for
        `collect`."""
        for number, request in calls:
            self._running[number] = asyncio.ensure_future(self._answer(number, request))

    async def _answer(self, number: int, request: ModelRequest) -> None:
        outcome: Outcome
        try:
            outcome = (number, await self.model.complete(request), None)
        except asyncio.CancelledError:
            outcome = (number, None, None)  # cancelled by the driver: it waits for nothing
        except Exception as error:
            outcome = (number, None, portable(error))
        finally:
            self._running.pop(number, None)
        self._finished.append(outcome)
        self._arrived.set()

    async def collect(self) -> tuple[list[Outcome], list[str], int]:
        """Every outcome since the last collect, waiting for one if there is none;
        with the prompt-cache entries added since the driver was last told, and the
        process that made the calls."""
        while not self._finished:
            self._arrived.clear()
            await self._arrived.wait()
        finished, self._finished = self._finished, []
        return finished, self._cached(), os.getpid()

    async def cancel(self, numbers: list[int]) -> None:
        """Cancel these calls if they are still running (their outcome says so)."""
        for number in numbers:
            task = self._running.get(number)
            if task is not None:
                task.cancel()

    def _cached(self) -> list[str]:
        if not isinstance(self.model, CachingModel):
            return []
        state = self.model.cache_state()
        if len(state) == len(self.reported):
            return []
        added = [entry for entry in state if entry not in self.reported]
        self.reported.update(added)
        return added

    async def aclose(self) -> None:
        await self.model.aclose()


remote_model_actor = ray.remote(ModelActor)


def infrastructure_failure(what: str, error: BaseException) -> InfrastructureFailure:
    kind = type(error).__name__
    first = str(error).strip().splitlines()[0] if str(error).strip() else kind
    return InfrastructureFailure(
        f"infrastructure: the Ray task {what} failed on the cluster, not on the code, "
        f"after {MAX_RETRIES} retries ({kind}: {first[:200]}); `mge resume` goes on"
    )


def unwrapped(what: str, error: BaseException) -> BaseException:
    """What a failed task's error means here: the code's own exception (our worker
    code raised it: the same as a local call would), or infrastructure."""
    if isinstance(error, ray.exceptions.RayTaskError):
        cause: object = getattr(error, "cause", None)
        return cause if isinstance(cause, BaseException) else error
    return infrastructure_failure(what, error)


def actor_died(error: BaseException) -> InfrastructureFailure:
    kind = type(error).__name__
    first = str(error).strip().splitlines()[0] if str(error).strip() else kind
    return InfrastructureFailure(
        "infrastructure: the Ray actor making the model's calls is gone "
        f"({kind}: {first[:200]}); `mge resume` goes on"
    )


#: Starts one more model actor, given the prompt-cache entries it starts with.
Spawn = Callable[[list[str]], Any]


@dataclasses.dataclass
class _Call:
    """A call the driver waits for: where it goes and how often it was sent."""

    request: ModelRequest
    slot: int
    answer: asyncio.Future[tuple[ModelResponse | None, _Failure | None]]
    sent: int = 0


class ActorModel:
    """The driver's stand-in for a model served by `ModelActor`s: the same `Model`
    protocol, `complete` made by an actor. `name`, `simulated` and the worst case a
    call's reservation holds come from `local`, the same model built in the driver
    (the budget is the scheduler's). A model whose prompt cache lives in its process
    (replay) gets `CachingActorModel`, whose cache state the driver mirrors from the
    entries each collect reports, so the run stores and restores it as it always has.

    Calls travel in bundles. An actor call per model call cost the driver and the
    actor each close to a millisecond of CPU, and with a hundred calls in flight
    each call came back tens of milliseconds after its latency (docs/BENCHMARKS.md,
    "the model's calls under ray"). So the calls made
    in one turn of the event loop leave together (`submit`), and one `collect` per
    actor is always out while calls are open: it returns as soon as any outcome is
    there, with every outcome there by then, and the next goes at once.

    An actor lost with its node is replaced here (`spawn`, with the cache mirrored
    so far) and the calls it had open are sent again, up to `MAX_RETRIES` times
    each: a model call is a request for an answer, and the answers a run stores are
    the ones that came back. The figures are counted from the answers that came
    back, so a lost actor takes none of them with it."""

    def __init__(self, local: Model, actors: Sequence[Any], spawn: Spawn) -> None:
        self.local = local
        self.actors = list(actors)
        self.spawn = spawn
        self.calls = 0
        self.replaced = 0
        self.collects = 0
        self.answered: dict[str, int] = {}
        self.pids: set[int] = set()
        self.input_tokens = 0
        self._cache: set[str] = set()
        self._open: dict[int, _Call] = {}
        self._open_by_slot: dict[int, set[int]] = {}
        self._unsent: dict[int, list[int]] = {}
        self._flushing = False
        self._numbered = 0
        self._polls: dict[int, asyncio.Task[None]] = {}

    @property
    def name(self) -> str:
        return self.local.name

    @property
    def simulated(self) -> bool:
        return self.local.simulated

    def worst_case_usd(self, request: ModelRequest) -> float:
        return _worst_case_usd(self.local, request)

    def _slot_for(self, request: ModelRequest) -> int:
        # One prefix, one actor: its prompt-cache entry is written there once.
        prefix = request.cacheable_prefix.encode("utf-8", "surrogatepass")
        return zlib.crc32(prefix) % len(self.actors)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1
        self._numbered += 1
        number = self._numbered
        call = _Call(request, self._slot_for(request), asyncio.get_running_loop().create_future())
        self._open[number] = call
        self._open_by_slot.setdefault(call.slot, set()).add(number)
        self._send_soon(number)
        try:
            response, failure = await call.answer
        except asyncio.CancelledError:
            if self._close(number) is not None and call.sent:
                self._watch(self.actors[call.slot].cancel.remote([number]), [])
            raise
        kind = request.purpose.kind if request.purpose is not None else "other"
        self.answered[kind] = self.answered.get(kind, 0) + 1
        if failure is not None:
            raise rebuilt(failure)
        assert response is not None
        reply: ModelResponse = response
        self.input_tokens += reply.input_tokens
        return reply

    def _close(self, number: int) -> _Call | None:
        call = self._open.pop(number, None)
        if call is not None:
            self._open_by_slot[call.slot].discard(number)
        return call

    def _settle(
        self, number: int, outcome: tuple[ModelResponse | None, _Failure | None] | BaseException
    ) -> None:
        """Close `number`, if still open, with its answer or with an error."""
        call = self._close(number)
        if call is None or call.answer.done():
            return
        if isinstance(outcome, BaseException):
            call.answer.set_exception(outcome)
        else:
            call.answer.set_result(outcome)

    def _send_soon(self, number: int) -> None:
        """`number` leaves with the other calls made in this turn of the loop."""
        self._unsent.setdefault(self._open[number].slot, []).append(number)
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().call_soon(self._send)

    def _send(self) -> None:
        self._flushing = False
        unsent, self._unsent = self._unsent, {}
        for slot, numbers in unsent.items():
            # A call sent again after a loss may also have been waiting to leave.
            bundle = [(n, self._open[n]) for n in dict.fromkeys(numbers) if n in self._open]
            if not bundle:
                continue
            for _, call in bundle:
                call.sent += 1
            submitted = self.actors[slot].submit.remote([(n, c.request) for n, c in bundle])
            self._watch(submitted, [n for n, _ in bundle])
            poll = self._polls.get(slot)
            if poll is None or poll.done():
                self._polls[slot] = asyncio.ensure_future(self._collect(slot))

    def _watch(self, ref: Any, numbers: list[int]) -> None:
        """Nobody awaits a submit or a cancel, so its failure is looked at here: a
        lost actor is the collect's to handle (it sends the calls again); any other
        failure is those calls' answer."""

        def seen(done: asyncio.Future[Any]) -> None:
            error = None if done.cancelled() else done.exception()
            if error is None or isinstance(error, ray.exceptions.RayActorError):
                return
            failure = unwrapped("calling the model", error)
            for number in numbers:
                self._settle(number, failure)

        asyncio.wrap_future(ref.future()).add_done_callback(seen)

    async def _collect(self, slot: int) -> None:
        """Take the outcomes of `slot`'s actor while it has calls open."""
        try:
            while self._open_by_slot.get(slot):
                actor = self.actors[slot]
                try:
                    collected = await asyncio.wrap_future(actor.collect.remote().future())
                except ray.exceptions.RayActorError as error:
                    await self._send_again(slot, actor, error)
                    continue
                except ray.exceptions.RayError as error:
                    self._fail(slot, unwrapped("calling the model", error))
                    return
                self._answer(collected)
        except Exception as error:  # never leave a call waiting for a loop that ended
            self._fail(slot, error)

    def _answer(self, collected: tuple[list[Outcome], list[str], int]) -> None:
        outcomes, cached, pid = collected
        self.collects += 1
        self.pids.add(pid)
        self._cache.update(cached)
        for number, response, failure in outcomes:
            self._settle(number, (response, failure))

    async def _send_again(self, slot: int, lost: Any, error: BaseException) -> None:
        """The actor of `slot` is gone. A call it had open that was sent `MAX_RETRIES`
        + 1 times fails as infrastructure; a new actor takes the others."""
        for number in sorted(self._open_by_slot.get(slot, ())):
            if self._open[number].sent > MAX_RETRIES:
                self._settle(number, actor_died(error))
        if not self._open_by_slot.get(slot):
            return
        try:
            await self._replace(slot, lost)
        except InfrastructureFailure as failure:
            self._fail(slot, failure)
            return
        for number in sorted(self._open_by_slot.get(slot, ())):
            self._send_soon(number)

    def _fail(self, slot: int, error: BaseException) -> None:
        for number in list(self._open_by_slot.get(slot, ())):
            self._settle(number, error)

    async def _replace(self, slot: int, lost: Any) -> None:
        """A new actor in `slot`.

        A node killed under its actor is declared dead only after missed
        heartbeats; until then the cluster may place the new actor on it too, and
        it dies while starting. So a replacement is tried again, with growing
        pauses, for up to `REPLACE_SECONDS` before the loss counts as
        infrastructure."""
        if self.actors[slot] is not lost:
            return
        deadline = time.monotonic() + REPLACE_SECONDS
        pause = 0.5
        while True:
            actor = self.spawn(sorted(self._cache))
            left = deadline - time.monotonic()
            try:
                ready = asyncio.wrap_future(actor.ready.remote().future())
                await asyncio.wait_for(ready, timeout=max(left, 1.0))
                break
            except (ray.exceptions.RayActorError, TimeoutError) as error:
                with contextlib.suppress(Exception):
                    ray.kill(actor)
                if time.monotonic() + pause >= deadline:
                    raise actor_died(error) from None
                await asyncio.sleep(pause)
                pause = min(2 * pause, 8.0)
        self.actors[slot] = actor
        self.replaced += 1

    def figures(self) -> dict[str, Any]:
        return {
            "model_actors": len(self.actors),
            "model_actor_pids": sorted(self.pids),
            "model_actors_replaced": self.replaced,
            "model_calls": dict(self.answered),
            "model_input_tokens": self.input_tokens,
            "model_calls_sent": self.calls,
            "model_collects": self.collects,
        }

    async def aclose(self) -> None:
        for poll in self._polls.values():
            poll.cancel()
        closing = [asyncio.wrap_future(actor.aclose.remote().future()) for actor in self.actors]
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), timeout=30)
        await self.local.aclose()


class CachingActorModel(ActorModel):
    """An `ActorModel` of a `CachingModel` (see `ActorModel`)."""

    def __init__(
        self, local: Model, actors: Sequence[Any], spawn: Spawn, cache: Sequence[str]
    ) -> None:
        super().__init__(local, actors, spawn)
        self._cache.update(cache)

    def cache_state(self) -> list[str]:
        return sorted(self._cache)

    def restore_cache(self, state: list[str]) -> None:
        self._cache.update(state)
        ray.get([actor.restore.remote(list(state)) for actor in self.actors])
