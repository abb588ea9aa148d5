"""What every request must be before a route sees it: for a known host, of a JSON (or
YAML plan) type when it carries a body, and not larger than the body limit.

One ASGI middleware, so each refusal is the same `{"error", "detail"}` JSON as every
other error and no route has to remember it:

- `Host` must name one of `MGE_ALLOWED_HOSTS` (loopback names by default), the rule
  of Starlette's `TrustedHostMiddleware` with a JSON answer: a page on another site
  whose name was rebound to 127.0.0.1 sends its own name and is refused (400).
- A body sent to `/api/...` must be `application/json` (plans also YAML): the types
  an HTML form can send cross-site (`text/plain`, form encodings) are refused with
  415 before the route runs, so a form on another site cannot act on the service.
- A body larger than `MGE_MAX_BODY_BYTES` is refused with 413: at once when
  `Content-Length` says so, and otherwise as soon as the streamed bytes pass the
  limit, so the service never holds more than the limit of one request.

Every answer also gets `X-Content-Type-Options: nosniff`.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mge.api._errors import error_response

__all__ = ["JSON_TYPES", "YAML_TYPES", "RequestGuard"]

JSON_TYPES = frozenset({"application/json"})
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _host_of(header: str | None) -> str | None:
    """The host name of a Host header, port and IPv6 brackets aside; None if malformed."""
    if not header:
        return None
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        if end < 0 or (header[end + 1 :] and not header[end + 1 :].startswith(":")):
            return None
        return header[1:end]
    name, _, port = header.partition(":")
    if not name or (port and not port.isdigit()):
        return None
    return name


def host_allowed(header: str | None, allowed: Iterable[str]) -> bool:
    host = _host_of(header)
    if host is None:
        return False
    for pattern in allowed:
        pattern = pattern.lower()
        if pattern == "*" or host == pattern.strip("[]"):
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


class BodyTooLarge(HTTPException):
    """Raised from inside `receive` while a route reads a body past the limit; the
    app's HTTP error handler turns it into the JSON 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: Iterable[str],
        max_body_bytes: int,
        api_prefix: str,
        yaml_paths: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.allowed_hosts = tuple(allowed_hosts)
        self.max_body_bytes = max_body_bytes
        self.api_prefix = api_prefix
        self.yaml_paths = frozenset(yaml_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            status, error, detail = refusal
            await error_response(status, error, detail, {"X-Content-Type-Options": "nosniff"})(
                scope, receive, send
            )
            return
        await self.app(scope, self._limited(receive), _nosniff(send))

    def _refusal(self, scope: Scope, headers: Headers) -> tuple[int, str, str] | None:
        if not host_allowed(headers.get("host"), self.allowed_hosts):
            return 400, "HostNotAllowed", "this service does not answer to that Host header"
        length = headers.get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                return 400, "RequestInvalid", "Content-Length is not a number"
            if int(length) > self.max_body_bytes:
                return (
                    413,
                    "PayloadTooLarge",
                    (f"the request body is larger than {self.max_body_bytes} bytes"),
                )
        path: str = scope["path"]
        if scope["method"] in _WITH_BODY and path.startswith(self.api_prefix + "/"):
            return self._type_refusal(path, headers, length)
        return None

    def _type_refusal(
        self, path: str, headers: Headers, length: str | None
    ) -> tuple[int, str, str] | None:
        given = headers.get("content-type")
        has_body = (length is not None and int(length) > 0) or "transfer-encoding" in headers
        if given is None and not has_body:
            return None
        media = (given or "").split(";", 1)[0].strip().lower()
        allowed = JSON_TYPES | (YAML_TYPES if path in self.yaml_paths else frozenset())
        if media in allowed:
            return None
        wanted = " or ".join(sorted(allowed))
        shown = f"{media!r}" if media else "no Content-Type"
        return 415, "UnsupportedMediaType", f"this endpoint takes {wanted}, not {shown}"

    def _limited(self, receive: Receive) -> Receive:
        limit = self.max_body_bytes
        seen = 0

        async def guarded() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return guarded


def _nosniff(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message).setdefault("X-Content-Type-Options", "nosniff")
        await send(message)

    return sending
