"""`mge atomize` and `mge skeleton`: thin shells over `mge.atomize`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from mge.atomize import (
    AtomizeConfig,
    FileResult,
    atomize_paths,
    check_partition,
    skeleton,
    summarize,
)
from mge.errors import AtomizeError, ValidationFailed

__all__ = ["register"]

_stdout = Console(highlight=False, soft_wrap=True)
_stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def _check(results: list[FileResult]) -> list[str]:
    """Files whose atoms, joined, are not the bytes on disk now."""
    failures: list[str] = []
    for result in results:
        try:
            source = Path(result.path).read_bytes()
        except OSError as exc:
            raise AtomizeError(f"{result.path}: cannot read ({exc.strerror or exc})") from exc
        if not check_partition(result, source):
            failures.append(result.path)
    return failures


def _table(results: list[FileResult], stats: dict[str, Any]) -> None:
    table = Table(title=None, show_edge=False, pad_edge=False)
    for column in ("file", "lang", "bytes", "atoms", "LOC", "max LOC", "violations"):
        table.add_column(
            column,
            justify="left" if column in {"file", "lang"} else "right",
            overflow="fold",
        )
    for result in results:
        file_stats = result.stats()
        table.add_row(
            result.path,
            result.language,
            str(result.size_bytes),
            str(file_stats["atoms"]),
            str(file_stats["loc"]),
            str(file_stats["loc_max"]),
            str(sum(file_stats["violations"].values())),
        )
    _stdout.print(table)
    _stdout.print(
        f"{stats['files']} files, {stats['atoms']} atoms, {stats['loc']} LOC; "
        f"atom LOC p50 {stats['loc_p50']}, p90 {stats['loc_p90']}, max {stats['loc_max']}; "
        f"{stats['atoms_within_max_loc']} of {stats['atoms']} within max LOC"
    )
    kinds = ", ".join(f"{name} {count}" for name, count in stats["kinds"].items())
    _stdout.print(f"kinds: {kinds or 'none'}")
    violations = ", ".join(f"{name} {count}" for name, count in stats["violations"].items())
    _stdout.print(f"violations: {violations or 'none'}")


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def atomize_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to atomize.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print files, atoms and stats as one JSON object.")
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Prove every file's atoms rejoin to its exact bytes."),
    ] = False,
    target_loc: Annotated[int, typer.Option(help="Merge small siblings up to this LOC.")] = 10,
    max_loc: Annotated[int, typer.Option(help="Split units larger than this LOC.")] = 15,
    max_complexity: Annotated[
        float, typer.Option(help="Split units more complex than this.")
    ] = 3.0,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", help="Gitignore-style glob to leave out (repeatable)."),
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(help="Force a language: python, typescript, tsx, javascript."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(min=0, help="Processes to atomize in; 0 = one per available CPU."),
    ] = 0,
) -> None:
    """Cut source files into lossless atoms (Python, TypeScript, TSX, JavaScript)."""
    config = AtomizeConfig(target_loc=target_loc, max_loc=max_loc, max_complexity=max_complexity)
    results = atomize_paths(
        paths,
        config=config,
        exclude=exclude or (),
        language=language,
        on_notice=lambda line: _stderr.print(f"notice: {line}"),
        workers=workers or available_cpus(),
    )
    stats = summarize(results, config)
    failures = _check(results) if check else []
    if check:
        stats["partition_checked"] = len(results)
        stats["partition_failures"] = failures
    if as_json:
        payload = {
            "files": [result.to_dict() for result in results],
            "atoms": [atom.to_dict() for result in results for atom in result.atoms],
            "stats": stats,
        }
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    else:
        _table(results, stats)
        if check and not failures:
            _stdout.print(f"partition check: {len(results)} files rejoin byte for byte")
    if failures:
        raise ValidationFailed(
            f"partition check failed for {len(failures)} file(s): " + ", ".join(failures)
        )


def skeleton_command(
    file: Annotated[Path, typer.Argument(help="The source file.")],
    language: Annotated[
        str | None,
        typer.Option(help="Force a language: python, typescript, tsx, javascript."),
    ] = None,
) -> None:
    """Print a file's interface: imports, constants, classes, signatures, docstrings."""
    if not file.exists():
        raise AtomizeError(f"{file}: no such file or directory")
    if not file.is_file():
        raise AtomizeError(f"{file}: not a regular file")
    try:
        source = file.read_bytes()
    except OSError as exc:
        raise AtomizeError(f"{file}: cannot read ({exc.strerror or exc})") from exc
    if b"\x00" in source[:8192]:
        raise AtomizeError(f"{file}: binary file, not source code")
    sys.stdout.write(skeleton(source, str(file), language))


def register(app: typer.Typer) -> None:
    """Add `atomize` and `skeleton` to the `mge` app."""
    app.command("atomize")(atomize_command)
    app.command("skeleton")(skeleton_command)
