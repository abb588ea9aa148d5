"""What the service reads from its surroundings (`MGE_*`), validated once at start.

The API token is a secret without a default: when it is unset the service still
works, but only for the machine it runs on (`mge serve` refuses other addresses).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mge.config import DEFAULT_DATABASE_URL

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class ApiSettings(BaseSettings):
    """The service's settings; `MGE_DATABASE_URL`, `MGE_API_TOKEN`, `MGE_RUNS_DIR`."""

    model_config = SettingsConfigDict(env_prefix="MGE_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    api_token: SecretStr | None = None
    runs_dir: Path = Path(".mge/runs")
    migrate_on_start: bool = True
    # Finished runs whose event streams stay replayable from memory.
    keep_finished_runs: int = 50

    @property
    def token(self) -> str | None:
        value = self.api_token.get_secret_value() if self.api_token is not None else ""
        return value or None


__all__ = ["LOOPBACK_HOSTS", "ApiSettings"]
