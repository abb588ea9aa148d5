"""Helpers for the graph tests: fixture projects and edges as short readable triples."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mge.atomize import FileResult, atomize_paths
from mge.graph import Edge

FIXTURES = Path(__file__).parent / "fixtures"

Triple = tuple[str, str, str]


def short(atom_id: str, base: Path) -> str:
    """`/…/fixtures/pyproj/shop/models.py::Item#0` → `shop/models.py::Item#0`."""
    prefix = base.as_posix().rstrip("/") + "/"
    return atom_id[len(prefix) :] if atom_id.startswith(prefix) else atom_id


def triples(edges: list[Edge], base: Path) -> set[Triple]:
    """Every edge as (TYPE, prerequisite, dependent), one per type it carries."""
    found: set[Triple] = set()
    for edge in edges:
        for kind in edge.all_types:
            found.add((kind.name, short(edge.source, base), short(edge.target, base)))
    return found


@pytest.fixture
def project() -> Callable[[str], tuple[Path, list[FileResult]]]:
    """Atomize one fixture project; returns its directory and its files."""

    def load(name: str) -> tuple[Path, list[FileResult]]:
        base = FIXTURES / name
        return base, atomize_paths([base])

    return load


@pytest.fixture
def as_triples() -> Callable[[list[Edge], Path], set[Triple]]:
    return triples


@pytest.fixture
def shorten() -> Callable[[str, Path], str]:
    return short
