"""Atomize one source or many paths: parse, decompose, inject context, judge."""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from operator import attrgetter
from pathlib import Path
from typing import TypeVar

from mge._collector import collector_paused
from mge.atomize._atomicity import judge
from mge.atomize._context import inject_context
from mge.atomize._decompose import decompose
from mge.atomize._languages import check_language, detect_language, parse
from mge.atomize._model import Atom, AtomizeConfig, FileResult
from mge.atomize._queries import capture
from mge.atomize._text import LineIndex, nws_count
from mge.atomize._walk import walk_paths
from mge.errors import AtomizeError

__all__ = [
    "atomize_paths",
    "atomize_source",
    "atomize_sources",
    "check_partition",
    "measure_source",
]

_DEFAULT = AtomizeConfig()
_START = attrgetter("start_byte")


def atomize_source(
    source: bytes,
    path: str,
    *,
    language: str | None = None,
    config: AtomizeConfig = _DEFAULT,
    keep_tree: bool = False,
) -> FileResult:
    """The atoms of one file's bytes, partitioning them exactly.

    Args:
        source: the raw bytes; they need not be valid UTF-8 and may hold syntax
            errors (atoms holding ERROR/MISSING nodes get a `syntax_error` violation).
        path: the file's name as it should appear in atom ids and `file` fields.
        language: forces a language; by default it comes from `path`'s extension.
        config: size and complexity bounds.
        keep_tree: keep the syntax tree on the result (`FileResult.tree`) so that
            building the dependency graph next need not parse the file again.

    Raises:
        AtomizeError: the language is unknown or cannot be told from `path`.
    """
    if isinstance(source, str):
        raise AtomizeError(f"{path}: atomize_source takes bytes, got text")
    name = check_language(language) if language else detect_language(path)
    notices: list[str] = []
    try:
        source.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
        notices.append(f"{path}: not valid UTF-8; atomized as raw bytes")
    tree = parse(source, name)
    captures = capture(tree, name)
    index = LineIndex(source, [(node.start_byte, node.end_byte) for node in captures.comment])
    decisions = [node.start_byte for node in captures.decision]
    bodies = sorted(map(_START, captures.bodies))
    pieces = decompose(source, tree.root_node, name, config, index, decisions, bodies)
    facts = inject_context(source, name, pieces, captures)
    verdicts = judge(pieces, facts, config)
    ordinals: dict[str, int] = {}
    atoms: list[Atom] = []
    for piece, fact, (score, violations) in zip(pieces, facts, verdicts, strict=True):
        ordinal = ordinals.get(piece.qualname, 0)
        ordinals[piece.qualname] = ordinal + 1
        code = source[piece.start : piece.end]
        atoms.append(
            Atom(
                id=f"{path}::{piece.qualname}#{ordinal}",
                file=path,
                language=name,
                kind=piece.kind,
                name=piece.name,
                qualname=piece.qualname,
                start_byte=piece.start,
                end_byte=piece.end,
                start_line=index.line_of(piece.start) + 1,
                end_line=index.line_of(piece.end - 1) + 1,
                loc=piece.loc,
                nws_chars=nws_count(code),
                complexity=float(1 + piece.decisions),
                code=code,
                atomicity_score=score,
                violations=violations,
                context=fact.context,
                context_completeness=fact.completeness,
            )
        )
    return FileResult(
        path=path,
        language=name,
        size_bytes=len(source),
        atoms=atoms,
        has_syntax_error=tree.root_node.has_error,
        utf8=utf8,
        notices=notices,
        tree=tree if keep_tree else None,
    )


def check_partition(result: FileResult, source: bytes) -> bool:
    """True when `result`'s atoms cover `source` exactly: in order, no gap, no overlap."""
    return result.partition_ok(source)


def atomize_paths(
    paths: Iterable[str | Path],
    *,
    config: AtomizeConfig = _DEFAULT,
    exclude: Iterable[str] = (),
    language: str | None = None,
    on_notice: Callable[[str], None] | None = None,
    keep_trees: bool = False,
    workers: int = 1,
) -> list[FileResult]:
    """Atomize files and directory trees (see `walk_paths` for what a walk skips).

    Args:
        paths: files and directories.
        config: size and complexity bounds.
        exclude: gitignore-style globs to leave out.
        language: forces a language on every file.
        on_notice: receives one line per notice (skipped files, non-UTF-8 files).
        keep_trees: keep each file's syntax tree (see `atomize_source`); for a graph
            built right after, at the cost of memory until the graph releases them.
        workers: processes to atomize in; above 1, files are shared out in
            contiguous runs to that many forked processes (when there are enough
            files and trees need not be kept: a tree cannot leave its process).
            The results are the same, in the same order. Fork only from a process
            that runs no other threads (the CLI does; a server should not).

    Raises:
        AtomizeError: a missing path, or an explicitly named file that is binary or
            of an unsupported type.
    """
    forced = check_language(language) if language else None
    walk = walk_paths(paths, exclude=exclude, language=forced)
    jobs = [(file_path, file_language) for file_path, file_language in walk.files]
    with collector_paused():
        if workers > 1 and not keep_trees and len(jobs) >= _MIN_FILES_PER_WORKER * 2:
            results = list(_in_pool(_atomize_run, jobs, config, workers))
        else:
            results = _atomize_files(jobs, config, keep_trees)
    if on_notice is not None:
        for result in results:
            for notice in result.notices:
                on_notice(notice)
        for notice in walk.notices:
            on_notice(notice)
    return results


# Below this many files a process does not pay for its start and the results' trip back.
_MIN_FILES_PER_WORKER = 16
# Runs per worker: small enough to even out files of unequal size, large enough
# that each run's results travel back in one piece.
_RUNS_PER_WORKER = 4
# Runs per worker when the caller reads results as they come: smaller runs keep the
# caller busy alongside the workers and leave it less to do after the last one.
_STREAMED_RUNS = 16


def _atomize_files(
    jobs: Sequence[tuple[Path, str]], config: AtomizeConfig, keep_trees: bool = False
) -> list[FileResult]:
    results: list[FileResult] = []
    for file_path, file_language in jobs:
        try:
            source = file_path.read_bytes()
        except OSError as exc:
            raise AtomizeError(f"{file_path}: cannot read ({exc.strerror or exc})") from exc
        results.append(
            atomize_source(
                source,
                file_path.as_posix(),
                language=file_language,
                config=config,
                keep_tree=keep_trees,
            )
        )
    return results


def atomize_sources(
    sources: Sequence[tuple[bytes, str]],
    *,
    config: AtomizeConfig = _DEFAULT,
    workers: int = 1,
) -> Iterator[FileResult]:
    """`atomize_source` for many sources held in memory, each as (bytes, path),
    yielded in input order as they are done; the language comes from each path.

    With `workers` above 1 the sources are shared out as in `atomize_paths` (the
    same rule, and the same caution: fork only from a single thread), and the
    results of one run are yielded while the workers atomize the next runs, so a
    caller that reads each result as it comes (the dependency graph's scan) works
    alongside them. The collector stays paused until the last result is read.
    """
    with collector_paused():
        if workers > 1 and len(sources) >= _MIN_FILES_PER_WORKER * 2:
            yield from _in_pool(_sources_run, sources, config, workers, _STREAMED_RUNS)
        else:
            for source, path in sources:
                yield atomize_source(source, path, config=config)


def _sources_run(sources: Sequence[tuple[bytes, str]], config: AtomizeConfig) -> list[FileResult]:
    return [atomize_source(source, path, config=config) for source, path in sources]


def _atomize_run(jobs: Sequence[tuple[Path, str]], config: AtomizeConfig) -> list[FileResult]:
    return _atomize_files(jobs, config)


_Job = TypeVar("_Job")


def _worker_run(
    function: Callable[[Sequence[_Job], AtomizeConfig], list[FileResult]],
    jobs: Sequence[_Job],
    config: AtomizeConfig,
) -> list[FileResult]:
    """One worker's run (the collector is off there too: see `mge._collector`)."""
    gc.disable()
    return function(jobs, config)


def _in_pool(
    function: Callable[[Sequence[_Job], AtomizeConfig], list[FileResult]],
    jobs: Sequence[_Job],
    config: AtomizeConfig,
    workers: int,
    runs_per_worker: int = _RUNS_PER_WORKER,
) -> Iterator[FileResult]:
    """`function` over contiguous runs of `jobs` in forked processes, the results in
    input order, each run's as soon as it and those before it are done; the first
    job that fails (in input order) raises as it would have alone."""
    workers = min(workers, len(jobs) // _MIN_FILES_PER_WORKER)
    runs = workers * runs_per_worker
    size = -(-len(jobs) // runs)
    chunks = [jobs[start : start + size] for start in range(0, len(jobs), size)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for chunk in pool.map(_worker_run, repeat(function), chunks, repeat(config)):
            yield from chunk


def prepare(languages: Iterable[str]) -> None:
    """Build each language's parser and capture query now. Built on first use
    otherwise, and the query alone takes about 80 ms: a validation worker that met
    it with its first candidate held every check queued behind that one."""
    for language in languages:
        name = check_language(language)
        capture(parse(b"", name), name)


def measure_source(source: bytes, language: str) -> tuple[int, float]:
    """(LOC, cyclomatic complexity) of a snippet from one parse.

    LOC counts code lines — comments and blank lines aside — exactly as atoms
    count theirs. Validation measures every candidate; decomposing it into atoms
    and gathering their context only to add up their sizes costs five times more.
    """
    name = check_language(language)
    tree = parse(source, name)
    captures = capture(tree, name)
    index = LineIndex(source, [(node.start_byte, node.end_byte) for node in captures.comment])
    return index.loc(0, len(source)), float(1 + len(captures.decision))
