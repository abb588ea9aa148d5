"""Anthropic and OpenAI-compatible models on the official async SDKs.

Each provider builds its SDK request from a `ModelRequest`, sends it through the
shared retry loop, and reads text and usage back into a `ModelResponse`. The SDK
clients are made with `max_retries=0` and an explicit `base_url`, so the retry
count is ours and tests can point them at a loopback server.

The SDKs are imported when a provider is built, not with `mge.llm`: together
they take about a second to import, which every CLI command would otherwise pay.

Prompt caching: Anthropic caches only what is marked, so the shared prefix goes
first as its own system block with `cache_control: ephemeral`. OpenAI caches any
repeated prompt prefix on its own, so the prefix simply leads the system message
and the cached part comes back in `prompt_tokens_details.cached_tokens`.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mge.errors import ModelError
from mge.llm._errors import MalformedResponse
from mge.llm._prices import PriceTable
from mge.llm._tokens import count_request_tokens, count_tokens
from mge.llm._transport import RetryPolicy, Sleep, call_with_retries, translate_sdk_error
from mge.llm._types import ModelRequest, ModelResponse

if TYPE_CHECKING:
    from anthropic.types import MessageParam, TextBlockParam
    from openai.types.chat import ChatCompletionMessageParam

__all__ = ["AnthropicModel", "OpenAIModel"]


@dataclass(frozen=True, slots=True)
class _Answer:
    text: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    model: str


# Our token count is an approximation; a quarter more covers tokenizers that split
# text finer, so a reservation still holds the real prompt's price.
_PROMPT_MARGIN = 1.25


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


class _SdkModel:
    """The provider-independent half: retries, timing, cost, closing."""

    provider = ""
    key_variable = ""

    def __init__(
        self,
        model: str,
        *,
        prices: PriceTable,
        policy: RetryPolicy,
        sleep: Sleep,
        rng: random.Random | None,
    ) -> None:
        self.model = model
        self._prices = prices
        self._policy = policy
        self._sleep = sleep
        self._rng = rng or random.Random()

    @property
    def name(self) -> str:
        return f"{self.provider}:{self.model}"

    @property
    def simulated(self) -> bool:
        return False

    def worst_case_usd(self, request: ModelRequest) -> float:
        """The most the request can be billed: its prompt, counted by our tokenizer
        approximation plus `_PROMPT_MARGIN` since the provider's tokenizer may split
        finer, and the whole `max_tokens` allowance, which the provider enforces."""
        return self._prices.worst_case(
            self.model,
            prompt_tokens=math.ceil(count_request_tokens(request) * _PROMPT_MARGIN),
            max_output_tokens=request.max_tokens,
        )

    async def _send(self, request: ModelRequest) -> _Answer:
        raise NotImplementedError

    def _translate(self, exc: Exception) -> Exception:
        raise NotImplementedError

    async def complete(self, request: ModelRequest) -> ModelResponse:
        start = time.perf_counter()

        async def attempt() -> _Answer:
            try:
                return await self._send(request)
            except MalformedResponse:
                raise
            except Exception as exc:
                translated = self._translate(exc)
                if translated is exc:
                    raise
                raise translated from exc

        answer, retries = await call_with_retries(
            attempt, provider=self.name, policy=self._policy, sleep=self._sleep, rng=self._rng
        )
        cost = self._prices.cost(
            answer.model,
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            cached_tokens=answer.cached_tokens,
            cache_write_tokens=answer.cache_write_tokens,
        )
        return ModelResponse(
            text=answer.text,
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            cached_tokens=answer.cached_tokens,
            cache_write_tokens=answer.cache_write_tokens,
            model=answer.model,
            latency_seconds=time.perf_counter() - start,
            cost_usd=cost,
            transport_retries=retries,
        )

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> _SdkModel:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _require_text(provider: str, text: str) -> str:
    if not text.strip():
        raise MalformedResponse(f"{provider}: the answer holds no text")
    return text


class AnthropicModel(_SdkModel):
    """Claude through the Messages API (`POST {base_url}/v1/messages`)."""

    provider = "anthropic"
    key_variable = "ANTHROPIC_API_KEY"

    def __init__(
        self,
        model: str,
        *,
        api_key: str,
        prices: PriceTable,
        base_url: str | None = None,
        timeout: float = 120.0,
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        import anthropic

        super().__init__(model, prices=prices, policy=policy or RetryPolicy(), sleep=sleep, rng=rng)
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    def _translate(self, exc: Exception) -> Exception:
        import anthropic

        translated = translate_sdk_error(
            exc,
            provider=self.name,
            key_variable=self.key_variable,
            status_error=anthropic.APIStatusError,
            connection_error=anthropic.APIConnectionError,
            timeout_error=anthropic.APITimeoutError,
            validation_error=anthropic.APIResponseValidationError,
        )
        if translated is exc and isinstance(exc, anthropic.AnthropicError):
            return ModelError(f"{self.name}: {exc}")
        return translated

    async def _send(self, request: ModelRequest) -> _Answer:
        import anthropic

        system: list[TextBlockParam] = []
        if request.cacheable_prefix:
            system.append(
                {
                    "type": "text",
                    "text": request.cacheable_prefix,
                    "cache_control": {"type": "ephemeral"},
                }
            )
        if request.system:
            system.append({"type": "text", "text": request.system})
        messages: list[MessageParam] = []
        for m in request.messages:
            if m.role == "user":
                messages.append({"role": "user", "content": m.content})
            else:
                messages.append({"role": "assistant", "content": m.content})
        # This SDK generation has no `temperature` parameter; the API still takes it.
        extra = None if request.temperature is None else {"temperature": request.temperature}
        message = await self._client.messages.create(
            model=self.model,
            max_tokens=request.max_tokens,
            messages=messages,
            system=system if system else anthropic.omit,
            extra_body=extra,
        )
        content: Any = getattr(message, "content", None)
        if not isinstance(content, list):
            raise MalformedResponse(f"{self.name}: response has no content blocks")
        text = "".join(
            block.text
            for block in content
            if getattr(block, "type", None) == "text"
            and isinstance(getattr(block, "text", None), str)
        )
        usage: Any = getattr(message, "usage", None)
        if usage is None:
            prompt, output, cached, written = (
                count_request_tokens(request),
                count_tokens(text),
                0,
                0,
            )
        else:
            cached = _int(getattr(usage, "cache_read_input_tokens", 0))
            written = _int(getattr(usage, "cache_creation_input_tokens", 0))
            # Anthropic's input_tokens excludes cache reads and writes; ours includes them.
            prompt = _int(getattr(usage, "input_tokens", 0)) + cached + written
            output = _int(getattr(usage, "output_tokens", 0))
        model = getattr(message, "model", None)
        return _Answer(
            text=_require_text(self.name, text),
            input_tokens=prompt,
            output_tokens=output,
            cached_tokens=cached,
            cache_write_tokens=written,
            model=model if isinstance(model, str) and model else self.model,
        )

    async def aclose(self) -> None:
        await self._client.close()


class OpenAIModel(_SdkModel):
    """Any Chat Completions server: OpenAI itself, vLLM, Ollama, llama.cpp, LM Studio.

    The official API wants `max_completion_tokens`; compatible servers reached
    through a custom `base_url` are sent the older, more widely understood
    `max_tokens`.
    """

    provider = "openai"
    key_variable = "OPENAI_API_KEY"

    def __init__(
        self,
        model: str,
        *,
        api_key: str,
        prices: PriceTable,
        base_url: str | None = None,
        timeout: float = 120.0,
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        import openai

        super().__init__(model, prices=prices, policy=policy or RetryPolicy(), sleep=sleep, rng=rng)
        self._compatible = base_url is not None
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url if base_url is not None else openai.NOT_GIVEN,
            timeout=timeout,
            max_retries=0,
        )

    def _translate(self, exc: Exception) -> Exception:
        import openai

        translated = translate_sdk_error(
            exc,
            provider=self.name,
            key_variable=self.key_variable,
            status_error=openai.APIStatusError,
            connection_error=openai.APIConnectionError,
            timeout_error=openai.APITimeoutError,
            validation_error=openai.APIResponseValidationError,
        )
        if translated is exc and isinstance(exc, openai.OpenAIError):
            return ModelError(f"{self.name}: {exc}")
        return translated

    async def _send(self, request: ModelRequest) -> _Answer:
        import openai

        messages: list[ChatCompletionMessageParam] = []
        system = "\n\n".join(part for part in (request.cacheable_prefix, request.system) if part)
        if system:
            messages.append({"role": "system", "content": system})
        for m in request.messages:
            if m.role == "user":
                messages.append({"role": "user", "content": m.content})
            else:
                messages.append({"role": "assistant", "content": m.content})
        temperature = openai.omit if request.temperature is None else request.temperature
        create: Callable[..., Awaitable[Any]] = self._client.chat.completions.create
        if self._compatible:
            completion = await create(
                model=self.model,
                messages=messages,
                max_tokens=request.max_tokens,
                temperature=temperature,
            )
        else:
            completion = await create(
                model=self.model,
                messages=messages,
                max_completion_tokens=request.max_tokens,
                temperature=temperature,
            )
        choices: Any = getattr(completion, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise MalformedResponse(f"{self.name}: response has no choices")
        message: Any = getattr(choices[0], "message", None)
        content: Any = getattr(message, "content", None)
        text = content if isinstance(content, str) else ""
        usage: Any = getattr(completion, "usage", None)
        if usage is None:
            # Some compatible servers omit usage; bill what a real count would say.
            prompt, output, cached = count_request_tokens(request), count_tokens(text), 0
        else:
            prompt = _int(getattr(usage, "prompt_tokens", 0))
            output = _int(getattr(usage, "completion_tokens", 0))
            details: Any = getattr(usage, "prompt_tokens_details", None)
            cached = min(_int(getattr(details, "cached_tokens", 0)), prompt)
        model = getattr(completion, "model", None)
        return _Answer(
            text=_require_text(self.name, text),
            input_tokens=prompt,
            output_tokens=output,
            cached_tokens=cached,
            cache_write_tokens=0,
            model=model if isinstance(model, str) and model else self.model,
        )

    async def aclose(self) -> None:
        await self._client.close()
