"""The driver's side of the model's actors (`ActorModel`): calls leave in bundles,
outcomes come back by number, a lost actor's open calls go to its replacement, a
cancelled call is cancelled where it runs. The actor handle is a stand-in whose
collects the test answers or fails when it chooses; the real actor is driven by
the ray runs of `test_ray_executor.py`."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from mge.errors import InfrastructureFailure, ModelError  # noqa: E402
from mge.execute._ray_model import MAX_RETRIES, ActorModel, portable  # noqa: E402
from mge.llm import ModelRequest, ModelResponse, Purpose  # noqa: E402


class _Ref:
    def __init__(self, future: concurrent.futures.Future[Any]) -> None:
        self._future = future

    def future(self) -> concurrent.futures.Future[Any]:
        return self._future


class _Method:
    def __init__(self, call: Callable[..., concurrent.futures.Future[Any]]) -> None:
        self._call = call

    def remote(self, *args: Any) -> _Ref:
        return _Ref(self._call(*args))


def _done(value: Any = None, error: BaseException | None = None) -> concurrent.futures.Future[Any]:
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
    return future


class _Actor:
    """A `ModelActor` handle: records what it is sent; each collect stays out until
    the test answers or fails it."""

    def __init__(self, pid: int, submit_error: BaseException | None = None) -> None:
        self.pid = pid
        self.submitted: list[list[int]] = []
        self.cancelled: list[int] = []
        self.collects: list[concurrent.futures.Future[Any]] = []
        self.submit = _Method(self._submit)
        self.collect = _Method(self._collect)
        self.cancel = _Method(self._cancel)
        self.ready = _Method(lambda: _done(pid))
        self._submit_error = submit_error

    def _submit(self, calls: list[tuple[int, ModelRequest]]) -> concurrent.futures.Future[Any]:
        self.submitted.append([number for number, _ in calls])
        return _done(error=self._submit_error)

    def _collect(self) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.collects.append(future)
        return future

    def _cancel(self, numbers: list[int]) -> concurrent.futures.Future[Any]:
        self.cancelled.extend(numbers)
        return _done()

    def answer(self, outcomes: list[tuple[int, Any, Any]], cached: tuple[str, ...] = ()) -> None:
        self.collects.pop(0).set_result((outcomes, list(cached), self.pid))

    def die(self) -> None:
        self.collects.pop(0).set_exception(ray.exceptions.ActorDiedError())


class _Local:
    """What `ActorModel` asks of the model built in the driver."""

    name = "stand-in"
    simulated = True


def _request(atom: str) -> ModelRequest:
    return ModelRequest.single(f"write {atom}", purpose=Purpose("atom", atom))


def _response(text: str, tokens: int = 7) -> ModelResponse:
    return ModelResponse(
        text=text,
        input_tokens=tokens,
        output_tokens=1,
        cached_tokens=0,
        model="stand-in",
        latency_seconds=0.05,
        cost_usd=0.0,
    )


async def _turns(count: int = 5) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


def _model(first: _Actor, spares: list[_Actor] | None = None) -> ActorModel:
    spawned = iter(spares or [])
    return ActorModel(_Local(), [first], lambda _cache: next(spawned))  # type: ignore[arg-type]


def test_calls_of_one_turn_leave_together_and_come_back_by_number() -> None:
    async def scenario() -> None:
        actor = _Actor(pid=11)
        model = _model(actor)
        calls = [asyncio.ensure_future(model.complete(_request(a))) for a in ("a", "b", "c")]
        await _turns()
        assert actor.submitted == [[1, 2, 3]]
        assert len(actor.collects) == 1  # one collect out for all three
        failure = portable(ModelError("the provider said no"))
        actor.answer([(3, _response("c"), None), (1, _response("a"), None)], cached=("p1",))
        await _turns()
        assert [call.done() for call in calls] == [True, False, True]
        assert (calls[0].result().text, calls[2].result().text) == ("a", "c")
        assert len(actor.collects) == 1  # the next collect went at once
        later = asyncio.ensure_future(model.complete(_request("d")))
        await _turns()
        assert actor.submitted == [[1, 2, 3], [4]]
        actor.answer([(2, None, failure), (4, _response("d"), None)])
        await _turns()
        with pytest.raises(ModelError, match="the provider said no"):
            calls[1].result()
        assert later.result().text == "d"
        assert actor.collects == []  # nothing open: no collect waits
        figures = model.figures()
        assert figures["model_calls_sent"] == 4 and figures["model_collects"] == 2
        assert figures["model_calls"] == {"atom": 4}
        assert figures["model_input_tokens"] == 21  # the failed call brought none
        assert figures["model_actor_pids"] == [11]
        assert model._cache == {"p1"}

    asyncio.run(scenario())


def test_a_lost_actors_open_calls_go_to_its_replacement_until_the_retries_run_out() -> None:
    async def scenario() -> None:
        actors = [_Actor(pid=20 + n) for n in range(MAX_RETRIES + 1)]
        model = _model(actors[0], actors[1:])
        first = asyncio.ensure_future(model.complete(_request("a")))
        second = asyncio.ensure_future(model.complete(_request("b")))
        await _turns()
        actors[0].die()
        await _turns(20)
        assert actors[1].submitted == [[1, 2]] and model.actors[0] is actors[1]
        actors[1].answer([(1, _response("a"), None)])
        await _turns()
        assert first.result().text == "a"
        for n in range(1, MAX_RETRIES + 1):
            actors[n].die()
            await _turns(20)
        # Sent MAX_RETRIES + 1 times and lost each time: infrastructure, not the atom.
        with pytest.raises(InfrastructureFailure, match="infrastructure"):
            second.result()
        assert [a.submitted for a in actors[2:]] == [[[2]]] * (MAX_RETRIES - 1)
        assert model.figures()["model_actors_replaced"] == MAX_RETRIES
        assert model.figures()["model_calls"] == {"atom": 1}

    asyncio.run(scenario())


def test_a_cancelled_call_is_cancelled_in_the_actor_and_its_collect_ends() -> None:
    async def scenario() -> None:
        actor = _Actor(pid=30)
        model = _model(actor)
        call = asyncio.ensure_future(model.complete(_request("a")))
        await _turns()
        call.cancel()
        await _turns()
        assert actor.cancelled == [1]
        actor.answer([(1, None, None)])  # what the actor reports of a cancelled call
        await _turns()
        assert call.cancelled() and actor.collects == []
        assert model.figures()["model_calls"] == {}

    asyncio.run(scenario())


def test_a_bundle_the_actor_cannot_take_fails_its_calls_as_infrastructure() -> None:
    async def scenario() -> None:
        actor = _Actor(pid=40, submit_error=ray.exceptions.RaySystemError("store full"))
        model = _model(actor)
        call = asyncio.ensure_future(model.complete(_request("a")))
        await _turns()
        with pytest.raises(InfrastructureFailure, match="store full"):
            call.result()

    asyncio.run(scenario())
