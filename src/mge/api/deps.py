"""Typed dependencies, so routes read as plain signatures.

    def show(masterplan_id: str, session: SessionDep) -> PlanDetail: ...

`Authorized` guards every mutating route: with `MGE_API_TOKEN` set, a request
needs `Authorization: Bearer <token>`; without a token the service is bound to
loopback (see `mge serve`) and mutating routes are open to local callers.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mge.api._runs import RunManager
from mge.api.settings import ApiSettings
from mge.errors import Unauthorized

__all__ = [
    "Authorized",
    "CredentialsDep",
    "EngineDep",
    "RunsDep",
    "SessionDep",
    "SettingsDep",
    "check_token",
]


async def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_runs(request: Request) -> RunManager:
    runs: RunManager = request.app.state.runs
    return runs


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


# The getters above are async on purpose: a sync dependency costs a thread-pool hop per
# request, which is most of the work of a status poll.
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
RunsDep = Annotated[RunManager, Depends(get_runs)]
SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="MGE_API_TOKEN, when the service has one.")


CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def check_token(settings: ApiSettings, credentials: HTTPAuthorizationCredentials | None) -> None:
    """Raises Unauthorized unless the request carries the configured token (if any)."""
    expected = settings.token
    if expected is None:
        return
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("this endpoint needs `Authorization: Bearer <MGE_API_TOKEN>`")


async def require_token(settings: SettingsDep, credentials: CredentialsDep) -> None:
    check_token(settings, credentials)


Authorized = Depends(require_token)
