"""Run every benchmark: each package `bench/<name>/` whose module exposes `main()`.

`python -m bench` runs them all in name order; arguments after it are passed to each
`main(argv)` (for instance `--write-docs` to refresh docs/BENCHMARKS.md).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path


def discover() -> list[tuple[str, Callable[[list[str]], int]]]:
    """(name, main) for each benchmark package, sorted by name."""
    found: list[tuple[str, Callable[[list[str]], int]]] = []
    root = Path(__file__).parent
    for child in sorted(root.iterdir()):
        if not (child / "__init__.py").is_file() or child.name.startswith(("_", ".")):
            continue
        module = importlib.import_module(f"bench.{child.name}")
        main = getattr(module, "main", None)
        if callable(main):
            found.append((child.name, main))
    return found


def run(argv: list[str]) -> int:
    status = 0
    for name, main in discover():
        print(f"== bench/{name}", flush=True)
        status = max(status, int(main(argv) or 0))
    return status


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
