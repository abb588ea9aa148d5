"""What the service reads from its surroundings (`MGE_*`), validated once at start.

The API token is a secret without a default: when it is unset the service still
works, but only for the machine it runs on (`mge serve` refuses other addresses).
The other limits default to what is safe on a workstation: loopback host names
only (a page on another site cannot reach the service through DNS rebinding),
request bodies of at most 10 MB, and plan reference code only from below the
directory the service started in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from mge.config import DEFAULT_DATABASE_URL

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def _split(value: Any, separator: str) -> Any:
    """A list setting from the environment: `a,b` (hosts) or `a:b` (paths)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(separator) if part.strip()]
    return value


class ApiSettings(BaseSettings):
    """The service's settings: `MGE_DATABASE_URL`, `MGE_API_TOKEN`, `MGE_RUNS_DIR`,
    `MGE_ALLOWED_HOSTS`, `MGE_MAX_BODY_BYTES`, `MGE_PLAN_ROOTS`, ..."""

    model_config = SettingsConfigDict(env_prefix="MGE_", extra="ignore", allow_inf_nan=False)

    database_url: str = DEFAULT_DATABASE_URL
    api_token: SecretStr | None = None
    runs_dir: Path = Path(".mge/runs")
    migrate_on_start: bool = True
    # Finished runs whose event streams stay replayable from memory.
    keep_finished_runs: int = 50
    # Host names the service answers to (the Host header, port aside); `*.example.com`
    # allows subdomains, `*` any host. Comma-separated in the environment.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: sorted(LOOPBACK_HOSTS)
    )
    # The largest request body accepted; larger ones get 413 before they are read.
    max_body_bytes: int = Field(default=10_000_000, ge=1)
    # Directories a plan's `base_dir` and reference code must lie in; empty means the
    # service's working directory. os.pathsep-separated in the environment.
    plan_roots: Annotated[list[Path], NoDecode] = Field(default_factory=list)

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: Any) -> Any:
        return _split(value, ",")

    @field_validator("plan_roots", mode="before")
    @classmethod
    def _roots(cls, value: Any) -> Any:
        return _split(value, os.pathsep)

    @property
    def token(self) -> str | None:
        value = self.api_token.get_secret_value() if self.api_token is not None else ""
        return value or None

    def roots(self) -> list[Path]:
        """The plan roots, resolved (the working directory when none is configured)."""
        return [root.expanduser().resolve() for root in (self.plan_roots or [Path.cwd()])]


__all__ = ["LOOPBACK_HOSTS", "ApiSettings"]
