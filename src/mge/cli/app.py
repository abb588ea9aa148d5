"""The `mge` entry point: one Typer app, sub-commands registered from their modules.

Errors are mapped here once: any `MgeError` becomes `error: message` on stderr and
the class's exit code, so commands raise instead of printing and exiting.

`mge atomize` and `mge skeleton` need neither the database nor the services, whose
imports (SQLAlchemy, Alembic, the executor) took longer than atomizing a few
hundred files; `main` runs them from an app that holds only them. The full app is
built when first asked for (`app`).
"""

from __future__ import annotations

import sqlite3
import sys
from functools import cache

import typer
from rich.console import Console
from rich.text import Text

from mge.errors import DatabaseError, MgeError

__all__ = ["build_app", "main"]

_HELP = "Masterplan Generation Engine v2: plans in, validated code bases out."
# Commands that import nothing of the database or the services.
_STANDALONE = frozenset({"atomize", "skeleton"})


def _typer() -> typer.Typer:
    return typer.Typer(
        name="mge",
        help=_HELP,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )


@cache
def build_app() -> typer.Typer:
    """The `mge` app with every command."""
    from mge.cli import atomize as atomize_cli
    from mge.cli import db as db_cli
    from mge.cli import demo as demo_cli
    from mge.cli import graph as graph_cli
    from mge.cli import migrate as migrate_cli
    from mge.cli import plan as plan_cli
    from mge.cli import review as review_cli
    from mge.cli import run as run_cli
    from mge.cli import serve as serve_cli

    app = _typer()
    app.add_typer(db_cli.app, name="db")
    atomize_cli.register(app)
    app.add_typer(plan_cli.app, name="plan")
    run_cli.register(app)
    demo_cli.register(app)
    graph_cli.register(app)
    app.add_typer(review_cli.app, name="review")
    migrate_cli.register(app)
    serve_cli.register(app)
    return app


def _standalone_app() -> typer.Typer:
    """`atomize` and `skeleton` alone, registered exactly as in the full app."""
    from mge.cli import atomize as atomize_cli

    app = _typer()
    atomize_cli.register(app)
    return app


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def _db_url() -> str:
    """The URL whose password must be masked: `--db` if given, else the default."""
    args = sys.argv
    for index, arg in enumerate(args):
        if arg == "--db" and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--db="):
            return arg.removeprefix("--db=")
    from mge.cli._common import database_url

    try:
        return database_url(None)
    except MgeError:
        return ""


def main() -> None:
    """Run the CLI, mapping MGE errors to one line and an exit code."""
    standalone = len(sys.argv) > 1 and sys.argv[1] in _STANDALONE
    try:
        (_standalone_app() if standalone else build_app())()
    except MgeError as exc:
        _stderr.print(Text.assemble(("error: ", "bold red"), exc.message))
        sys.exit(exc.exit_code)
    except Exception as exc:
        if not _driver_error(exc):
            raise
        # A driver failure no command translated (a file corrupted mid-command, a
        # server gone away): still the database's exit code and one line.
        from mge.db.engine import describe_db_error, mask_password

        error = DatabaseError(f"database: {mask_password(describe_db_error(exc), _db_url())}")
        _stderr.print(Text.assemble(("error: ", "bold red"), error.message))
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        _stderr.print("interrupted")
        sys.exit(130)


def _driver_error(exc: Exception) -> bool:
    """A SQLAlchemy or sqlite3 error (SQLAlchemy is imported only if one is raised,
    and then it is already loaded)."""
    if isinstance(exc, sqlite3.Error):
        return True
    sqlalchemy = sys.modules.get("sqlalchemy.exc")
    return sqlalchemy is not None and isinstance(exc, sqlalchemy.SQLAlchemyError)
