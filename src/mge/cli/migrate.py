"""`mge migrate-tasks`: stored MVP masterplans to V2 atoms (docs/MIGRATION.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from mge.cli._common import DbOption, JsonOption, database_url, print_json
from mge.cli.atomize import available_cpus
from mge.db import make_engine, migrate
from mge.db.engine import check_connection, parse_database_url
from mge.errors import ConfigError, DatabaseError
from mge.store.migration import (
    MigrationReport,
    migrate_tasks,
    require_v2_schema,
    revert_masterplan,
)

__all__ = ["register"]

_stdout = Console(highlight=False, soft_wrap=True, markup=False)
_stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class _Bar:
    """Progress per task, one bar per masterplan, on stderr so stdout stays clean.

    The bar is redrawn from here, at most ten times a second, instead of by Rich's
    refresh thread: the migration forks its atomizing workers, and a process must
    not fork while another thread may hold a lock (the stream's, the console's).
    """

    _EVERY = 0.1  # seconds between redraws

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None
        self._drawn = 0.0

    def start(self, name: str, tasks: int) -> None:
        self._task = self._progress.add_task(name, total=tasks)
        self._redraw(force=True)

    def advance(self) -> None:
        if self._task is not None:
            self._progress.advance(self._task)
            self._redraw()

    def _redraw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._drawn >= self._EVERY:
            self._drawn = now
            self._progress.refresh()


def _table(report: MigrationReport) -> Table:
    table = Table(title=f"migrate-tasks ({report.mode})", title_justify="left")
    table.add_column("masterplan", overflow="fold")
    table.add_column("outcome", no_wrap=True)
    for column in ("tasks", "code", "atoms", "edges", "waves", "par.", "LOC"):
        table.add_column(column, justify="right")
    for row in report.masterplans:
        table.add_row(
            f"{row.name} {row.masterplan_id[:8]}",
            row.outcome,
            str(row.tasks),
            str(row.tasks_with_code),
            str(row.atoms),
            str(row.edges),
            str(row.waves),
            str(row.max_parallelism),
            str(row.loc),
        )
    return table


def _print_human(report: MigrationReport) -> None:
    _stdout.print(_table(report))
    for row in report.masterplans:
        if row.languages:
            languages = ", ".join(f"{name} {count}" for name, count in row.languages.items())
            _stdout.print(f"atoms by language: {row.name} {row.masterplan_id[:8]}: {languages}")
        for warning in row.warnings:
            _stdout.print(f"warning: {row.name} {row.masterplan_id[:8]}: {warning}")
        for error in row.errors:
            _stdout.print(f"failed: {row.name} {row.masterplan_id[:8]}: {error}")
    totals = report.totals()
    verdict = "ok" if report.ok else "some masterplans failed and were rolled back"
    if report.mode == "dry-run":
        verdict += " (dry run: nothing written)"
    _stdout.print(
        f"{totals['masterplans']} masterplans, {totals['tasks']} tasks, {totals['atoms']} atoms, "
        f"{totals['warnings']} warnings, {totals['errors']} errors: {verdict}"
    )


def _require_existing_file(url: str) -> None:
    """A dry run must not create a SQLite file as a side effect of a mistyped path."""
    parsed = parse_database_url(url)
    database = parsed.database or ""
    on_disk = parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:")
    if on_disk and not database.startswith("file:") and not Path(database).expanduser().exists():
        raise DatabaseError(f"no database file {database}; run `mge db upgrade` first")


def migrate_tasks_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would be migrated; write nothing.")
    ] = False,
    production: Annotated[
        bool, typer.Option("--production", help="Migrate, one transaction per masterplan.")
    ] = False,
    revert: Annotated[
        bool,
        typer.Option(
            "--revert", help="Remove a migrated masterplan's V2 data (needs --masterplan)."
        ),
    ] = False,
    masterplan: Annotated[
        str | None,
        typer.Option("--masterplan", help="Only this masterplan (id or unique prefix)."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(min=0, help="Processes to atomize the code in; 0 = one per available CPU."),
    ] = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move stored MVP tasks to atoms; exit 1 if any masterplan failed (and was rolled back)."""
    if sum((dry_run, production, revert)) != 1:
        raise ConfigError("choose exactly one of --dry-run, --production or --revert")
    if revert and masterplan is None:
        raise ConfigError("--revert needs --masterplan ID")
    url = database_url(db)
    _require_existing_file(url)
    engine = make_engine(url)
    try:
        check_connection(engine)
        require_v2_schema(url)
        migrate.require_schema(url, write=not dry_run)  # a newer schema is not written to
        if revert and masterplan is not None:
            report = revert_masterplan(engine, masterplan)
        else:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=_stderr,
                transient=True,
                disable=as_json,
                auto_refresh=False,
            ) as progress:
                report = migrate_tasks(
                    engine,
                    production=production,
                    masterplan_id=masterplan,
                    progress=_Bar(progress),
                    workers=workers or available_cpus(),
                )
    finally:
        engine.dispose()
    if as_json:
        print_json(report.to_dict())
    else:
        _print_human(report)
    if not report.ok:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.command(name="migrate-tasks")(migrate_tasks_command)
