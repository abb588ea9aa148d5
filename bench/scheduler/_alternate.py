"""Before against after: the engine of several commits, run in turn on one machine.

`python -m bench.scheduler --alternate BEFORE,AFTER [--rounds N] [--shapes a,b]
[--executors local,ray]` checks each commit out (a detached git worktree in a
scratch directory) and runs their engines one after the other, round after round,
on the same synthetic plans, all measured by this checkout's bench
(`_drive.run_engine`): only the `src/` tree differs between the sides. Each run is
a process of its own (`--one-run`), so no cache, collector state or imported code
carries over from one side to the next; it reports its figures as one JSON line.

The machine is a shared virtual one: the same code's runs differ by more than many
changes are worth, and the load drifts within a sitting. Alternating puts that
drift on every side alike, and the table shows each run beside the median of each
side, so that a change is claimed only where every round agrees.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.scheduler import CORES, TARGET, measure_shape
from bench.scheduler._drive import Database

REPO = Path(__file__).resolve().parents[2]
#: How a child run marks the line that carries its figures.
_FIGURES = "bench.scheduler figures: "


@dataclass(frozen=True)
class Figures:
    """One run, as the table needs it."""

    shape: str
    executor: str
    status: str
    eager_seconds: float
    bound_seconds: float
    cpu_seconds: float
    stolen_seconds: float
    flush_seconds: float | None

    @property
    def ratio(self) -> float:
        return self.eager_seconds / self.bound_seconds


@dataclass(frozen=True)
class Row:
    round: int
    side: str
    figures: Figures


def one_run(shape: str, executor: str, *, modules: int, per_module: int) -> Figures:
    """One run of this process's engine, measured and bounded as the bench does."""
    database = Database()
    try:
        with tempfile.TemporaryDirectory(prefix="mge-bench-alternate-") as scratch:
            result = measure_shape(
                shape,
                Path(scratch),
                database,
                modules=modules,
                per_module=per_module,
                executors=[executor],
                peers=False,
                old_dask=False,
            )
    finally:
        database.close()
    run = result.runs[executor]
    return Figures(
        shape=shape,
        executor=executor,
        status=run.status,
        eager_seconds=run.generate_seconds,
        bound_seconds=result.bound(run).seconds,
        cpu_seconds=run.cpu_seconds,
        stolen_seconds=run.stolen_seconds,
        flush_seconds=run.flush_seconds,
    )


def print_one_run(args: argparse.Namespace) -> int:
    shape, executor = args.one_run.split(":", 1)
    figures = one_run(shape, executor, modules=args.modules, per_module=args.per_module)
    print(_FIGURES + json.dumps(asdict(figures)), flush=True)
    return 0


def figures_from(output: str) -> Figures | None:
    """The figures a child run printed, or None if it printed none."""
    for line in reversed(output.splitlines()):
        if line.startswith(_FIGURES):
            return Figures(**json.loads(line.removeprefix(_FIGURES)))
    return None


class CheckoutFailed(Exception):
    """A commit that could not be checked out, said in one line."""


@contextlib.contextmanager
def checkouts(revisions: list[str]) -> Iterator[list[Path]]:
    """A detached worktree per commit, in order, removed again on the way out."""
    paths: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="mge-bench-checkouts-") as scratch:
        try:
            for number, revision in enumerate(revisions):
                path = Path(scratch) / f"side-{number}"
                done = subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), revision],
                    capture_output=True,
                    text=True,
                )
                if done.returncode != 0:
                    why = (done.stderr.strip().splitlines() or ["git failed"])[-1]
                    raise CheckoutFailed(f"cannot check out {revision!r}: {why}")
                paths.append(path)
            yield paths
        finally:
            for path in paths:
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)],
                    check=False,
                    capture_output=True,
                )


def _child_run(tree: Path, shape: str, executor: str, args: argparse.Namespace) -> Figures | str:
    """One run of `tree`'s engine in a process of its own: its figures, or why none."""
    env = dict(os.environ)
    # The commit's `src` before anything else (the editable install included); the
    # bench itself is this checkout's.
    env["PYTHONPATH"] = os.pathsep.join([str(tree / "src"), str(REPO)])
    env.setdefault("RAY_AUTH_MODE", "disabled")
    env.setdefault("MGE_RAY_NUM_CPUS", str(CORES))
    command = [
        sys.executable,
        "-m",
        "bench.scheduler",
        "--one-run",
        f"{shape}:{executor}",
        "--modules",
        str(args.modules),
        "--per-module",
        str(args.per_module),
    ]
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    figures = figures_from(done.stdout)
    if figures is None:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"exit {done.returncode}: {last}"
    return figures


def alternate(args: argparse.Namespace, shapes: list[str], executors: list[str]) -> int:
    revisions = [r for r in args.alternate.split(",") if r]
    if len(revisions) < 2:
        print("bench.scheduler: --alternate needs two commits or more: a,b", file=sys.stderr)
        return 2
    # The same commit twice is an A/A run: the noise between two sides that differ
    # in nothing. Each side is named by its commit, numbered when one repeats.
    sides = [
        f"{revision} ({number})" if revisions.count(revision) > 1 else revision
        for number, revision in enumerate(revisions, start=1)
    ]
    try:
        with checkouts(revisions) as paths:
            rows = _rounds(dict(zip(sides, paths, strict=True)), sides, shapes, executors, args)
    except CheckoutFailed as error:
        print(f"bench.scheduler: {error}", file=sys.stderr)
        return 2
    if isinstance(rows, str):
        print(f"bench.scheduler: {rows}", file=sys.stderr)
        return 1
    print(alternate_table(rows, sides))
    return 0


def _rounds(
    trees: dict[str, Path],
    sides: list[str],
    shapes: list[str],
    executors: list[str],
    args: argparse.Namespace,
) -> list[Row] | str:
    """Every run, round after round; or why one gave no figures."""
    rows: list[Row] = []
    for number in range(1, args.rounds + 1):
        # Each round turns the order round, so no side always runs first.
        order = sides if number % 2 else sides[::-1]
        for shape in shapes:
            for executor in executors:
                for side in order:
                    outcome = _child_run(trees[side], shape, executor, args)
                    if isinstance(outcome, str):
                        return f"{side} {shape} {executor}: {outcome}"
                    rows.append(Row(number, side, outcome))
                    print(f"  round {number} {side} {_cells(outcome)}", flush=True)
    return rows


def _cells(figures: Figures) -> str:
    flush = "n/a" if figures.flush_seconds is None else f"{1000 * figures.flush_seconds:.0f} ms"
    status = "" if figures.status == "completed" else f" ({figures.status})"
    return (
        f"{figures.shape} {figures.executor}{status}: {figures.eager_seconds:.2f} s, "
        f"{figures.ratio:.2f}x of {figures.bound_seconds:.2f} s, CPU {figures.cpu_seconds:.2f} s, "
        f"stolen {figures.stolen_seconds:.2f} s, flush {flush}"
    )


def alternate_table(rows: list[Row], sides: list[str]) -> str:
    """Per graph and executor: each side's runs in round order, then their medians."""
    lines = [
        "| graph | executor | commit | eager s, round by round | median | ÷ bound, "
        "round by round | median | ≤ 1.10x | CPU s, median |",
        "|---|---|---|---|---:|---|---:|---|---:|",
    ]
    keys = list(dict.fromkeys((r.figures.shape, r.figures.executor) for r in rows))
    for shape, executor in keys:
        for side in sides:
            runs = [
                r.figures
                for r in sorted(rows, key=lambda r: r.round)
                if r.side == side and (r.figures.shape, r.figures.executor) == (shape, executor)
            ]
            if not runs:
                continue
            ratios = [f.ratio for f in runs]
            eager = statistics.median(f.eager_seconds for f in runs)
            ratio = statistics.median(ratios)
            lines.append(
                f"| {shape} | {executor} | {side} "
                f"| {' / '.join(f'{f.eager_seconds:.2f}' for f in runs)} | {eager:.2f} "
                f"| {' / '.join(f'{x:.2f}' for x in ratios)} | {ratio:.2f}x "
                f"| {sum(x <= TARGET for x in ratios)} of {len(ratios)} "
                f"| {statistics.median(f.cpu_seconds for f in runs):.2f} |"
            )
    return "\n".join(lines)
