"""`mge plan`: print the plan schema, check a plan, make a plan from existing code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from mge.cli._common import DbOption, JsonOption, console, database_url, print_json
from mge.db import make_engine, migrate, session_scope
from mge.db.models import MasterPlan
from mge.errors import PlanError
from mge.plan import (
    Plan,
    dump_plan,
    from_code,
    load_plan,
    plan_json_schema,
    read_plan_file,
)
from mge.store.plans import export_plan, get_masterplan, import_plan

app = typer.Typer(
    help="Masterplans: the format, validation, and plans made from existing code.",
    no_args_is_help=True,
)


def _summary(plan: Plan) -> dict[str, int]:
    tasks = plan.tasks()
    tests = {t for task in tasks for t in task.tests}
    tests.update(t for phase in plan.phases for m in phase.milestones for t in m.tests)
    tests.update(plan.acceptance)
    return {
        "phases": len(plan.phases),
        "milestones": sum(len(p.milestones) for p in plan.phases),
        "tasks": len(tasks),
        "files": len({f for task in tasks for f in task.files}),
        "tests": len(tests),
    }


def _describe(summary: dict[str, int]) -> str:
    return ", ".join(f"{n} {what[:-1] if n == 1 else what}" for what, n in summary.items())


@app.command()
def schema() -> None:
    """Print the JSON Schema of the plan format."""
    typer.echo(json.dumps(plan_json_schema(), indent=2))


@app.command()
def check(
    plan: Annotated[Path, typer.Argument(help="Plan file (YAML, or JSON if it ends in .json).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Validate a plan: its shape, ids, dependencies, paths and reference files.

    Prints a summary, or every problem on its own line as `field.path: message` and
    exits with status 2.
    """
    parsed, issues = read_plan_file(plan)
    if as_json:
        report: dict[str, object] = {
            "path": str(plan),
            "valid": not issues,
            "errors": [{"path": i.path, "message": i.message} for i in issues],
        }
        if parsed is not None:
            report.update(name=parsed.name, **_summary(parsed))
        typer.echo(json.dumps(report, indent=2))
    elif issues:
        for issue in issues:
            typer.echo(str(issue))
    elif parsed is not None:
        typer.echo(f"{plan}: valid plan {parsed.name!r}: {_describe(_summary(parsed))}")
    if issues:
        raise typer.Exit(code=PlanError.exit_code)


@app.command(name="from-code")
def from_code_command(
    src: Annotated[Path, typer.Argument(help="A package, a project directory or one .py file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the plan.")],
    tests: Annotated[
        Path | None,
        typer.Option(
            "--tests",
            help="A test directory or file inside the project (tests under SRC are found"
            " without it).",
        ),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="The plan's name.")] = None,
    support: Annotated[
        list[Path] | None,
        typer.Option(
            "--support",
            help="A file or directory inside the project that the tests need besides"
            " what is found (a data file at the root, installed metadata); repeatable.",
        ),
    ] = None,
) -> None:
    """Make a plan from an existing Python project, which becomes its reference code."""
    plan = from_code(src, tests=tests, name=name, plan_dir=output.parent, support=support or ())
    text = dump_plan(plan)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise PlanError(f"cannot write {output}: {exc}") from None
    cycles = sum(1 for task in plan.tasks() if "In an import cycle" in task.description)
    note = f" ({cycles} modules in import cycles)" if cycles else ""
    typer.echo(f"wrote {output}: {_describe(_summary(plan))}{note}")


@app.command(name="import")
def import_command(
    plan: Annotated[Path, typer.Argument(help="The plan file to store.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store a plan in the database as a masterplan (phases, milestones, tasks)."""
    parsed = load_plan(plan)
    url = database_url(db)
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            masterplan = import_plan(session, parsed, plan_path=plan)
            session.flush()
            masterplan_id = str(masterplan.id)
    finally:
        engine.dispose()
    if as_json:
        print_json({"masterplan_id": masterplan_id, **_summary(parsed)})
    else:
        typer.echo(f"imported {plan} as masterplan {masterplan_id}: {_describe(_summary(parsed))}")


@app.command(name="export")
def export_command(
    masterplan_id: Annotated[str, typer.Argument(help="Masterplan id (or a unique prefix).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write a stored masterplan back out as a plan file (YAML)."""
    engine = migrate.checked_engine(database_url(db), write=False)
    try:
        with session_scope(engine) as session:
            text = dump_plan(export_plan(get_masterplan(session, masterplan_id)))
    finally:
        engine.dispose()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")


@app.command(name="list")
def list_command(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the stored masterplans."""
    engine = migrate.checked_engine(database_url(db), write=False)
    try:
        with session_scope(engine) as session:
            rows = [
                {
                    "id": str(row.id),
                    "name": row.name,
                    "status": row.status.value,
                    "tasks": len(row.tasks),
                    "v2_mode": row.v2_mode,
                    "total_atoms": row.total_atoms,
                    "created_at": row.created_at.isoformat(),
                }
                for row in session.scalars(select(MasterPlan).order_by(MasterPlan.created_at))
            ]
    finally:
        engine.dispose()
    if as_json:
        print_json({"masterplans": rows})
        return
    table = Table("id", "name", "status", "tasks", "atoms", "created")
    for row in rows:
        table.add_row(
            str(row["id"])[:8],
            str(row["name"]),
            str(row["status"]),
            str(row["tasks"]),
            str(row["total_atoms"] or "-"),
            str(row["created_at"])[:19],
        )
    console.print(table)
