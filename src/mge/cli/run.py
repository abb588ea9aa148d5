"""`mge run`, `mge resume`, `mge status`: generation runs from the command line."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from mge.cli._common import (
    DbOption,
    JsonOption,
    console,
    database_url,
    print_json,
    resume_hint,
)
from mge.db import make_engine, migrate, session_scope
from mge.db.models import RunStatus
from mge.errors import BudgetExhausted
from mge.execute import (
    FanOut,
    build_settings,
    check_budget,
    check_executor_database,
    check_ray_address,
    check_ray_installed,
    create_run,
    execute_run,
    prepare_resume,
    run_report,
)
from mge.monitoring import MetricsExporter, MetricsProgress, default_metrics, start_exporter
from mge.plan import load_plan
from mge.planner import gate_run
from mge.review import rank_after_run
from mge.store.drafts import link_run
from mge.validate.sandbox import ensure_available

STATUS_EXIT = {
    RunStatus.COMPLETED: 0,
    RunStatus.BUDGET_EXHAUSTED: BudgetExhausted.exit_code,
    RunStatus.INTERRUPTED: 130,
    RunStatus.FAILED: 1,
}


class _ConsoleProgress:
    """A Rich bar on a terminal, one plain line per stage and failure otherwise."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.live = console.is_terminal and not quiet
        self.bar: Progress | None = None
        self.task: Any = None
        self.failed = 0
        self.done = 0
        self.cost = 0.0

    def __enter__(self) -> _ConsoleProgress:
        if self.live:
            self.bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("failed {task.fields[failed]}  ${task.fields[cost]:.4f}"),
                TimeElapsedColumn(),
                console=console,
            )
            self.bar.__enter__()
        return self

    def __exit__(self, *args: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)

    def event(self, kind: str, **data: Any) -> None:
        if kind == "stage" and data.get("name") == "generate":
            total, done = int(data["atoms"]), int(data.get("done", 0))
            self.done = done
            if self.bar is not None:
                self.task = self.bar.add_task(
                    "atoms", total=total, completed=done, failed=0, cost=0.0
                )
            elif not self.quiet:
                console.print(f"generating {total} atoms ({done} already done)")
        elif kind == "stage" and not self.quiet and self.bar is None:
            console.print(f"stage: {data.get('name')}")
        elif kind == "attempt":
            self.cost = float(data.get("cost_usd") or 0.0)
        elif kind == "atom_failed":
            self.failed += 1
            if self.bar is None and not self.quiet:
                console.print(f"failed: {data['atom']} (blocks {data.get('blocked', 0)})")
        if kind in ("atom_done", "atom_failed") and self.bar is not None and self.task is not None:
            if kind == "atom_done":
                self.bar.advance(self.task)
            self.bar.update(self.task, failed=self.failed, cost=self.cost)


def _metrics_sink(
    engine: Engine, run_id: uuid.UUID, port: int | None
) -> tuple[MetricsProgress | None, MetricsExporter | None]:
    """With `--metrics-port`, serve Prometheus metrics and return (sink, exporter)."""
    if port is None:
        return None, None
    exporter = start_exporter(port)
    report = run_report(engine, run_id)
    sink = MetricsProgress(default_metrics().run(report["plan"], model=report["model"]))
    typer.echo(f"metrics at {exporter.url}", err=True)
    return sink, exporter


def _execute(
    db_url: str, run_id: uuid.UUID, *, quiet: bool, metrics_port: int | None = None
) -> RunStatus:
    engine = make_engine(db_url)
    stop = asyncio.Event()
    metrics, exporter = _metrics_sink(engine, run_id, metrics_port)

    async def main() -> RunStatus:
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGINT, stop.set)
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
        with _ConsoleProgress(quiet=quiet) as progress:
            sink = progress if metrics is None else FanOut(progress, metrics)
            return await execute_run(
                engine, run_id, progress=sink, stop=stop, after_run=rank_after_run
            )

    try:
        return asyncio.run(main())
    finally:
        if exporter is not None:
            exporter.close()
        engine.dispose()


def print_report(report: dict[str, Any]) -> None:
    table = Table(title=f"run {report['run_id']}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    atoms = report["atoms"]
    tests = report["tests"]
    rows = [
        ("status", report["status"]),
        ("model", f"{report['model']}{' (simulated)' if report['simulated'] else ''}"),
        (
            "atoms",
            f"{atoms['completed']}/{atoms['total']} completed, {atoms['failed']} failed, "
            f"{atoms['blocked']} blocked, {atoms['in_review']} in review",
        ),
        ("waves / max parallelism", f"{report['waves']} / {report['max_parallelism']}"),
        ("critical path", f"{report['critical_path']} atoms"),
        ("attempts", str(report["attempts"])),
        ("first-try success", _percent(report["first_try_success_rate"], ratio=True)),
        ("tests", f"{tests['passed']}/{tests['total']} passed"),
        ("precision", _percent(report["precision_percent"])),
        ("reference match", _percent(report["reference_match_percent"])),
        (
            "tokens in / out / cached",
            f"{report['tokens']['input']:,} / {report['tokens']['output']:,} / "
            f"{report['tokens']['cached']:,}",
        ),
        ("cost", f"${report['cost_usd']:.4f}"),
        ("duration", f"{report['duration_seconds']:.1f} s"),
        ("output", str(report["out_dir"])),
    ]
    if report.get("error"):
        rows.append(("stopped because", str(report["error"])))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


def _percent(value: float | None, *, ratio: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100 if ratio else value:.1f}%"


def _finish(db_url: str, run_id: uuid.UUID, status: RunStatus, *, as_json: bool) -> None:
    engine = make_engine(db_url)
    try:
        report = run_report(engine, run_id)
    finally:
        engine.dispose()
    if as_json:
        print_json(report)
    else:
        print_report(report)
    if status is RunStatus.FAILED and report.get("error"):
        print(f"error: {report['error']}", file=sys.stderr)
    if status in (RunStatus.INTERRUPTED, RunStatus.BUDGET_EXHAUSTED, RunStatus.FAILED):
        print(resume_hint(run_id, db_url), file=sys.stderr)
    raise typer.Exit(STATUS_EXIT.get(status, 1))


ModelOption = Annotated[str, typer.Option("--model", help="replay, anthropic:NAME or openai:NAME.")]
MetricsPortOption = Annotated[
    int | None,
    typer.Option(
        "--metrics-port",
        min=0,
        max=65535,
        help="Serve Prometheus metrics on 127.0.0.1:PORT during the run (0: any free port).",
    ),
]


def run(
    plan: Annotated[Path, typer.Argument(help="The masterplan (YAML or JSON).")],
    model: ModelOption = "replay",
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible server URL.")] = None,
    fault_rate: Annotated[float, typer.Option(help="Replay: share of faulty answers.")] = 0.0,
    fault_kinds: Annotated[
        str | None, typer.Option(help="Replay: fault kinds, comma-separated.")
    ] = None,
    fault_profile: Annotated[
        str,
        typer.Option(help="Replay: uniform, or realistic (the mix of studies, repeats, size)."),
    ] = "uniform",
    seed: Annotated[int, typer.Option(help="Replay: seed of the faults.")] = 0,
    latency_ms: Annotated[
        float | None, typer.Option(help="Replay: mean simulated latency.")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Atoms in flight at most.")] = 100,
    schedule: Annotated[str, typer.Option(help="eager or waves.")] = "eager",
    max_attempts: Annotated[int, typer.Option(help="Attempts per atom.")] = 3,
    budget_usd: Annotated[float | None, typer.Option(help="Hard cost cap in dollars.")] = None,
    out: Annotated[Path, typer.Option(help="Where the project is written.")] = Path("out"),
    force: Annotated[bool, typer.Option(help="Write into a non-empty --out.")] = False,
    tests: Annotated[
        Path | None,
        typer.Option(
            "--tests",
            help="Where the plan's test files are read from (default: its reference);"
            " `mge plan new` writes them to PLAN.tests/.",
        ),
    ] = None,
    levels: Annotated[
        str, typer.Option(help="Validation levels: all (L1-L4 with blame) or atomic (L1 only).")
    ] = "all",
    no_tests: Annotated[
        bool, typer.Option("--no-tests", help="Do not run the plan's tests.")
    ] = False,
    mutation: Annotated[
        bool, typer.Option(help="Mutation-test the atoms after acceptance (a review signal).")
    ] = True,
    validation_workers: Annotated[
        int | None,
        typer.Option(
            help="Processes for atomic validation (0: none; default: one fewer than the "
            "cores for runs of 1,000 atoms or more)."
        ),
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            help="Where validation, test runs and mutation testing are done: local (this "
            "machine) or ray (a Ray cluster; needs PostgreSQL and the ray extra of mge)."
        ),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="With --executor ray: a running cluster (HOST:PORT or auto); default: "
            "a small one started on this machine."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress output.")] = False,
    metrics_port: MetricsPortOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Run a drafted plan that is not approved yet.")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Generate the code base a plan describes.

    A plan drafted by `mge plan new` runs once approved (or with --yes); the run
    records which version of it it executed, and reads its tests from the draft.
    """
    settings = build_settings(
        model=model,
        base_url=base_url,
        fault_rate=fault_rate,
        fault_kinds=fault_kinds.split(",") if fault_kinds else None,
        fault_profile=fault_profile,
        seed=seed,
        latency_ms=latency_ms,
        concurrency=concurrency,
        schedule=schedule,
        max_attempts=max_attempts,
        budget_usd=budget_usd,
        out_dir=str(out),
        tests_dir=str(tests.resolve()) if tests is not None else None,
        run_tests=not no_tests,
        levels=levels,
        mutation=mutation,
        validation_workers=validation_workers,
        executor=executor,
        ray_address=ray_address,
    )
    ensure_available()  # before anything is stored: without a sandbox nothing can run
    url = database_url(db)
    if settings.executor == "ray":
        # Refused before anything is stored or started: one line, exit 2.
        check_executor_database(settings.executor, url)
        check_ray_installed()
        if settings.ray_address:
            check_ray_address(settings.ray_address)
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            gate = gate_run(session, load_plan(plan), yes=yes)
            version_id = gate.version.id if gate.version is not None else None
        if tests is None and gate.tests_dir is not None:
            settings = settings.model_copy(update={"tests_dir": gate.tests_dir})
        run_id = create_run(engine, plan, settings, force=force)
        if version_id is not None:
            with session_scope(engine) as session:
                link_run(session, run_id, version_id)
    finally:
        engine.dispose()
    if not as_json and not quiet:
        console.print(f"run {run_id} started")
    status = _execute(url, run_id, quiet=quiet or as_json, metrics_port=metrics_port)
    _finish(url, run_id, status, as_json=as_json)


def resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue (id or unique prefix).")],
    budget_usd: Annotated[float | None, typer.Option(help="A new cost cap.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Atoms in flight at most.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress output.")] = False,
    metrics_port: MetricsPortOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Continue a run that was interrupted, crashed or hit its budget."""
    check_budget(budget_usd)
    ensure_available()
    url = database_url(db)
    engine = migrate.checked_engine(url, write=True)
    try:
        full_id = prepare_resume(engine, run_id, budget_usd=budget_usd, concurrency=concurrency)
    finally:
        engine.dispose()
    status = _execute(url, full_id, quiet=quiet or as_json, metrics_port=metrics_port)
    _finish(url, full_id, status, as_json=as_json)


def status(
    run_id: Annotated[str, typer.Argument(help="The run (id or unique prefix).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a run's report."""
    engine = migrate.checked_engine(database_url(db), write=False)
    try:
        report = run_report(engine, run_id)
    finally:
        engine.dispose()
    if as_json:
        print_json(report)
    else:
        print_report(report)


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(resume)
    app.command()(status)
