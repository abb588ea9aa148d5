"""Every error the service returns, in one JSON shape `{"error": ..., "detail": ...}`.

Domain errors are mapped here once, from the `http_status` of their class in
`mge.errors`; routes raise and never build error responses themselves.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from mge.errors import MgeError, Unauthorized

__all__ = ["error_response", "install_error_handlers"]

log = logging.getLogger("mge.api")


class _AsciiJSON(JSONResponse):
    """Escapes non-ASCII: an error may quote the client's bad text, which must not make
    the error itself unencodable."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def error_response(
    status: int, error: str, detail: Any, headers: dict[str, str] | None = None
) -> JSONResponse:
    return _AsciiJSON({"error": error, "detail": detail}, status_code=status, headers=headers)


def _error_name(exc: MgeError) -> str:
    name = type(exc).__name__
    # PlanInvalid is a PlanError: clients key on the documented tree's names.
    for cls in type(exc).__mro__:
        if cls.__module__ == "mge.errors":
            return cls.__name__
    return name


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


async def _on_mge_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MgeError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    detail: Any = exc.message
    issues = getattr(exc, "issues", None)
    if issues:
        detail = {
            "message": exc.message,
            "issues": [{"path": i.path, "message": i.message} for i in issues],
        }
    return error_response(exc.http_status, _error_name(exc), detail, headers)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"path": _location(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    return error_response(422, "RequestInvalid", problems)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    names = {
        400: "RequestInvalid",
        401: "Unauthorized",
        404: "NotFound",
        405: "MethodNotAllowed",
        413: "PayloadTooLarge",
        415: "UnsupportedMediaType",
    }
    return error_response(
        exc.status_code,
        names.get(exc.status_code, "HTTPError"),
        exc.detail,
        dict(exc.headers) if exc.headers else None,
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "InternalError", "an unexpected error; see the service log")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MgeError, _on_mge_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
