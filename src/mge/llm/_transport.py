"""Transport retries shared by the HTTP providers.

Both SDKs raise the same shapes of error (status errors carrying the response,
connection errors, timeouts as a kind of connection error), so one table turns
them into either a transient failure, retried here with exponential back-off and
jitter, or a final, classified `ModelError`. The SDKs' own retries are switched
off (`max_retries=0`) so that every repeat is counted in `transport_retries` and
bounded in one place, separately from validation retries, which the execution
layer owns.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from mge.errors import ProviderUnavailable
from mge.llm._errors import MalformedResponse, RequestRejected, TransportError

__all__ = ["RetryPolicy", "Sleep", "Transient", "call_with_retries", "translate_sdk_error"]

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

# Statuses worth repeating: timeouts, lock conflicts, rate limits, server trouble.
_TRANSIENT_STATUS = frozenset({408, 409, 425, 429})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds for transport retries; delays in seconds.

    The n-th retry waits `min(max_delay, base_delay * 2**n)`, half of it fixed and
    half random ("equal jitter") so concurrent callers spread out, unless the
    server sent Retry-After, which is honoured up to `max_retry_after`.
    """

    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, retry: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2.0**retry)
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


class Transient(Exception):
    """A failure that the same request may survive if sent again."""

    def __init__(
        self, reason: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


async def call_with_retries(
    send: Callable[[], Awaitable[T]],
    *,
    provider: str,
    policy: RetryPolicy,
    sleep: Sleep = asyncio.sleep,
    rng: random.Random | None = None,
) -> tuple[T, int]:
    """Run `send` until it succeeds; return its result and the number of retries made."""
    rng = rng or random.Random()
    retries = 0
    while True:
        try:
            return await send(), retries
        except Transient as failure:
            if retries >= policy.max_retries:
                raise TransportError(
                    f"{provider}: {failure.reason}, still failing after {retries} retries",
                    retries=retries,
                    status=failure.status,
                ) from None
            await sleep(policy.delay(retries, failure.retry_after, rng))
            retries += 1


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `retry-after` as seconds or an HTTP date."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def translate_sdk_error(
    exc: Exception,
    *,
    provider: str,
    key_variable: str,
    status_error: type[Exception],
    connection_error: type[Exception],
    timeout_error: type[Exception],
    validation_error: type[Exception],
) -> Exception:
    """Map an SDK exception to `Transient` or a final classified `ModelError`.

    Returns the exception for the caller to raise, so the caller's `raise ... from`
    keeps one place for chaining. Unknown exceptions come back unchanged.
    """
    if isinstance(exc, timeout_error):
        return Transient("request timed out")
    if isinstance(exc, connection_error):
        return Transient(f"connection failed ({exc})")
    if isinstance(exc, validation_error | json.JSONDecodeError | UnicodeDecodeError):
        return MalformedResponse(
            f"{provider}: response body is not valid JSON of the expected shape"
        )
    if isinstance(exc, status_error):
        response: Any = getattr(exc, "response", None)
        status = int(getattr(exc, "status_code", 0) or 0)
        headers = dict(response.headers) if response is not None else {}
        detail = str(getattr(exc, "message", exc))[:200]
        if status in _TRANSIENT_STATUS or status >= 500:
            return Transient(
                f"HTTP {status}", status=status, retry_after=parse_retry_after(headers)
            )
        if status in (401, 403):
            return ProviderUnavailable(
                f"{provider} refused the credentials (HTTP {status}); check {key_variable}"
            )
        return RequestRejected(
            f"{provider} rejected the request (HTTP {status}): {detail}", status=status
        )
    return exc
