"""Module names from file paths: Python dotted names and TypeScript file keys.

Python: with `root`, a file's module is its path relative to `root` (a leading
`src/` is dropped, for `src/` layouts); without it, a file belongs to the package
of every directory above it that holds an `__init__.py` among the files given,
so `lib/pkg/sub/m.py` is `pkg.sub.m` when `pkg/` and `pkg/sub/` are packages.
Only the files given are looked at, never the disk, so the result depends on
the input alone.

TypeScript/JavaScript: a module is its normalised path; relative specifiers
(`./x`, `../y/z.js`) resolve the way bundlers and `tsc` do, trying the
extensions and `index` files in a fixed order.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

__all__ = ["python_module", "resolve_script", "script_key"]

_SCRIPT_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
_JS_EXTENSIONS = (".js", ".jsx", ".mjs", ".cjs")


def _posix(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/"))


def python_module(path: str, present: set[str], root: Path | None) -> tuple[str, str]:
    """(module name, package its relative imports start from) of a Python file.

    `present` holds the normalised paths of every file given.
    """
    pure = PurePosixPath(_posix(path))
    parts: list[str] | None = None
    if root is not None:
        absolute = PurePosixPath(_posix(str(Path(path).absolute())))
        base = PurePosixPath(_posix(str(root.absolute())))
        try:
            relative = absolute.relative_to(base)
        except ValueError:
            relative = None
        if relative is not None:
            parts = list(relative.parts)
            if len(parts) > 1 and parts[0] == "src":
                parts = parts[1:]
            parts[-1] = PurePosixPath(parts[-1]).stem
    if parts is None:
        parts = [pure.stem]
        directory = pure.parent
        while (
            str(directory / "__init__.py") in present or str(directory / "__init__.pyi") in present
        ):
            if directory.name in {"", ".", ".."}:
                break
            parts.insert(0, directory.name)
            directory = directory.parent
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    name = ".".join(parts) or pure.stem
    package = name if is_package else ".".join(parts[:-1])
    return name, package


def script_key(path: str) -> str:
    """The key of a TypeScript/JavaScript module: its normalised path."""
    return _posix(path)


def resolve_script(importer: str, spec: str, known: Iterable[str] | set[str]) -> str | None:
    """The key of the project module `spec` names from `importer`, or None.

    Only relative specifiers name project modules; a bare one (`react`) is a
    package from outside the project.
    """
    if not (spec.startswith("./") or spec.startswith("../") or spec in {".", ".."}):
        return None
    keys = known if isinstance(known, set) else set(known)
    base = _posix(posixpath.join(posixpath.dirname(importer), spec))
    stems = [base]
    for extension in _JS_EXTENSIONS:
        # ESM TypeScript writes `./x.js` for the file `x.ts`.
        if base.endswith(extension):
            stems.append(base[: -len(extension)])
    for stem in stems:
        if stem in keys:
            return stem
        for extension in _SCRIPT_EXTENSIONS:
            if stem + extension in keys:
                return stem + extension
    for extension in _SCRIPT_EXTENSIONS:
        candidate = posixpath.join(base, "index" + extension)
        if candidate in keys:
            return candidate
    return None
