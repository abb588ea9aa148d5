"""`--model` strings to models, with every configuration error raised up front.

`make_model` is the one place that reads API keys and base URLs, so that a run
with a missing key, an unknown prefix or replay without reference code fails
before anything is written.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mge.atomize import AtomizeConfig
from mge.errors import ConfigError, ProviderUnavailable
from mge.llm._fault_profiles import FAULT_PROFILES
from mge.llm._faults import parse_fault_kinds
from mge.llm._planning_replay import PlanningAnswers
from mge.llm._prices import PricesInput, load_prices
from mge.llm._providers import AnthropicModel, OpenAIModel
from mge.llm._reference import PlanReference
from mge.llm._replay import DEFAULT_REPLAY_PRICING, ReplayModel
from mge.llm._transport import RetryPolicy, Sleep
from mge.llm._types import Model, ReferenceAnswers

__all__ = ["LOCAL_API_KEY", "MODEL_ENV", "ModelDescription", "make_model", "model_environment"]

# Sent as the key to a custom OpenAI-compatible base_url when OPENAI_API_KEY is
# unset: local servers (vLLM, Ollama, llama.cpp, LM Studio) ignore it, and a
# hosted one that needs a key answers 401, reported as ProviderUnavailable.
LOCAL_API_KEY = "mge-no-key"

#: The environment variables `make_model` reads: a description carries their values.
MODEL_ENV = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "MGE_OPENAI_BASE_URL")


def model_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The values of `MODEL_ENV` set in `env` (default: this process's environment)."""
    source = os.environ if env is None else env
    return {name: source[name] for name in MODEL_ENV if source.get(name)}


@dataclass(frozen=True)
class ModelDescription:
    """What `make_model` needs to build a run's model, as plain picklable data, so
    the same model can be built in another process (a Ray actor, `mge.execute._ray`)
    from what the run was configured with.

    `env` holds the values of `MODEL_ENV` the description was taken with (the
    providers' keys among them; kept out of its `repr`): the other process need not
    share this one's environment. `reference_dir` is a path, read where the model
    is built.
    """

    spec: str
    base_url: str | None = None
    reference_dir: Path | None = None
    atomization: AtomizeConfig | None = None
    fault_rate: float = 0.0
    fault_kinds: str | tuple[str, ...] | None = None
    fault_profile: str = "uniform"
    seed: int = 0
    latency_ms: float | None = None
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    def build(self) -> Model:
        """The model, as `make_model` builds it from these values."""
        return make_model(
            self.spec,
            base_url=self.base_url,
            reference_dir=self.reference_dir,
            atomization=self.atomization,
            fault_rate=self.fault_rate,
            fault_kinds=self.fault_kinds,
            fault_profile=self.fault_profile,
            seed=self.seed,
            latency_ms=self.latency_ms,
            env=dict(self.env),
        )


def make_model(
    spec: str,
    *,
    base_url: str | None = None,
    reference: ReferenceAnswers | None = None,
    reference_dir: Path | None = None,
    atomization: AtomizeConfig | None = None,
    fault_rate: float = 0.0,
    fault_kinds: str | Iterable[str] | None = None,
    fault_profile: str = "uniform",
    seed: int = 0,
    latency_ms: float | None = None,
    prices: PricesInput | None = None,
    timeout: float = 120.0,
    max_transport_retries: int = 4,
    env: Mapping[str, str] | None = None,
    sleep: Sleep = asyncio.sleep,
    rng: random.Random | None = None,
) -> Model:
    """Build the model named by `spec`: `anthropic:NAME`, `openai:NAME`, `replay[:NAME]`.

    Args:
        spec: provider prefix and model name; `replay:NAME` bills as model NAME.
        base_url: server root for either SDK (tests, proxies, local servers);
            for `openai:` it defaults to `MGE_OPENAI_BASE_URL`.
        reference: answers for `replay` (it needs these or `reference_dir`).
        reference_dir, atomization: the plan's reference code and atom sizes, for
            `replay` to answer from. Only the replay model reads that directory:
            callers hand over the path and never read the code themselves.
        fault_rate, fault_kinds, fault_profile, seed, latency_ms: replay only (see
            `ReplayModel` and `mge.llm._fault_profiles`).
        prices: overrides of the shipped price table.
        timeout: seconds per HTTP attempt.
        max_transport_retries: bound on repeated HTTP attempts per call.
        env: where keys are read from (defaults to `os.environ`).
        sleep, rng: back-off seams for tests.

    Raises:
        ConfigError: unknown prefix, empty name, bad numbers or fault kinds,
            replay without reference.
        ProviderUnavailable: a real provider without its API key.
    """
    env = os.environ if env is None else env
    prefix, _, name = spec.strip().partition(":")
    if not 0.0 <= fault_rate <= 1.0:
        raise ConfigError(f"fault rate must be between 0 and 1, got {fault_rate}")
    if latency_ms is not None and latency_ms < 0:
        raise ConfigError(f"latency must be >= 0 ms, got {latency_ms}")
    if timeout <= 0:
        raise ConfigError(f"timeout must be > 0 seconds, got {timeout}")
    if max_transport_retries < 0:
        raise ConfigError(f"transport retries must be >= 0, got {max_transport_retries}")
    profile = FAULT_PROFILES.get(fault_profile)
    if profile is None:
        raise ConfigError(
            f"unknown fault profile {fault_profile!r}; choose from {', '.join(FAULT_PROFILES)}"
        )
    kinds = (
        parse_fault_kinds(fault_kinds)
        if fault_kinds is not None or not profile.weights
        else tuple(profile.weights)
    )
    table = load_prices(prices)
    policy = RetryPolicy(max_retries=max_transport_retries)

    if prefix == "replay":
        if reference is None and reference_dir is not None:
            reference = PlanReference(reference_dir, atomization or AtomizeConfig())
        if reference is None:
            raise ConfigError(
                "the replay model needs reference code: give the plan a `reference:` "
                "directory, or choose --model anthropic:NAME / openai:NAME"
            )
        return ReplayModel(
            reference,
            prices=table,
            pricing_model=name or DEFAULT_REPLAY_PRICING,
            fault_rate=fault_rate,
            fault_kinds=kinds,
            fault_profile=profile,
            seed=seed,
            latency_ms=latency_ms,
            planning=PlanningAnswers(reference_dir) if reference_dir is not None else None,
        )
    if prefix not in ("anthropic", "openai"):
        raise ConfigError(f"unknown model {spec!r}: use anthropic:NAME, openai:NAME or replay")
    if not name:
        raise ConfigError(f"model {spec!r} names no model: write {prefix}:NAME")
    if prefix == "anthropic":
        key = env.get("ANTHROPIC_API_KEY")
        if not key:
            raise ProviderUnavailable(
                "ANTHROPIC_API_KEY is not set; export it, or use --model replay"
            )
        return AnthropicModel(
            name,
            api_key=key,
            prices=table,
            base_url=base_url,
            timeout=timeout,
            policy=policy,
            sleep=sleep,
            rng=rng,
        )
    base_url = base_url or env.get("MGE_OPENAI_BASE_URL") or None
    key = env.get("OPENAI_API_KEY")
    if not key:
        if base_url is None:
            raise ProviderUnavailable(
                "OPENAI_API_KEY is not set; export it, point --base-url at an "
                "OpenAI-compatible server, or use --model replay"
            )
        key = LOCAL_API_KEY
    return OpenAIModel(
        name,
        api_key=key,
        prices=table,
        base_url=base_url,
        timeout=timeout,
        policy=policy,
        sleep=sleep,
        rng=rng,
    )
