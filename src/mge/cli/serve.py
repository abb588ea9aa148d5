"""`mge serve`: the API, `/metrics`, `/healthz` and `/readyz` under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from mge.cli._common import DbOption, console, database_url
from mge.db import migrate
from mge.errors import ConfigError


def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind (0 picks a free one).")] = 8000,
    db: DbOption = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the API. Without MGE_API_TOKEN only loopback addresses may be bound."""
    import uvicorn

    from mge.api import LOOPBACK_HOSTS, ApiSettings, create_app

    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be within 0..65535, got {port}")
    settings = ApiSettings(database_url=database_url(db))
    if settings.token is None:
        if host not in LOOPBACK_HOSTS:
            raise ConfigError(
                f"MGE_API_TOKEN is not set: mge serve binds only 127.0.0.1, ::1 or localhost "
                f"without a token (asked for {host}); set MGE_API_TOKEN to serve on {host}"
            )
        console.print(
            "MGE_API_TOKEN is not set: mutating endpoints are open to local callers; "
            f"serving on {host} only"
        )
    elif host not in LOOPBACK_HOSTS and set(settings.allowed_hosts) <= LOOPBACK_HOSTS:
        console.print(
            f"MGE_ALLOWED_HOSTS names only loopback hosts: requests to {host} under any "
            "other name get 400; list the names clients use (docs/API.md)"
        )
    # The database is checked here, before uvicorn starts: a failure inside the
    # app's startup would print uvicorn's traceback instead of one line. Without
    # migrating, a schema behind is left to /readyz to report (the service is alive
    # but not ready); one from a newer mge is refused, since the service writes.
    if settings.migrate_on_start:
        migrate.upgrade(settings.database_url)
    else:
        migrate.refuse_newer(settings.database_url)
    # Polling clients reuse connections; a longer keep-alive avoids reset races.
    uvicorn.run(
        create_app(settings), host=host, port=port, log_level=log_level, timeout_keep_alive=30
    )


def register(app: typer.Typer) -> None:
    app.command()(serve)
