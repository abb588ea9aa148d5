"""`mge demo`: the furthest stage of the pipeline that works, on the embedded default
(a fresh SQLite database under ./.mge/)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mge.cli._common import console
from mge.db import migrate
from mge.db.base import Base
from mge.db.engine import make_engine, session_scope

DEMO_DB = Path(".mge") / "demo.db"


def register(app: typer.Typer) -> None:
    app.command()(demo)


def demo(
    workdir: Annotated[
        Path, typer.Option(help="Where the demo keeps its database and output.")
    ] = Path(".mge"),
) -> None:
    """Run the bundled example end to end on a fresh SQLite database."""
    database = workdir / "demo.db"
    database.parent.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)
    url = f"sqlite:///{database}"
    outcome = migrate.upgrade(url)
    console.print(f"migrated a fresh database at {database} to revision {outcome.after}")
    _print_tables(url)


def _print_tables(url: str) -> None:
    engine = make_engine(url)
    table = Table(title="MGE database")
    table.add_column("table")
    table.add_column("rows", justify="right")
    try:
        with session_scope(engine) as session:
            for name in migrate.table_names(url):
                if name == "alembic_version":
                    continue
                rows = session.query(Base.metadata.tables[name]).count()
                table.add_row(name, str(rows))
    finally:
        engine.dispose()
    console.print(table)
