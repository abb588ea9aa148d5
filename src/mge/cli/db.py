"""`mge db ...`: schema migrations of the system of record."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from mge.cli._common import DbOption, JsonOption, console, database_url, print_json
from mge.db import migrate
from mge.db.engine import parse_database_url, redact
from mge.errors import ConfigError, MigrationError

app = typer.Typer(help="Create, upgrade, downgrade and check the MGE database schema.")


def _label(revision: str | None) -> str:
    return revision or "base (empty)"


@app.command()
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    db: DbOption = None,
) -> None:
    """Migrate the database up to REVISION (default: head)."""
    url = database_url(db)
    outcome = migrate.upgrade(url, revision)
    shown = redact(parse_database_url(url))
    if outcome.changed:
        console.print(f"upgraded {shown}: {_label(outcome.before)} -> {_label(outcome.after)}")
    else:
        console.print(f"{shown} already at {_label(outcome.after)}; nothing to do")


@app.command()
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision (e.g. 0001, or base).")],
    db: DbOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Drop what the downgrade drops without asking.")
    ] = False,
) -> None:
    """Migrate the database down to REVISION (asks first when that drops tables or columns)."""
    url = database_url(db)
    losses = migrate.downgrade_losses(url, revision)
    if losses and not yes:
        what = "; ".join(str(loss) for loss in losses)
        if not sys.stdin.isatty():
            raise ConfigError(
                f"downgrading to {revision} drops {what}; run again with --yes to confirm"
            )
        console.print(f"downgrading to {revision} drops {what}")
        if not typer.confirm("drop them?", default=False):
            raise ConfigError("downgrade cancelled; nothing was changed")
    outcome = migrate.downgrade(url, revision)
    shown = redact(parse_database_url(url))
    if outcome.changed:
        console.print(f"downgraded {shown}: {_label(outcome.before)} -> {_label(outcome.after)}")
    else:
        console.print(f"{shown} already at {_label(outcome.after)}; nothing to do")


@app.command()
def current(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Show the revision the database is at, and the newest one this mge knows."""
    url = database_url(db)
    revision = migrate.current_revision(url)
    head = migrate.head_revision()
    if as_json:
        print_json({"current": revision, "head": head, "at_head": revision == head})
        return
    suffix = " (head)" if revision == head else f" (head is {head})"
    console.print(f"{_label(revision)}{suffix}")


@app.command()
def check(db: DbOption = None) -> None:
    """Fail if the migrated schema differs from the models (drift)."""
    url = database_url(db)
    diffs = migrate.schema_drift(url)
    if diffs:
        for line in diffs:
            console.print(f"drift: {line}")
        raise MigrationError(f"{len(diffs)} difference(s) between the models and the migrations")
    console.print("no drift: the migrated schema matches the models")


@app.command()
def tables(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the tables in the database."""
    names = migrate.table_names(database_url(db))
    if as_json:
        print_json({"tables": names})
        return
    for name in names:
        console.print(name)
