"""The replay model: real answers from reference code, with realistic faults.

It stands in for an LLM when there is no API key and in every test: a skeleton
request gets the reference file's skeleton, an atom request the reference atom,
optionally damaged by `choose_fault`. Its responses look exactly like a real
provider's (text, tokens, cost, latency) and carry no mark of a fault, so
nothing downstream can tell a faulted answer from a model's mistake. Tokens are
counted as a real model would bill the same prompt and answer, and a repeated
`cacheable_prefix` is billed as a cache read, as with provider prompt caching.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from types import TracebackType

from mge.llm._errors import NoReferenceAnswer
from mge.llm._fault_profiles import UNIFORM, FaultProfile
from mge.llm._faults import FAULT_KINDS, choose_fault
from mge.llm._planning_replay import PlanningAnswers
from mge.llm._prices import PriceTable
from mge.llm._tokens import count_request_tokens, count_tokens
from mge.llm._types import ModelRequest, ModelResponse, Purpose, ReferenceAnswers

__all__ = ["DEFAULT_REPLAY_PRICING", "ReplayModel", "simulated_latency"]

# Replay bills as this model unless `replay:NAME` names another.
DEFAULT_REPLAY_PRICING = "claude-sonnet-4-5"

# Spread of simulated latency: lognormal with this sigma, so most calls land
# within about 0.4x-2.7x of the mean with a long tail, like real API latency.
_LATENCY_SIGMA = 0.5

# Calls of `mge plan new`, answered by `PlanningAnswers` with faults of their own.
_PLANNING = ("discovery", "masterplan", "tests")


def simulated_latency(mean_ms: float, seed: int, purpose: Purpose | None) -> float:
    """Seconds of simulated latency, lognormal with the given mean, deterministic per call."""
    if mean_ms <= 0:
        return 0.0
    digest = hashlib.sha256(f"{seed}\x00latency\x00{purpose}".encode()).digest()
    # Two uniforms straight from the digest and a Box-Muller normal: a seeded
    # `random.Random` per call cost more than the rest of a simulated call.
    first = (int.from_bytes(digest[:8], "big") + 1) / 2**64  # in (0, 1], so log is finite
    second = int.from_bytes(digest[8:16], "big") / 2**64
    normal = math.sqrt(-2.0 * math.log(first)) * math.cos(2.0 * math.pi * second)
    mu = math.log(mean_ms / 1000) - _LATENCY_SIGMA**2 / 2
    return math.exp(mu + _LATENCY_SIGMA * normal)


@lru_cache(maxsize=1024)
def _prefix_digest(prefix: str) -> str:
    """A cacheable prefix's name in the cache state. Every atom of a file sends the
    same prefix (its skeleton, often kilobytes), so it is hashed once."""
    return hashlib.sha256(prefix.encode("utf-8", "surrogatepass")).hexdigest()


class ReplayModel:
    """Answers from a `ReferenceAnswers`; `simulated` is always true."""

    def __init__(
        self,
        reference: ReferenceAnswers,
        *,
        prices: PriceTable,
        pricing_model: str = DEFAULT_REPLAY_PRICING,
        fault_rate: float = 0.0,
        fault_kinds: Sequence[str] = FAULT_KINDS,
        fault_profile: FaultProfile = UNIFORM,
        seed: int = 0,
        latency_ms: float | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        planning: PlanningAnswers | None = None,
    ) -> None:
        self.reference = reference
        self.planning = planning
        self.pricing_model = pricing_model
        self.fault_rate = fault_rate
        self.fault_kinds = tuple(fault_kinds)
        self.fault_profile = fault_profile
        self.seed = seed
        self.latency_ms = latency_ms
        self._prices = prices
        self._sleep = sleep
        self._seen_prefixes: set[str] = set()
        self._lock = threading.Lock()
        # The last request `worst_case_usd` priced, with its answer and prompt tokens:
        # the budget prices a call just before making it, and `complete` reuses both
        # for that same request object instead of working them out again.
        self._priced: tuple[ModelRequest, str, int] | None = None

    @property
    def name(self) -> str:
        return (
            "replay"
            if self.pricing_model == DEFAULT_REPLAY_PRICING
            else f"replay:{self.pricing_model}"
        )

    @property
    def simulated(self) -> bool:
        return True

    def _reference_answer(self, purpose: Purpose | None) -> str:
        if purpose is not None and purpose.kind in _PLANNING:
            if self.planning is None:
                raise NoReferenceAnswer("replay answers planning calls only from --reference DIR")
            return self.planning.answer(
                purpose.kind, seed=self.seed, attempt=purpose.attempt, rate=self.fault_rate
            )
        if purpose is None or purpose.kind == "other":
            raise NoReferenceAnswer("replay can only answer skeleton and atom requests")
        if purpose.kind == "skeleton":
            answer = self.reference.skeleton(purpose.target)
        else:
            answer = self.reference.atom(purpose.target)
        if answer is None:
            raise NoReferenceAnswer(
                f"replay has no reference {purpose.kind} for {purpose.target!r}"
            )
        return answer

    def _cache_split(self, prefix: str) -> tuple[int, int]:
        """(cached, written) prompt tokens: the first use of a prefix writes it, later ones read."""
        if not prefix:
            return 0, 0
        tokens = count_tokens(prefix)
        digest = _prefix_digest(prefix)
        with self._lock:
            if digest in self._seen_prefixes:
                return tokens, 0
            self._seen_prefixes.add(digest)
        return 0, tokens

    def cache_state(self) -> list[str]:
        """The prefixes cached so far, as digests (see `CachingModel`)."""
        with self._lock:
            return sorted(self._seen_prefixes)

    def restore_cache(self, state: list[str]) -> None:
        with self._lock:
            self._seen_prefixes.update(state)

    def _answer(self, request: ModelRequest) -> str:
        answer = self._reference_answer(request.purpose)
        assert request.purpose is not None
        if request.purpose.kind in _PLANNING:
            return answer  # planning faults are applied where the plan is answered
        return choose_fault(
            answer,
            request.purpose,
            seed=self.seed,
            rate=self.fault_rate,
            kinds=self.fault_kinds,
            profile=self.fault_profile,
        ).code

    def worst_case_usd(self, request: ModelRequest) -> float:
        """The request's prompt and the larger of `max_tokens` and the answer replay
        will give (replay does not truncate), so a reservation covers the charge."""
        prompt_tokens = count_request_tokens(request)
        try:
            answer = self._answer(request)
        except NoReferenceAnswer:
            output = request.max_tokens
        else:
            output = max(request.max_tokens, count_tokens(answer))
            self._priced = (request, answer, prompt_tokens)
        return self._prices.worst_case(
            self.pricing_model, prompt_tokens=prompt_tokens, max_output_tokens=output
        )

    def _answer_and_prompt_tokens(self, request: ModelRequest) -> tuple[str, int]:
        priced = self._priced
        if priced is not None and priced[0] is request:
            return priced[1], priced[2]
        return self._answer(request), count_request_tokens(request)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        start = time.perf_counter()
        text, input_tokens = self._answer_and_prompt_tokens(request)
        assert request.purpose is not None
        delay = simulated_latency(self.latency_ms or 0.0, self.seed, request.purpose)
        if delay:
            await self._sleep(delay)
        output_tokens = count_tokens(text)
        cached, written = self._cache_split(request.cacheable_prefix)
        cost = self._prices.cost(
            self.pricing_model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_tokens=cached,
            cache_write_tokens=written,
        )
        return ModelResponse(
            text=text,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_tokens=cached,
            cache_write_tokens=written,
            model=self.pricing_model,
            latency_seconds=max(delay, time.perf_counter() - start),
            cost_usd=cost,
            transport_retries=0,
        )

    async def aclose(self) -> None:
        return None

    async def __aenter__(self) -> ReplayModel:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
