"""Options and output helpers shared by every command."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

from mge.config import load_settings
from mge.db.engine import parse_database_url, redact

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


def resume_hint(run_id: object, db_url: str) -> str:
    """The command that continues a run, with the database password masked: the
    hint lands in terminals, CI logs and bug reports."""
    url = parse_database_url(db_url)
    hint = f"resume with: mge resume {run_id} --db '{redact(url)}'"
    if url.password:
        hint += " (password hidden: give the real one, or set MGE_DATABASE_URL)"
    return hint


def print_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, sort_keys=False, default=str))
