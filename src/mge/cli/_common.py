"""Options and output helpers shared by every command."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

from mge.config import load_settings

console = Console(highlight=False, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: MGE_DATABASE_URL, mge.toml, or sqlite:///.mge/mge.db).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object for programs.")]


def database_url(db: str | None) -> str:
    """The URL a command uses: `--db` wins over the environment and mge.toml."""
    return load_settings(database_url=db).database_url


def print_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, sort_keys=False, default=str))
