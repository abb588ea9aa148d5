"""`mge demo`: the main job on the embedded default — the bundled example plan,
the replay model with injected faults, a fresh SQLite database under ./.mge/."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from mge.cli._common import console
from mge.cli.run import _execute, _finish
from mge.db import make_engine, migrate
from mge.errors import ConfigError
from mge.execute import build_settings, create_run

EXAMPLE = Path("examples") / "inventory" / "plan.yaml"
#: The bundled examples by name (`mge demo --example NAME`).
EXAMPLES = {
    "python": EXAMPLE,
    "ts": Path("examples") / "ts-ledger" / "plan.yaml",
    "ts-calc": Path("examples") / "ts-calc" / "plan.yaml",
}


def _example_plan(name: str = "python") -> Path:
    if name not in EXAMPLES:
        raise ConfigError(f"unknown example {name!r} (use one of: {', '.join(EXAMPLES)})")
    for base in (Path.cwd(), *Path(__file__).resolve().parents):
        candidate = base / EXAMPLES[name]
        if candidate.is_file():
            return candidate
    raise ConfigError(f"cannot find the bundled example {EXAMPLES[name]}; pass --plan")


def demo(
    plan: Annotated[Path | None, typer.Option(help="Plan to run (default: the example).")] = None,
    example: Annotated[
        str,
        typer.Option(
            help="The bundled example: python (inventory), ts (ts-ledger, node) or ts-calc"
            " (an expression language, node)."
        ),
    ] = "python",
    out: Annotated[Path, typer.Option(help="Where the project is written.")] = Path("out/demo"),
    workdir: Annotated[Path, typer.Option(help="Where the demo database lives.")] = Path(".mge"),
    fault_rate: Annotated[float, typer.Option(help="Share of faulty replay answers.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the injected faults.")] = 7,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Regenerate the bundled example with the replay model and print the run report."""
    plan_path = plan or _example_plan(example)
    database = workdir / "demo.db"
    database.parent.mkdir(parents=True, exist_ok=True)
    for stale in (database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))):
        stale.unlink(missing_ok=True)
    url = f"sqlite:///{database}"
    migrate.upgrade(url)
    if out.exists() and (out / ".mge-demo").is_file():
        shutil.rmtree(out)
    settings = build_settings(model="replay", fault_rate=fault_rate, seed=seed, out_dir=str(out))
    engine = make_engine(url)
    try:
        run_id = create_run(engine, plan_path, settings)
    finally:
        engine.dispose()
    out.mkdir(parents=True, exist_ok=True)
    (out / ".mge-demo").write_text("written by mge demo; removed by the next one\n")
    if not json_output:
        console.print(
            f"demo: {plan_path} with replay (fault rate {fault_rate}, seed {seed}) "
            f"on {url}, output in {out}"
        )
    status = _execute(url, run_id, quiet=json_output)
    _finish(url, run_id, status, as_json=json_output)


def register(app: typer.Typer) -> None:
    app.command()(demo)
