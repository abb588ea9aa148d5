"""The `mge` entry point: one Typer app, sub-commands registered from their modules.

Errors are mapped here once: any `MgeError` becomes `error: message` on stderr and
the class's exit code, so commands raise instead of printing and exiting.
"""

from __future__ import annotations

import sqlite3
import sys

import typer
from rich.console import Console
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from mge.cli import atomize as atomize_cli
from mge.cli import db as db_cli
from mge.cli import demo as demo_cli
from mge.cli import graph as graph_cli
from mge.cli import migrate as migrate_cli
from mge.cli import plan as plan_cli
from mge.cli import review as review_cli
from mge.cli import run as run_cli
from mge.cli import serve as serve_cli
from mge.cli._common import database_url
from mge.db.engine import describe_db_error, mask_password
from mge.errors import DatabaseError, MgeError

app = typer.Typer(
    name="mge",
    help="Masterplan Generation Engine v2: plans in, validated code bases out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db_cli.app, name="db")
atomize_cli.register(app)
app.add_typer(plan_cli.app, name="plan")
run_cli.register(app)
demo_cli.register(app)
graph_cli.register(app)
app.add_typer(review_cli.app, name="review")
migrate_cli.register(app)
serve_cli.register(app)

_stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def _db_url() -> str:
    """The URL whose password must be masked: `--db` if given, else the default."""
    args = sys.argv
    for index, arg in enumerate(args):
        if arg == "--db" and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--db="):
            return arg.removeprefix("--db=")
    try:
        return database_url(None)
    except MgeError:
        return ""


def main() -> None:
    """Run the CLI, mapping MGE errors to one line and an exit code."""
    try:
        app()
    except MgeError as exc:
        _stderr.print(Text.assemble(("error: ", "bold red"), exc.message))
        sys.exit(exc.exit_code)
    except (SQLAlchemyError, sqlite3.Error) as exc:
        # A driver failure no command translated (a file corrupted mid-command, a
        # server gone away): still the database's exit code and one line.
        error = DatabaseError(f"database: {mask_password(describe_db_error(exc), _db_url())}")
        _stderr.print(Text.assemble(("error: ", "bold red"), error.message))
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        _stderr.print("interrupted")
        sys.exit(130)
