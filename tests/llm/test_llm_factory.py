"""`make_model`: every configuration error before anything runs, and the public API."""

from __future__ import annotations

import pytest

import mge.llm
from mge.errors import ConfigError, ProviderUnavailable
from mge.llm import (
    LOCAL_API_KEY,
    AnthropicModel,
    Model,
    ModelDescription,
    ModelRequest,
    OpenAIModel,
    ReplayModel,
    StaticReference,
    make_model,
    model_environment,
)
from mge.llm.testing import CHAT, Reply, ScriptedServer, openai_body

REFERENCE = StaticReference(atoms={"a": "x = 1\n"})


async def test_real_providers_are_built_from_their_keys() -> None:
    anthropic_model = make_model("anthropic:claude-sonnet-4-5", env={"ANTHROPIC_API_KEY": "k"})
    openai_model = make_model("openai:gpt-4.1", env={"OPENAI_API_KEY": "k"})
    assert isinstance(anthropic_model, AnthropicModel)
    assert isinstance(openai_model, OpenAIModel)
    assert isinstance(anthropic_model, Model) and isinstance(openai_model, Model)
    assert anthropic_model.name == "anthropic:claude-sonnet-4-5"
    await anthropic_model.aclose()
    await openai_model.aclose()


@pytest.mark.parametrize(
    ("spec", "variable"),
    [("anthropic:claude-sonnet-4-5", "ANTHROPIC_API_KEY"), ("openai:gpt-4.1", "OPENAI_API_KEY")],
)
def test_a_missing_key_is_reported_before_anything_runs(spec: str, variable: str) -> None:
    with pytest.raises(ProviderUnavailable, match=variable):
        make_model(spec, env={})


async def test_a_local_compatible_server_needs_no_key(server: ScriptedServer) -> None:
    server.script(CHAT, Reply(body=openai_body("print('hi')\n")))
    model = make_model("openai:llama3.1", env={"MGE_OPENAI_BASE_URL": server.url + "/v1"})
    try:
        response = await model.complete(ModelRequest.single("hello"))
    finally:
        await model.aclose()
    assert response.text == "print('hi')\n"
    assert response.cost_usd == 0.0  # unpriced local model
    assert server.received[0].headers["authorization"] == f"Bearer {LOCAL_API_KEY}"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gemini:pro", "unknown model 'gemini:pro'"),
        ("claude-sonnet-4-5", "unknown model"),
        ("anthropic:", "names no model"),
    ],
)
def test_bad_model_specs_are_config_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_model(spec, env={"ANTHROPIC_API_KEY": "k"})


def test_replay_without_reference_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="reference"):
        make_model("replay")


@pytest.mark.parametrize(
    "options",
    [
        {"fault_rate": 1.5},
        {"fault_rate": -0.1},
        {"fault_kinds": "syntax_error,nonsense"},
        {"latency_ms": -5},
        {"timeout": 0},
        {"max_transport_retries": -1},
        {"prices": {"m": {"input": 1}}},
    ],
)
def test_bad_options_are_config_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        make_model("replay", reference=REFERENCE, **options)  # type: ignore[arg-type]


def test_replay_is_built_with_its_options() -> None:
    model = make_model(
        "replay",
        reference=REFERENCE,
        fault_rate=0.25,
        fault_kinds="truncated",
        seed=3,
        latency_ms=50,
    )
    assert isinstance(model, ReplayModel)
    assert (model.fault_rate, model.fault_kinds, model.seed, model.latency_ms) == (
        0.25,
        ("truncated",),
        3,
        50,
    )


async def test_a_description_builds_the_model_in_another_process_as_here() -> None:
    """What a Ray actor gets: plain data, keys kept out of its repr, the same model."""
    import pickle

    env = model_environment(
        {"OPENAI_API_KEY": "secret", "HOME": "/root", "MGE_OPENAI_BASE_URL": ""}
    )
    assert env == {"OPENAI_API_KEY": "secret"}
    description = ModelDescription("openai:gpt-4.1", base_url="http://127.0.0.1:9", env=env)
    assert "secret" not in repr(description)
    copy = pickle.loads(pickle.dumps(description))
    assert copy == description
    model = copy.build()
    assert isinstance(model, OpenAIModel) and model.name == "openai:gpt-4.1"
    await model.aclose()
    with pytest.raises(ProviderUnavailable):
        ModelDescription("anthropic:claude-sonnet-4-5").build()  # no key carried


def test_the_public_api_is_exactly_this() -> None:
    assert set(mge.llm.__all__) == {
        "DEFAULT_REPLAY_PRICING",
        "FAULT_KINDS",
        "LOCAL_API_KEY",
        "AnthropicModel",
        "Budget",
        "BudgetedModel",
        "CachingModel",
        "MalformedResponse",
        "Message",
        "Model",
        "ModelDescription",
        "ModelRequest",
        "ModelResponse",
        "NoReferenceAnswer",
        "OpenAIModel",
        "Price",
        "PriceTable",
        "PricedModel",
        "Purpose",
        "ReferenceAnswers",
        "ReplayModel",
        "RequestRejected",
        "Reservation",
        "RetryPolicy",
        "StaticReference",
        "TransportError",
        "count_request_tokens",
        "count_tokens",
        "extract_code",
        "load_prices",
        "make_model",
        "model_environment",
        "parse_fault_kinds",
        "simulated_latency",
        "worst_case_usd",
    }
    for name in mge.llm.__all__:
        assert hasattr(mge.llm, name), name


def test_importing_the_package_does_not_load_the_sdks() -> None:
    import subprocess
    import sys

    probe = "import sys, mge.llm; print(sorted({'anthropic', 'openai'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
