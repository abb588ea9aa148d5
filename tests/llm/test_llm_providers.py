"""Both official SDKs against the loopback server: success, retries, failures, accounting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from mge.errors import BudgetExhausted, ModelError, ProviderUnavailable
from mge.llm import (
    Budget,
    BudgetedModel,
    MalformedResponse,
    Model,
    ModelRequest,
    Purpose,
    RequestRejected,
    TransportError,
    make_model,
)
from mge.llm.testing import (
    CHAT,
    MESSAGES,
    Reply,
    ScriptedServer,
    SleepRecorder,
    anthropic_body,
    openai_body,
)

# Round numbers so expected costs are easy to read: dollars per million tokens.
TEST_PRICES = {
    "test-model": {"input": 10.0, "output": 20.0, "cached_input": 1.0, "cache_write": 12.5}
}


@dataclass(frozen=True)
class Flavor:
    prefix: str
    path: str
    key_variable: str
    api_root: str  # appended to the server URL to form base_url
    ok: Callable[..., dict[str, Any]]

    def model(self, server: ScriptedServer, sleeps: SleepRecorder, **options: Any) -> Model:
        options.setdefault("prices", TEST_PRICES)
        return make_model(
            f"{self.prefix}:test-model",
            base_url=server.url + self.api_root,
            env={self.key_variable: "sk-test"},
            sleep=sleeps,
            **options,
        )


ANTHROPIC = Flavor("anthropic", MESSAGES, "ANTHROPIC_API_KEY", "", anthropic_body)
OPENAI = Flavor("openai", CHAT, "OPENAI_API_KEY", "/v1", openai_body)
FLAVORS = pytest.mark.parametrize("flavor", [ANTHROPIC, OPENAI], ids=["anthropic", "openai"])

REQUEST = ModelRequest.single(
    "Write the body of f.",
    system="You write Python.",
    cacheable_prefix="Project conventions: typed, small functions.",
    purpose=Purpose("atom", "pkg/mod.py::f#0"),
    max_tokens=256,
)


@FLAVORS
async def test_a_plain_answer_comes_back_with_tokens_and_cost(
    flavor: Flavor, server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    server.script(flavor.path, Reply(body=flavor.ok("def f():\n    return 1\n")))
    model = flavor.model(server, sleeps)
    try:
        response = await model.complete(REQUEST)
    finally:
        await model.aclose()
    assert response.text == "def f():\n    return 1\n"
    assert (response.input_tokens, response.output_tokens, response.cached_tokens) == (20, 8, 0)
    assert response.transport_retries == 0
    assert response.model == "test-model"
    assert response.cost_usd == pytest.approx((20 * 10.0 + 8 * 20.0) / 1e6)
    assert model.simulated is False
    assert model.name == f"{flavor.prefix}:test-model"
    (sent,) = server.received
    assert "sk-test" in (sent.headers.get("x-api-key", "") + sent.headers.get("authorization", ""))
    assert sent.body["model"] == "test-model"
    assert "temperature" not in sent.body


async def test_anthropic_marks_the_shared_prefix_for_caching(
    server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    server.script(MESSAGES, Reply(body=anthropic_body()))
    model = ANTHROPIC.model(server, sleeps)
    request = ModelRequest.single("q", system="sys", cacheable_prefix="shared", temperature=0.2)
    try:
        await model.complete(request)
    finally:
        await model.aclose()
    body = server.received[0].body
    assert body["system"] == [
        {"type": "text", "text": "shared", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "sys"},
    ]
    assert body["messages"] == [{"role": "user", "content": "q"}]
    assert body["max_tokens"] == 4096
    assert body["temperature"] == 0.2


async def test_openai_puts_the_prefix_first_in_the_system_message(
    server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    server.script(CHAT, Reply(body=openai_body()))
    model = OPENAI.model(server, sleeps)
    request = ModelRequest.single("q", system="sys", cacheable_prefix="shared", temperature=0.0)
    try:
        await model.complete(request)
    finally:
        await model.aclose()
    body = server.received[0].body
    assert body["messages"] == [
        {"role": "system", "content": "shared\n\nsys"},
        {"role": "user", "content": "q"},
    ]
    # A custom base_url means a compatible server: the widely understood field.
    assert body["max_tokens"] == 4096
    assert body["temperature"] == 0.0


async def test_anthropic_cached_and_written_tokens_are_billed_at_their_rates(
    server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    server.script(
        MESSAGES,
        Reply(body=anthropic_body(input_tokens=100, output_tokens=50, cache_write=900)),
        Reply(body=anthropic_body(input_tokens=100, output_tokens=50, cache_read=900)),
    )
    model = ANTHROPIC.model(server, sleeps)
    try:
        first = await model.complete(REQUEST)
        second = await model.complete(REQUEST)
    finally:
        await model.aclose()
    # Anthropic reports uncached input apart from cache reads/writes; we report the total.
    assert (first.input_tokens, first.cached_tokens, first.cache_write_tokens) == (1000, 0, 900)
    assert (second.input_tokens, second.cached_tokens, second.cache_write_tokens) == (1000, 900, 0)
    assert first.cost_usd == pytest.approx((100 * 10.0 + 900 * 12.5 + 50 * 20.0) / 1e6)
    assert second.cost_usd == pytest.approx((100 * 10.0 + 900 * 1.0 + 50 * 20.0) / 1e6)
    assert second.cost_usd < first.cost_usd


async def test_openai_cached_prompt_tokens_are_billed_at_the_cached_rate(
    server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    server.script(
        CHAT, Reply(body=openai_body(prompt_tokens=1000, completion_tokens=50, cached=768))
    )
    model = OPENAI.model(server, sleeps)
    try:
        response = await model.complete(REQUEST)
    finally:
        await model.aclose()
    assert (response.input_tokens, response.cached_tokens) == (1000, 768)
    assert response.cost_usd == pytest.approx((232 * 10.0 + 768 * 1.0 + 50 * 20.0) / 1e6)


async def test_openai_server_without_usage_is_billed_by_estimate(
    server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    server.script(CHAT, Reply(body=openai_body("x = 1\n", usage=False)))
    model = OPENAI.model(server, sleeps)
    try:
        response = await model.complete(REQUEST)
    finally:
        await model.aclose()
    assert response.input_tokens > 10
    assert response.output_tokens > 0
    assert response.cost_usd > 0


@FLAVORS
async def test_429_with_retry_after_is_retried_and_counted(
    flavor: Flavor, server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    server.script(
        flavor.path,
        Reply(
            429,
            {"error": {"type": "rate_limit_error", "message": "slow down"}},
            {"retry-after": "3"},
        ),
        Reply(body=flavor.ok("ok = True\n")),
    )
    model = flavor.model(server, sleeps)
    try:
        response = await model.complete(REQUEST)
    finally:
        await model.aclose()
    assert response.text == "ok = True\n"
    assert response.transport_retries == 1
    assert sleeps.delays == [3.0]
    assert len(server.received) == 2


@FLAVORS
async def test_500s_are_retried_with_growing_backoff_up_to_the_bound(
    flavor: Flavor, server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    server.script(flavor.path, *[Reply(500, {"error": {"message": "boom"}}) for _ in range(4)])
    model = flavor.model(server, sleeps, max_transport_retries=3)
    try:
        with pytest.raises(TransportError) as caught:
            await model.complete(REQUEST)
    finally:
        await model.aclose()
    assert caught.value.retries == 3
    assert caught.value.status == 500
    assert "HTTP 500" in str(caught.value)
    assert len(server.received) == 4
    # Equal jitter: the n-th wait lies in [d/2, d] for d = 0.5 * 2**n.
    for n, delay in enumerate(sleeps.delays):
        ceiling = 0.5 * 2**n
        assert ceiling / 2 <= delay <= ceiling


@FLAVORS
async def test_a_server_that_recovers_from_overload_and_a_reset(
    flavor: Flavor, server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    server.script(
        flavor.path,
        Reply(529 if flavor is ANTHROPIC else 503, {"error": {"message": "overloaded"}}),
        Reply(reset=True),
        Reply(body=flavor.ok("y = 2\n")),
    )
    model = flavor.model(server, sleeps)
    try:
        response = await model.complete(REQUEST)
    finally:
        await model.aclose()
    assert response.text == "y = 2\n"
    assert response.transport_retries == 2


@FLAVORS
async def test_a_slow_response_past_the_timeout_is_retried(
    flavor: Flavor, server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    server.script(flavor.path, Reply(body=flavor.ok(), delay=5.0), Reply(body=flavor.ok("z = 3\n")))
    model = flavor.model(server, sleeps, timeout=0.3)
    try:
        response = await model.complete(REQUEST)
    finally:
        await model.aclose()
    assert response.text == "z = 3\n"
    assert response.transport_retries == 1


@FLAVORS
async def test_timeouts_that_never_end_become_a_transport_error(
    flavor: Flavor, server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    server.script(flavor.path, *[Reply(body=flavor.ok(), delay=5.0) for _ in range(2)])
    model = flavor.model(server, sleeps, timeout=0.2, max_transport_retries=1)
    try:
        with pytest.raises(TransportError, match="timed out") as caught:
            await model.complete(REQUEST)
    finally:
        await model.aclose()
    assert caught.value.retries == 1


MALFORMED = [
    pytest.param(b"this is not json", id="invalid-json"),
    pytest.param(b"", id="empty-body"),
    pytest.param({"unexpected": True}, id="wrong-shape"),
]


@FLAVORS
@pytest.mark.parametrize("body", MALFORMED)
async def test_malformed_bodies_are_classified_not_crashes(
    flavor: Flavor, body: Any, server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    server.script(flavor.path, Reply(body=body))
    model = flavor.model(server, sleeps)
    try:
        with pytest.raises(MalformedResponse):
            await model.complete(REQUEST)
    finally:
        await model.aclose()
    assert len(server.received) == 1  # not retried: the same request would get the same


@FLAVORS
@pytest.mark.parametrize("text", ["", "   \n"], ids=["empty", "blank"])
async def test_an_answer_without_text_is_malformed(
    flavor: Flavor, text: str, server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    server.script(flavor.path, Reply(body=flavor.ok(text)))
    model = flavor.model(server, sleeps)
    try:
        with pytest.raises(MalformedResponse, match="no text"):
            await model.complete(REQUEST)
    finally:
        await model.aclose()


async def test_openai_without_choices_is_malformed(
    server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    body = openai_body()
    body["choices"] = []
    server.script(CHAT, Reply(body=body))
    model = OPENAI.model(server, sleeps)
    try:
        with pytest.raises(MalformedResponse, match="no choices"):
            await model.complete(REQUEST)
    finally:
        await model.aclose()


@FLAVORS
async def test_a_refused_key_is_provider_unavailable_without_retry(
    flavor: Flavor, server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    server.script(flavor.path, Reply(401, {"error": {"message": "invalid x-api-key"}}))
    model = flavor.model(server, sleeps)
    try:
        with pytest.raises(ProviderUnavailable, match=flavor.key_variable):
            await model.complete(REQUEST)
    finally:
        await model.aclose()
    assert len(server.received) == 1


@FLAVORS
async def test_a_bad_request_is_rejected_without_retry(
    flavor: Flavor, server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    server.script(flavor.path, Reply(400, {"error": {"message": "max_tokens too large"}}))
    model = flavor.model(server, sleeps)
    try:
        with pytest.raises(RequestRejected) as caught:
            await model.complete(REQUEST)
    finally:
        await model.aclose()
    assert caught.value.status == 400
    assert isinstance(caught.value, ModelError)
    assert len(server.received) == 1


@FLAVORS
async def test_the_budget_stops_calls_once_the_cap_is_reached(
    flavor: Flavor, server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    # Each call: 1000 input at $10/M + 500 output at $20/M = $0.02.
    server.script(
        flavor.path,
        *[Reply(body=flavor.ok("a = 1\n", **_usage(flavor, 1000, 500))) for _ in range(10)],
    )
    budget = Budget(limit_usd=0.05)
    model = BudgetedModel(flavor.model(server, sleeps), budget)
    completed = 0
    async with model:
        with pytest.raises(BudgetExhausted):
            for _ in range(10):
                await model.complete(REQUEST)
                completed += 1
    assert completed == 3  # 0.02, 0.04 pass the check; 0.06 is reached after the third
    assert len(server.received) == 3
    assert budget.spent_usd == pytest.approx(0.06)
    assert budget.exhausted


def _usage(flavor: Flavor, prompt: int, output: int) -> dict[str, int]:
    if flavor is ANTHROPIC:
        return {"input_tokens": prompt, "output_tokens": output}
    return {"prompt_tokens": prompt, "completion_tokens": output}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "9999"}, 120.0),  # honoured only up to the policy's ceiling
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date already past
    ],
    ids=["milliseconds", "capped", "http-date"],
)
async def test_retry_after_forms(
    headers: dict[str, str], expected: float, server: ScriptedServer, sleeps: SleepRecorder
) -> None:
    server.script(
        CHAT, Reply(429, {"error": {"message": "slow"}}, headers), Reply(body=openai_body())
    )
    model = OPENAI.model(server, sleeps)
    try:
        response = await model.complete(REQUEST)
    finally:
        await model.aclose()
    assert response.transport_retries == 1
    assert sleeps.delays == [pytest.approx(expected)]
