"""Model failures, classified so the execution layer can react to each kind.

    ModelError (mge.errors)
    ├── ProviderUnavailable (mge.errors)   no key, bad key, unreachable provider
    ├── TransportError        429 / 5xx / timeouts / resets still failing after retries
    ├── MalformedResponse     the provider answered, but with no usable text
    ├── RequestRejected       the provider refused the request itself (4xx)
    └── NoReferenceAnswer     replay has no reference for what was asked

All of them are `ModelError`, so the CLI and API map them without new tables.
Only transport failures are retried inside a call; a malformed answer is not (the
same request would most likely get the same answer back) and is the execution
layer's to count as a failed attempt.
"""

from __future__ import annotations

from mge.errors import ModelError

__all__ = ["MalformedResponse", "NoReferenceAnswer", "RequestRejected", "TransportError"]


class TransportError(ModelError):
    """Transient failures that outlasted the retry bound; `retries` says how many were made."""

    def __init__(self, message: str, *, retries: int, status: int | None = None) -> None:
        super().__init__(message)
        self.retries = retries
        self.status = status


class MalformedResponse(ModelError):
    """A body that is not JSON, lacks the expected fields, or holds no text."""


class RequestRejected(ModelError):
    """A 4xx other than auth and rate limits: retrying the same request cannot help."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class NoReferenceAnswer(ModelError):
    """The replay model was asked for something its reference does not hold."""
