"""`mge plan`: print the plan schema, check a plan, make a plan from existing code."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from mge.cli._common import DbOption, JsonOption, console, database_url, print_json
from mge.db import make_engine, migrate, session_scope
from mge.db.models import MasterPlan
from mge.errors import ConfigError, PlanError
from mge.llm import Budget, make_model
from mge.plan import (
    Plan,
    PlanIssue,
    dump_plan,
    from_code,
    load_plan,
    plan_json_schema,
    read_plan_file,
)
from mge.plan._drafting import check_request
from mge.planner import (
    Draft,
    approve_draft,
    draft_plan,
    draft_summary,
    edit_draft,
    reject_draft,
)
from mge.store.drafts import create_draft, get_draft
from mge.store.plans import export_plan, get_masterplan, import_plan
from mge.validate.typescript import reference_errors

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
    if parsed is not None and not issues and parsed.language != "python" and parsed.reference:
        # TypeScript/JavaScript: the compiler's errors in the reference itself.
        root = (plan.parent / parsed.reference).resolve()
        files = [f for task in parsed.tasks() for f in task.files]
        issues = [
            PlanIssue(f"reference {file}:{d.line}", f"TS{d.code} {d.message.splitlines()[0]}")
            for file, d in reference_errors(root, files)
        ]
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
    src: Annotated[
        Path,
        typer.Argument(
            help="A package, a project directory or one .py file; or a TypeScript/JavaScript"
            " project (the folder with package.json) or a folder in it."
        ),
    ],
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
    """Make a plan from an existing Python, TypeScript or JavaScript project, which becomes
    its reference code."""
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


@contextmanager
def _session(db: str | None) -> Iterator[Session]:
    """One session on the command's database, committed on success."""
    engine = make_engine(database_url(db))
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


ByOption = Annotated[
    str | None, typer.Option("--by", help="Who makes the change (default: your user name).")
]
DraftArgument = Annotated[str, typer.Argument(help="The draft's id (or a unique prefix).")]


def _read_request(request: str | None, source: Path | None) -> str:
    if (request is None) == (source is None):
        raise ConfigError("give the request as an argument or with --from FILE, not both")
    if source is not None:
        try:
            request = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {source}: {exc}") from None
    assert request is not None
    return check_request(request)


def write_draft(draft: Draft, output: Path, reference: Path | None) -> list[Path]:
    """Write what the draft holds beside `output`: the plan, its discovery document
    (`NAME.discovery.json`) and its tests (under `NAME.tests/`, the directory
    `mge run --tests` reads)."""
    written: list[Path] = []
    base = output.with_suffix("")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        if draft.discovery is not None:
            path = base.with_name(base.name + ".discovery.json")
            path.write_text(draft.discovery.model_dump_json(indent=2) + "\n", encoding="utf-8")
            written.append(path)
        if draft.plan is not None:
            plan = draft.plan
            if reference is not None:
                relative = Path(os.path.relpath(reference.resolve(), output.parent.resolve()))
                plan = plan.model_copy(update={"reference": relative.as_posix()})
            output.write_text(dump_plan(plan), encoding="utf-8")
            written.append(output)
        tests_dir = base.with_name(base.name + ".tests")
        for name, text in draft.tests.items():
            target = tests_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        if draft.tests:
            written.append(tests_dir)
    except OSError as exc:
        raise PlanError(f"cannot write the draft beside {output}: {exc}") from None
    return written


@app.command(name="new")
def new_command(
    request: Annotated[str | None, typer.Argument(help="What you want built.")] = None,
    source: Annotated[
        Path | None, typer.Option("--from", help="Read the request from this file.")
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The plan file to write.")] = Path(
        "plan.yaml"
    ),
    model: Annotated[str, typer.Option(help="replay, anthropic:NAME or openai:NAME.")] = "replay",
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible server URL.")] = None,
    reference: Annotated[
        Path | None,
        typer.Option(help="Replay: the reference project whose plan is the right answer."),
    ] = None,
    fault_rate: Annotated[float, typer.Option(help="Replay: share of faulty answers.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Replay: seed of the faults.")] = 0,
    max_attempts: Annotated[int, typer.Option(min=1, max=10, help="Attempts per stage.")] = 3,
    budget_usd: Annotated[float | None, typer.Option(help="Hard cost cap in dollars.")] = None,
    by: ByOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Draft a plan from a request: discovery, masterplan, then acceptance tests first.

    The draft is stored (with what was made so far, if a stage fails) for
    `mge plan show | edit | approve | reject`; `mge run` refuses it until approved.
    """
    text = _read_request(request, source)
    if reference is not None and not reference.is_dir():
        raise ConfigError(f"reference {reference} is not a directory")
    chosen = make_model(
        model, base_url=base_url, reference_dir=reference, fault_rate=fault_rate, seed=seed
    )
    budget = Budget(budget_usd)

    async def main() -> Draft:
        try:
            return await draft_plan(text, chosen, budget=budget, max_attempts=max_attempts)
        finally:
            await chosen.aclose()

    draft = asyncio.run(main())
    written = write_draft(draft, output, reference)
    draft_id = _store_draft(draft, output, reference, author=_author(by), db=db)
    if as_json:
        print_json(
            {
                "draft_id": draft_id,
                "complete": draft.complete,
                "error": draft.error,
                "model": draft.model,
                "simulated": draft.simulated,
                "written": [str(p) for p in written],
                **({"summary": _summary(draft.plan)} if draft.plan else {}),
                "cost": draft.cost(),
            }
        )
    else:
        for stage in draft.stages:
            typer.echo(
                f"{stage.stage}: {'ok' if stage.ok else 'refused'} after {stage.attempts} "
                f"call(s), {stage.input_tokens:,} in / {stage.output_tokens:,} out tokens, "
                f"${stage.cost_usd:.4f}"
            )
        for path in written:
            typer.echo(f"wrote {path}")
        typer.echo(
            f"stored draft {draft_id[:8]}: review with `mge plan show {draft_id[:8]}`,"
            f" then `mge plan approve {draft_id[:8]}`"
        )
    if draft.error is not None:
        raise draft.failure or PlanError(draft.error)


def _author(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _store_draft(
    draft: Draft, output: Path, reference: Path | None, *, author: str, db: str | None
) -> str:
    plan = draft.plan
    if plan is not None and reference is not None:
        relative = Path(os.path.relpath(reference.resolve(), output.parent.resolve()))
        plan = plan.model_copy(update={"reference": relative.as_posix()})
    tests_dir = output.with_suffix("").with_name(output.with_suffix("").name + ".tests")
    url = database_url(db)
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            row = create_draft(
                session,
                name=plan.name if plan else (draft.discovery.name if draft.discovery else "plan"),
                request=draft.request,
                model=draft.model,
                simulated=draft.simulated,
                plan=plan,
                discovery=draft.discovery.model_dump(mode="json") if draft.discovery else None,
                tests=draft.tests,
                cost=draft.cost(),
                error=draft.error,
                author=author,
                plan_path=str(output.resolve()),
                tests_dir=str(tests_dir.resolve()) if draft.tests else None,
            )
            session.flush()
            return str(row.id)
    finally:
        engine.dispose()


def _print_tree(summary: dict[str, object]) -> None:
    plan = summary["plan"]
    typer.echo(
        f"draft {str(summary['id'])[:8]} {summary['name']}: {summary['status']}"
        f" ({summary['model']})"
    )
    if summary.get("error"):
        typer.echo(f"stopped because: {summary['error']}")
    if isinstance(plan, dict):
        for phase in plan["phases"]:
            typer.echo(f"  phase {phase['name']}")
            for milestone in phase["milestones"]:
                tests = ", ".join(milestone["tests"]) or "-"
                typer.echo(f"    milestone {milestone['name']}  (tests: {tests})")
                for task in milestone["tasks"]:
                    typer.echo(f"      task {task['id']}: {task['name']} [{task['complexity']}]")
                    typer.echo(f"        files: {', '.join(task['files'])}")
                    typer.echo(f"        interface: {'; '.join(task['interface']) or '-'}")
                    if task["depends_on"]:
                        typer.echo(f"        depends on: {', '.join(task['depends_on'])}")
                    typer.echo(f"        tests: {', '.join(task['tests']) or '-'}")
    versions = summary["versions"]
    assert isinstance(versions, list)
    for version in versions:
        typer.echo(
            f"  version {version['number']}: {version['note']} by {version['author']}"
            f" at {version['created_at'][:19]}"
        )


@app.command(name="show")
def show_command(
    draft_id: DraftArgument,
    diff: Annotated[bool, typer.Option(help="Print each version's diff.")] = False,
    yaml_out: Annotated[
        bool, typer.Option("--yaml", help="Print the current plan as YAML, to edit.")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a drafted plan as a tree: each task's files, interface and tests, and its history."""
    with _session(db) as session:
        summary = draft_summary(get_draft(session, draft_id))
    if as_json:
        print_json(summary)
    elif yaml_out:
        if summary["plan"] is None:
            raise PlanError(f"plan draft {draft_id} has no plan yet")
        typer.echo(dump_plan(Plan.model_validate(summary["plan"])), nl=False)
    else:
        _print_tree(summary)
        if diff:
            for version in summary["versions"]:
                typer.echo(version["diff"], nl=False)


@app.command(name="edit")
def edit_command(
    draft_id: DraftArgument,
    plan: Annotated[Path, typer.Argument(help="The edited plan (from `mge plan show --yaml`).")],
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Store an edited plan as the draft's next version; a broken plan is refused with
    the path of the field at fault."""
    try:
        text = plan.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {plan}: {exc}") from None
    with _session(db) as session:
        version = edit_draft(session, draft_id, text, author=_author(by))
        number = version.number
    typer.echo(f"stored version {number} of draft {draft_id}")


@app.command(name="approve")
def approve_command(
    draft_id: DraftArgument,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the approved plan here.")
    ] = None,
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Approve a draft once its tests collect; `mge run` then takes it without --yes."""
    with _session(db) as session:
        version = approve_draft(session, draft_id, author=_author(by))
        approved = Plan.model_validate(version.plan)
        number = version.number
        target = output or (Path(version.draft.plan_path) if version.draft.plan_path else None)
    if target is not None:
        try:
            target.write_text(dump_plan(approved), encoding="utf-8")
        except OSError as exc:
            raise PlanError(f"cannot write {target}: {exc}") from None
    where = f"; wrote {target}" if target is not None else ""
    typer.echo(f"approved draft {draft_id} as version {number}{where}")


@app.command(name="reject")
def reject_command(
    draft_id: DraftArgument,
    reason: Annotated[str, typer.Option(help="Why, for the record.")] = "",
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Reject a draft: it stays on record and can no longer be approved or run."""
    with _session(db) as session:
        reject_draft(session, draft_id, author=_author(by), reason=reason)
    typer.echo(f"rejected draft {draft_id}")
