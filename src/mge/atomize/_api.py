"""Atomize one source or many paths: parse, decompose, inject context, judge."""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from itertools import repeat
from operator import attrgetter
from pathlib import Path

from mge.atomize._atomicity import judge
from mge.atomize._context import inject_context
from mge.atomize._decompose import decompose
from mge.atomize._languages import check_language, detect_language, parse
from mge.atomize._model import Atom, AtomizeConfig, FileResult
from mge.atomize._queries import capture
from mge.atomize._text import LineIndex, nws_count
from mge.atomize._walk import walk_paths
from mge.errors import AtomizeError

__all__ = ["atomize_paths", "atomize_source", "check_partition", "measure_source"]

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


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many atoms are built.

    Atoms hold no reference cycles, yet each full collection walks every live
    atom, dict and list: over the standard library that costs a third of the
    run. Reference counting still frees everything; cycles made elsewhere are
    collected when the collector resumes.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
    with _collector_paused():
        if workers > 1 and not keep_trees and len(jobs) >= _MIN_FILES_PER_WORKER * 2:
            results = _atomize_in_pool(jobs, config, workers)
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


def _atomize_run(jobs: Sequence[tuple[Path, str]], config: AtomizeConfig) -> list[FileResult]:
    """One worker's run of files (the collector is off there too: see `_collector_paused`)."""
    gc.disable()
    return _atomize_files(jobs, config)


def _atomize_in_pool(
    jobs: Sequence[tuple[Path, str]], config: AtomizeConfig, workers: int
) -> list[FileResult]:
    """`_atomize_files` shared out to forked processes, the results in input order; the
    first file that fails (in input order) raises as it would have alone."""
    workers = min(workers, len(jobs) // _MIN_FILES_PER_WORKER)
    runs = workers * _RUNS_PER_WORKER
    size = -(-len(jobs) // runs)
    chunks = [jobs[start : start + size] for start in range(0, len(jobs), size)]
    context = multiprocessing.get_context("fork")
    results: list[FileResult] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for chunk in pool.map(_atomize_run, chunks, repeat(config)):
            results.extend(chunk)
    return results


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
