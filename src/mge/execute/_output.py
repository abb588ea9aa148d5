"""The generated project on disk, its tests, and how close it came to the reference."""

from __future__ import annotations

import keyword
import shutil
from pathlib import Path

from mge.errors import ConfigError, PlanError
from mge.plan import Plan, asset_problem


def check_out_dir(out: Path, *, force: bool) -> None:
    """Refuse a non-empty output directory without `force`, or one we cannot write."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a directory")
    if out.exists() and any(out.iterdir()) and not force:
        raise ConfigError(f"--out {out} is not empty; pass --force to overwrite it")
    probe_dir = out if out.exists() else _nearest_existing(out)
    try:
        probe_dir.mkdir(parents=True, exist_ok=True)
        probe = probe_dir / ".mge-write-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise ConfigError(f"--out {out} is not writable: {error.strerror or error}") from None


def _nearest_existing(path: Path) -> Path:
    current = path.resolve()
    while not current.exists():
        current = current.parent
    return current


def safe_target(out: Path, relative: str) -> Path:
    """The path of a project file under `out`; nothing may land outside it."""
    root = out.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or target == root:
        raise ConfigError(f"refusing to write {relative!r} outside {out}")
    return target


def write_files(out: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        target = safe_target(out, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", errors="surrogateescape")


# Beside the tests, for plans that do not list their `support` files.
SUPPORT_FILES = (
    "conftest.py",
    "pyproject.toml",
    "setup.cfg",
    "pytest.ini",
    "tox.ini",
    "__init__.py",
)


def copy_tests(reference: Path | None, out: Path, tests: list[str]) -> list[str]:
    """Copy the plan's test files (and the test support files beside them) from the
    reference into `out`; returns the test files that exist there."""
    if reference is None:
        return [test for test in tests if (out / test).is_file()]
    copied: list[str] = []
    folders: set[Path] = set()
    for test in tests:
        source = (reference / test).resolve()
        if not source.is_relative_to(reference.resolve()) or not source.is_file():
            continue
        target = safe_target(out, test)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        copied.append(test)
        folders.add(Path(test).parent)
    for folder in {Path("."), *folders}:
        for name in SUPPORT_FILES:
            source = reference / folder / name
            if source.is_file() and not (out / folder / name).exists():
                target = safe_target(out, str(folder / name))
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    return copied


def check_copied(source: Path | None, plan: Plan) -> None:
    """Refuse a run whose plan names files to copy (`support`, `assets`) that its
    input directory does not hold, or holds with other content than planned, before
    anything is generated rather than after.

    Raises:
        PlanError: the first such file, or files to copy and nowhere to copy from.
    """
    if not plan.support and not plan.assets:
        return
    if source is None:
        raise PlanError(
            "the plan names support files or assets to copy, but the run has no"
            " directory to copy them from (set the plan's reference or tests_dir)"
        )
    for path in plan.support:
        if not (source / path).is_file():
            raise PlanError(f"support file {path!r} not found in {source}")
    for asset in plan.assets:
        problem = asset_problem(source, asset.path, asset.sha256)
        if problem is not None:
            raise PlanError(f"asset {problem} in {source}")


def copy_files(source: Path | None, out: Path, paths: list[str]) -> None:
    """Copy files byte for byte from `source` into `out` (support files, assets)."""
    if source is None:
        return
    for path in paths:
        found = source / path
        if not found.resolve().is_relative_to(source.resolve()) or not found.is_file():
            continue  # `check_copied` refused the run already; a file gone since is left out
        target = safe_target(out, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found, target)


def module_name(file: str) -> str | None:
    path = Path(file)
    if path.suffix != ".py":
        return None
    parts = list(path.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(part.isidentifier() and not keyword.iskeyword(part) for part in parts):
        return None
    return ".".join(parts)


#: What MGE itself leaves in an output directory while it works (the write probe,
#: temporary files): a killed run leaves them behind, the next start removes them.
LEFTOVER_PATTERN = ".mge-*"


def clean_leftovers(out: Path) -> list[Path]:
    """Remove the `.mge-*` files a killed run left in `out` (the `mge demo` marker,
    which says who owns the directory, is kept); returns what was removed."""
    removed: list[Path] = []
    if not out.is_dir():
        return removed
    for path in sorted(out.rglob(LEFTOVER_PATTERN)):
        if path.name == ".mge-demo" or not path.is_relative_to(out):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def one_line(error: BaseException) -> str:
    """An unexpected error as the one line stored with the run and printed."""
    text = str(error).strip().splitlines()
    message = text[0] if text else ""
    return f"{type(error).__name__}: {message}"[:500] if message else type(error).__name__
