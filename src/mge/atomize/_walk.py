"""Which files a list of paths names: directories walked the way a person expects.

A directory walk skips hidden entries, dependency and build folders, virtual
environments, and whatever a `.gitignore` inside the walked tree ignores. Files
named explicitly are always taken, and it is an error when they cannot be read as
code (missing, binary, unsupported extension); inside a directory such files are
skipped and summed up in one notice instead.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from mge.atomize._languages import supported_language
from mge.errors import AtomizeError

__all__ = ["SKIPPED_DIRECTORIES", "Walk", "is_binary", "walk_paths"]

SKIPPED_DIRECTORIES = frozenset(
    {
        "node_modules",
        "__pycache__",
        "site-packages",
        "build",
        "dist",
        "coverage",
        "bower_components",
    }
)
_SNIFF = 8192


@dataclass(slots=True)
class Walk:
    """The files to atomize, each with its language, and notices about the rest."""

    files: list[tuple[Path, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def is_binary(head: bytes) -> bool:
    """True when the first bytes of a file look like binary data (a NUL byte)."""
    return b"\x00" in head[:_SNIFF]


def _sniff(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(_SNIFF)
    except OSError as exc:
        raise AtomizeError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _is_virtualenv(directory: Path) -> bool:
    return (directory / "pyvenv.cfg").is_file()


def _load_gitignore(directory: Path) -> pathspec.GitIgnoreSpec | None:
    ignore = directory / ".gitignore"
    if not ignore.is_file():
        return None
    try:
        lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _ignored(path: Path, is_dir: bool, specs: list[tuple[Path, pathspec.GitIgnoreSpec]]) -> bool:
    for base, spec in specs:
        relative = path.relative_to(base).as_posix()
        if is_dir:
            relative += "/"
        if spec.match_file(relative):
            return True
    return False


def walk_paths(
    paths: Iterable[str | Path],
    *,
    exclude: Iterable[str] = (),
    language: str | None = None,
) -> Walk:
    """The files `paths` name, sorted within each directory, deduplicated.

    Args:
        paths: files and directories.
        exclude: gitignore-style globs (`tests/*`, `*_pb2.py`) matched against each
            path relative to the directory argument it was found under, and against
            explicitly named files as given.
        language: a language forced on every file; unsupported extensions are then
            accepted.

    Raises:
        AtomizeError: a path does not exist, or a file named explicitly is binary or
            has an unsupported extension.
    """
    excluded = pathspec.GitIgnoreSpec.from_lines(list(exclude))
    walk = Walk()
    seen: set[Path] = set()
    unsupported: Counter[str] = Counter()
    binaries = 0

    def take(path: Path, file_language: str) -> None:
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            walk.files.append((path, file_language))

    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise AtomizeError(f"{path}: no such file or directory")
        if path.is_file():
            if excluded.match_file(path.as_posix()):
                continue
            file_language = language or supported_language(path)
            if file_language is None:
                raise AtomizeError(
                    f"{path}: unsupported file type {path.suffix or '(no extension)'!r} "
                    "(use .py, .pyi, .ts, .tsx, .js, .mjs, .cjs, .jsx or --language)"
                )
            if is_binary(_sniff(path)):
                raise AtomizeError(f"{path}: binary file, not source code")
            take(path, file_language)
            continue
        if not path.is_dir():
            raise AtomizeError(f"{path}: not a regular file or directory")
        root = path
        specs: dict[Path, pathspec.GitIgnoreSpec] = {}
        for current, dirnames, filenames in os.walk(root):
            directory = Path(current)
            spec = _load_gitignore(directory)
            if spec is not None:
                specs[directory] = spec
            active = [(base, s) for base, s in specs.items() if directory.is_relative_to(base)]
            kept: list[str] = []
            for name in sorted(dirnames):
                child = directory / name
                relative = child.relative_to(root).as_posix() + "/"
                if (
                    name.startswith(".")
                    or name in SKIPPED_DIRECTORIES
                    or name.endswith(".egg-info")
                    or child.is_symlink()
                    or _is_virtualenv(child)
                    or excluded.match_file(relative)
                    or _ignored(child, True, active)
                ):
                    continue
                kept.append(name)
            dirnames[:] = kept
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                child = directory / name
                relative = child.relative_to(root).as_posix()
                if excluded.match_file(relative) or _ignored(child, False, active):
                    continue
                file_language = language or supported_language(child)
                if file_language is None:
                    unsupported[child.suffix.lower() or "(none)"] += 1
                    continue
                if not child.is_file():
                    continue
                if is_binary(_sniff(child)):
                    binaries += 1
                    continue
                take(child, file_language)
    if unsupported:
        kinds = ", ".join(f"{ext}: {count}" for ext, count in unsupported.most_common(6))
        total = sum(unsupported.values())
        walk.notices.append(f"skipped {total} file(s) with unsupported extensions ({kinds})")
    if binaries:
        walk.notices.append(f"skipped {binaries} binary file(s)")
    return walk
