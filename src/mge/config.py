"""Settings from the environment (`MGE_*`) and an optional `mge.toml`.

Precedence, highest first: explicit command-line values (applied by the caller with
`Settings.with_overrides`), environment variables, `mge.toml` in the working
directory (or the file named by `MGE_CONFIG`), then the defaults below. The default
database is a SQLite file under `./.mge/` so a fresh checkout works with no server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from mge.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///.mge/mge.db"


def _config_file() -> Path:
    return Path(os.environ.get("MGE_CONFIG", "mge.toml"))


class Settings(BaseSettings):
    """Everything MGE reads from its surroundings, validated once at start."""

    model_config = SettingsConfigDict(env_prefix="MGE_", extra="ignore", allow_inf_nan=False)

    database_url: str = DEFAULT_DATABASE_URL
    openai_base_url: str | None = None
    # How long a run's lease holds without renewal (`mge.execute._lease`): after a
    # crash, `mge resume` may take the run over once this has passed.
    run_lease_seconds: float = Field(default=60.0, gt=0, allow_inf_nan=False)
    # The Ray cluster a `--executor ray` run starts on this machine when it is given
    # no address (`mge.execute._ray`): its object store in MiB (Ray needs at least
    # 75; the default keeps it small beside PostgreSQL and the sandboxes) and its
    # CPUs (0: every core).
    ray_object_store_mb: int = Field(default=100, ge=75)
    ray_num_cpus: int = Field(default=0, ge=0)
    # The async actors that make a `--executor ray` run's model calls.
    ray_model_actors: int = Field(default=1, ge=1, le=64)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)

    def with_overrides(self, **values: Any) -> Settings:
        """A copy with the given non-None values replaced (command-line flags win)."""
        chosen = {key: value for key, value in values.items() if value is not None}
        return self.model_copy(update=chosen)


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning a malformed config file or value into a ConfigError."""
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"invalid setting {where}: {first['msg']}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {_config_file()}: {exc}") from None
    return settings.with_overrides(**overrides)
