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
    """One model, built from its description in the actor's process; `complete`
    is async, so up to `max_concurrency` calls wait on the provider at once."""

    def __init__(self, description: ModelDescription, cache: list[str]) -> None:
        self.model = description.build()
        # The prompt-cache entries the driver has been told of (see `ActorModel`).
        self.reported: set[str] = set()
        self.restore(cache)

    def ready(self) -> int:
        return os.getpid()

    def restore(self, cache: list[str]) -> None:
        self.reported.update(cache)
        if cache and isinstance(self.model, CachingModel):
            self.model.restore_cache(list(cache))

    async def complete(
        self, request: ModelRequest
    ) -> tuple[ModelResponse | None, _Failure | None, list[str], int]:
        """The response (or the failure), the prompt-cache entries added since the
        driver was last told, and the process that made the call."""
        try:
            response = await self.model.complete(request)
        except Exception as error:
            return None, portable(error), self._cached(), os.getpid()
        return response, None, self._cached(), os.getpid()

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


class ActorModel:
    """The driver's stand-in for a model served by `ModelActor`s: the same `Model`
    protocol, `complete` made by an actor. `name`, `simulated` and the worst case a
    call's reservation holds come from `local`, the same model built in the driver
    (the budget is the scheduler's). A model whose prompt cache lives in its process
    (replay) gets `CachingActorModel`, whose cache state the driver mirrors from the
    entries each call reports, so the run stores and restores it as it always has.

    An actor lost with its node is replaced here (`spawn`, with the cache mirrored
    so far) and the calls it had in flight are sent again, up to `MAX_RETRIES`
    times each: a model call is a request for an answer, and the answers a run
    stores are the ones that came back. The figures are counted from the answers
    that came back, so a lost actor takes none of them with it."""

    def __init__(self, local: Model, actors: Sequence[Any], spawn: Spawn) -> None:
        self.local = local
        self.actors = list(actors)
        self.spawn = spawn
        self.calls = 0
        self.replaced = 0
        self.answered: dict[str, int] = {}
        self.pids: set[int] = set()
        self.input_tokens = 0
        self._cache: set[str] = set()
        self._replacing: dict[int, asyncio.Lock] = {}

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
        slot = self._slot_for(request)
        for tried in range(MAX_RETRIES + 1):
            actor = self.actors[slot]
            ref = actor.complete.remote(request)
            try:
                response, failure, cached, pid = await asyncio.wrap_future(ref.future())
            except ray.exceptions.RayActorError as error:
                if tried == MAX_RETRIES:
                    raise actor_died(error) from None
                await self._replace(slot, actor)
                continue
            except ray.exceptions.RayError as error:
                raise unwrapped("calling the model", error) from None
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    ray.cancel(ref)
                raise
            break
        kind = request.purpose.kind if request.purpose is not None else "other"
        self.answered[kind] = self.answered.get(kind, 0) + 1
        self.pids.add(pid)
        self._cache.update(cached)
        if failure is not None:
            raise rebuilt(failure)
        assert response is not None
        reply: ModelResponse = response
        self.input_tokens += reply.input_tokens
        return reply

    async def _replace(self, slot: int, lost: Any) -> None:
        """A new actor in `slot` unless a call that lost the same one made it first.

        A node killed under its actor is declared dead only after missed
        heartbeats; until then the cluster may place the new actor on it too, and
        it dies while starting. So a replacement is tried again, with growing
        pauses, for up to `REPLACE_SECONDS` before the loss counts as
        infrastructure."""
        lock = self._replacing.setdefault(slot, asyncio.Lock())
        async with lock:
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
        }

    async def aclose(self) -> None:
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
