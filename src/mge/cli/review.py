"""`mge review ...`: the human review queue from the command line.

Every action takes the reviewer's name from `--as`, else `MGE_REVIEWER`, else the
login name; refused actions print one `error:` line and change nothing.
"""

from __future__ import annotations

import getpass
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.syntax import Syntax

from mge.cli._common import DbOption, JsonOption, console, database_url, print_json
from mge.db import migrate, session_scope
from mge.db.models import ReviewStatus
from mge.errors import ConfigError, ValidationFailed
from mge.review import (
    OPEN_STATUSES,
    ReviewSettings,
    actions,
    ensure_model_review,
    get_item,
    item_view,
    list_queue,
    queue_doubtful,
    summary_view,
)
from mge.review.file_view import in_file_lines

app = typer.Typer(
    help="Review the atoms MGE is not sure of: list, show, claim, approve, edit, ...",
    no_args_is_help=True,
)

ReviewId = Annotated[str, typer.Argument(help="The review item's id (see `mge review list`).")]
AsOption = Annotated[
    str | None,
    typer.Option(
        "--as", help="Reviewer name (default: MGE_REVIEWER or the login name).", show_default=False
    ),
]
NoteOption = Annotated[str | None, typer.Option("--note", help="Why (kept in the audit trail).")]


def _actor(name: str | None) -> str:
    if name:
        return name
    env = os.environ.get("MGE_REVIEWER")
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        raise ConfigError("no reviewer name: pass --as NAME or set MGE_REVIEWER") from None


def _engine(db: str | None, *, write: bool = True) -> Any:
    return migrate.checked_engine(database_url(db), write=write)


def _report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    line = f"{result['action']}: review {result['review_id']} is {result['status']}"
    line += f" (atom {result['atom_status']})"
    if result.get("unblocked"):
        line += f"; {result['unblocked']} blocked atoms back to pending (run `mge resume`)"
    console.print(line)
    if result.get("message"):
        console.print(result["message"])


@app.command("list")
def list_command(
    run: Annotated[str | None, typer.Option("--run", help="Only this run's items.")] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Closed items too (approved, edited, ...).")
    ] = False,
    refresh: Annotated[
        bool,
        typer.Option("--refresh", help="Score the run's atoms and queue the doubtful ones first."),
    ] = False,
    bottom_share: Annotated[
        float, typer.Option("--bottom-share", help="With --refresh: share of atoms to queue.")
    ] = 0.15,
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", help="With --refresh: also queue atoms under this confidence."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The queue, most urgent first (priority 1 before 5)."""
    settings = ReviewSettings(bottom_share=bottom_share, threshold=threshold)
    statuses = tuple(ReviewStatus) if show_all else OPEN_STATUSES
    with session_scope(_engine(db, write=False)) as session:
        if refresh:
            if run is None:
                raise ConfigError("--refresh needs --run RUN_ID")
            queue_doubtful(session, run_id=run, settings=settings)
        items = list_queue(session, run_id=run, statuses=statuses, limit=limit)
        views = [summary_view(item, settings=settings) for item in items]
    if as_json:
        print_json({"items": views, "count": len(views)})
        return
    if not views:
        console.print("the review queue is empty")
        return
    typer.echo(
        f"{'prio':>4}  {'id':8}  {'status':11}  {'blocks':>6}  {'conf':>4}  {'holder':12}  atom"
    )
    for view in views:
        typer.echo(
            f"{'P' + str(view['priority']):>4}  {view['id'][:8]:8}  {view['status']:11}  "
            f"{view['blocked_dependents']:>6}  {view['confidence']:>4.2f}  "
            f"{(view['assigned_to'] or '-')[:12]:12}  {view['atom']}  ({view['reason']})"
        )


def _resolve(session: Any, review_id: str) -> str:
    """Accept a full id or a unique prefix of one, as `list` prints them."""
    if len(review_id) >= 32:
        return review_id
    matches = [
        str(item.id)
        for item in list_queue(session, statuses=tuple(ReviewStatus))
        if str(item.id).startswith(review_id.lower())
    ]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ConfigError(f"review id prefix {review_id!r} is ambiguous")
    return review_id


def _model_review_line(review: dict[str, Any]) -> str:
    if review["status"] == "done":
        line = f"model review ({review['model']}): {review['verdict']}"
        if review.get("summary"):
            line += f" — {review['summary']}"
        return (
            f"{line}  [{review['input_tokens']} in / {review['output_tokens']} out tokens, "
            f"${review['cost_usd']:.4f}]"
        )
    return f"model review: {review.get('note') or review['status']}"


@app.command("show")
def show_command(
    review_id: ReviewId,
    ask_model: Annotated[
        bool,
        typer.Option(
            "--ask-model", help="Ask the model to review again even if a review is stored."
        ),
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One item: code, context, evidence, suggestions, diff and its audit trail.

    With a real model configured (the run's), the model reviews the code the first
    time the item is shown; the review is stored and shown again after that."""
    with session_scope(_engine(db, write=False)) as session:
        item = get_item(session, review_id=_resolve(session, review_id))
        ensure_model_review(session, item, force=ask_model)
        view = item_view(session, item)
    if as_json:
        print_json(view)
        return
    console.print(
        f"[bold]{view['atom']}[/bold]  {view['status']}  priority P{view['priority']}"
        f"  blocks {view['blocked_dependents']}  confidence {view['confidence']:.2f}"
        f"  due {view['due_at']}"
    )
    console.print(f"reason: {view['reason']}")
    if view["assigned_to"]:
        console.print(f"claimed by {view['assigned_to']} until {view['claim_expires_at']}")
    # Lines are the file's, as on the review page: the code numbered from where it
    # sits, findings and check messages moved there, none of them "line 0".
    first = view["lines"]["first"]
    console.print(
        Syntax(view["code"] or "", view["language"], line_numbers=True, start_line=first or 1)
    )
    console.print(_model_review_line(view["model_review"]), markup=False)
    for suggestion in view["suggestions"]:
        where = f"line {suggestion['file_line']}" if suggestion["file_line"] else "this atom"
        console.print(
            f"  [{suggestion['severity']}] {where}: {suggestion['message']}"
            f"  ({suggestion['source']})",
            markup=False,
        )
    if view["last_error"]:
        console.print(f"last errors:\n{in_file_lines(view['last_error'], first)}", markup=False)
    if view["diff_previous"]:
        console.print(Syntax(view["diff_previous"], "diff"))
    for event in view["events"]:
        console.print(
            f"  {event['at']}  {event['actor']}  {event['action']}  → {event['to_status']}"
        )


@app.command("claim")
def claim_command(
    review_id: ReviewId, actor: AsOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Reserve an item so no one else acts on it (the reservation expires)."""
    with session_scope(_engine(db)) as session:
        result = actions.claim(session, review_id=_resolve(session, review_id), actor=_actor(actor))
    _report(result.to_dict(), as_json)


@app.command("release")
def release_command(
    review_id: ReviewId, actor: AsOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Give a reservation back."""
    with session_scope(_engine(db)) as session:
        result = actions.release(
            session, review_id=_resolve(session, review_id), actor=_actor(actor)
        )
    _report(result.to_dict(), as_json)


@app.command("approve")
def approve_command(
    review_ids: Annotated[list[str], typer.Argument(help="One or more review ids.")],
    actor: AsOption = None,
    note: NoteOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Accept the atom's code; several ids approve each, one audited decision apiece."""
    name = _actor(actor)
    with session_scope(_engine(db)) as session:
        if len(review_ids) == 1:
            result = actions.approve(
                session, review_id=_resolve(session, review_ids[0]), actor=name, note=note
            )
            outcomes = None
        else:
            outcomes = actions.bulk_approve(
                session,
                review_ids=[_resolve(session, r) for r in review_ids],
                actor=name,
                note=note,
            )
    if outcomes is None:
        _report(result.to_dict(), as_json)
        return
    if as_json:
        print_json({"results": outcomes})
    else:
        for outcome in outcomes:
            if outcome["ok"]:
                _report(outcome, False)
            else:
                console.print(f"refused: review {outcome['review_id']}: {outcome['error']}")
    if not all(outcome["ok"] for outcome in outcomes):
        raise typer.Exit(1)


def _edited_in_editor(code: str) -> str:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise ConfigError("no --file given and neither $VISUAL nor $EDITOR is set")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False, encoding="utf-8") as handle:
        handle.write(code)
        path = Path(handle.name)
    try:
        completed = subprocess.run([*shlex.split(editor), str(path)], check=False)
        if completed.returncode != 0:
            raise ConfigError(f"the editor exited with status {completed.returncode}")
        return path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)


@app.command("edit")
def edit_command(
    review_id: ReviewId,
    file: Annotated[
        Path | None, typer.Option("--file", help="The new code (default: open $EDITOR).")
    ] = None,
    actor: AsOption = None,
    note: NoteOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace the atom's code; refused with the errors if it fails atomic validation."""
    name = _actor(actor)
    engine = _engine(db)
    with session_scope(engine) as session:
        resolved = _resolve(session, review_id)
        current = get_item(session, review_id=resolved).atom.code or ""
    if file is not None:
        try:
            code = file.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"{file}: {error.strerror or error}") from None
    else:
        code = _edited_in_editor(current)
    if code == current:
        raise ValidationFailed("the code is unchanged; use `mge review approve` to accept it")
    with session_scope(engine) as session:
        result = actions.edit(session, review_id=resolved, actor=name, code=code, note=note)
    _report(result.to_dict(), as_json)


@app.command("regenerate")
def regenerate_command(
    review_id: ReviewId,
    feedback: Annotated[
        str, typer.Option("--feedback", help="What is wrong, for the model's next attempt.")
    ],
    actor: AsOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ask the model again with your feedback (a new stored attempt)."""
    with session_scope(_engine(db)) as session:
        result = actions.regenerate(
            session, review_id=_resolve(session, review_id), actor=_actor(actor), feedback=feedback
        )
    _report(result.to_dict(), as_json)
    if not result.passed:
        raise typer.Exit(1)


@app.command("skip")
def skip_command(
    review_id: ReviewId,
    actor: AsOption = None,
    note: NoteOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pass on an item; it stays in the queue for someone else."""
    with session_scope(_engine(db)) as session:
        result = actions.skip(
            session, review_id=_resolve(session, review_id), actor=_actor(actor), note=note
        )
    _report(result.to_dict(), as_json)


@app.command("reject")
def reject_command(
    review_id: ReviewId,
    note: Annotated[str, typer.Option("--note", help="What is wrong (required).")],
    actor: AsOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send the item back to the queue, one priority more urgent, for someone to fix."""
    with session_scope(_engine(db)) as session:
        result = actions.reject(
            session, review_id=_resolve(session, review_id), actor=_actor(actor), note=note
        )
    _report(result.to_dict(), as_json)


@app.command("calibrate")
def calibrate_command(
    run: Annotated[str, typer.Argument(help="A replay run (its reference is the truth).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """How well confidence ranks the wrong atoms first on a replay run."""
    from mge.review.calibration import measure
    from mge.review.queue import run_of

    with session_scope(_engine(db)) as session:
        record = run_of(session, run)
        if not record.simulated:
            raise ConfigError(f"run {record.id} used a real model; only replay runs know the truth")
        figures = measure(session, masterplan_id=record.masterplan_id).to_dict()
    if as_json:
        print_json({"run_id": str(record.id), **figures})
        return
    for key, value in figures.items():
        console.print(
            f"{key}: {value if value is None or isinstance(value, int) else round(value, 4)}"
        )
