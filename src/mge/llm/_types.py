"""The model contract every provider honours, and the data that crosses it.

Requests and responses are plain frozen dataclasses so they can be logged, hashed
and compared; the execution layer builds a `ModelRequest`, calls `Model.complete`,
and records the `ModelResponse` with its tokens and cost. A request's `purpose`
says *what* is being asked (a file's skeleton, one atom's body, which attempt):
real providers ignore it, the replay model answers from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "Message",
    "Model",
    "ModelRequest",
    "ModelResponse",
    "Purpose",
    "ReferenceAnswers",
    "StaticReference",
]

Role = Literal["user", "assistant"]
PurposeKind = Literal["skeleton", "atom", "discovery", "masterplan", "tests", "other"]


@dataclass(frozen=True, slots=True)
class Message:
    """One conversation turn; the system prompt travels separately in the request."""

    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Purpose:
    """What a request asks for, so a replay model can look the answer up.

    `target` is the file path for a skeleton and the atom id for an atom. `attempt`
    counts validation retries from 1; it takes part in fault decisions so a retry of
    a faulted atom can come back clean (or faulted again), as with a real model.
    """

    kind: PurposeKind
    target: str
    attempt: int = 1
    language: str = "python"


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """Everything a provider needs for one call.

    `cacheable_prefix` is text shared by many calls (project conventions, the
    skeleton in view); providers send it first and mark it for prompt caching.
    `temperature=None` leaves the provider's default, which some models require.
    """

    system: str
    messages: tuple[Message, ...]
    temperature: float | None = None
    max_tokens: int = 4096
    cacheable_prefix: str = ""
    purpose: Purpose | None = None

    @classmethod
    def single(
        cls,
        prompt: str,
        *,
        system: str = "",
        purpose: Purpose | None = None,
        cacheable_prefix: str = "",
        temperature: float | None = None,
        max_tokens: int = 4096,
    ) -> ModelRequest:
        """A one-question request, the common case for skeleton and atom prompts."""
        return cls(
            system=system,
            messages=(Message("user", prompt),),
            temperature=temperature,
            max_tokens=max_tokens,
            cacheable_prefix=cacheable_prefix,
            purpose=purpose,
        )


@dataclass(frozen=True, slots=True)
class ModelResponse:
    """One answer with what it cost.

    `input_tokens` counts every prompt token the provider processed, cached or not;
    `cached_tokens` is the part read from the prompt cache (billed at the cached
    rate) and `cache_write_tokens` the part written to it (Anthropic bills writes
    above the input rate). `latency_seconds` is wall time for the whole call,
    transport retries and back-off included. `transport_retries` counts repeated
    HTTP attempts only, never validation retries.
    """

    text: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    model: str
    latency_seconds: float
    cost_usd: float
    transport_retries: int = 0
    cache_write_tokens: int = 0


@runtime_checkable
class Model(Protocol):
    """What the execution layer calls; `simulated` is true only for replay."""

    @property
    def name(self) -> str: ...

    @property
    def simulated(self) -> bool: ...

    async def complete(self, request: ModelRequest) -> ModelResponse: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class CachingModel(Protocol):
    """A model whose prompt-cache state lives in this process (the simulated one):
    a run stores it and a resume restores it, so a resumed run is billed as the
    uninterrupted one. A real provider's cache lives at the provider, and a paused
    run really does find it cold."""

    def cache_state(self) -> list[str]: ...

    def restore_cache(self, state: list[str]) -> None: ...


class ReferenceAnswers(Protocol):
    """Known-good answers for the replay model, keyed like `Purpose.target`."""

    def skeleton(self, file: str) -> str | None: ...

    def atom(self, atom_id: str) -> str | None: ...


@dataclass(frozen=True)
class StaticReference:
    """Reference answers held in memory (tests, small demos, prebuilt lookups)."""

    skeletons: Mapping[str, str] = field(default_factory=dict)
    atoms: Mapping[str, str] = field(default_factory=dict)

    def skeleton(self, file: str) -> str | None:
        return self.skeletons.get(file)

    def atom(self, atom_id: str) -> str | None:
        return self.atoms.get(atom_id)
