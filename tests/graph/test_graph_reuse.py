"""The graph reads atomization's syntax trees when they were kept, with the same result.

Also: bindings are taken in text order whatever order the query cursor returns
them in, and the scanned facts are freed by reference counting, not left to the
cyclic collector.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tree_sitter import Node

import mge.graph._python
import mge.graph._script
from mge.atomize import Atom, FileResult, atomize_paths
from mge.graph import Edge, build_edges
from mge.graph._facts import text_order

from .conftest import FIXTURES

Triple = tuple[str, str, str]
Triples = Callable[[list[Edge], Path], set[Triple]]


def _no_parse(source: bytes, language: str) -> Any:
    raise AssertionError(f"parsed a {language} file again although its tree was kept")


def _snapshot(files: list[FileResult], edges: list[Edge]) -> tuple[object, ...]:
    found = [(edge.source, edge.target, edge.type, edge.metadata) for edge in edges]
    contexts = [(atom.id, atom.context) for result in files for atom in result.atoms]
    return found, contexts


@pytest.mark.parametrize("name", ["pyproj", "tsproj", "cycles", "inherit"])
def test_kept_trees_give_the_same_edges_and_contexts_without_parsing_again(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = FIXTURES / name
    parsed = atomize_paths([base])
    kept = atomize_paths([base], keep_trees=True)
    assert kept == parsed  # the tree is no part of the result's value
    assert all(result.tree is None for result in parsed)
    assert all(result.tree is not None for result in kept if result.atoms)
    expected = _snapshot(parsed, build_edges(parsed, root=base))

    monkeypatch.setattr(mge.graph._python, "parse", _no_parse)
    monkeypatch.setattr(mge.graph._script, "parse", _no_parse)
    assert _snapshot(kept, build_edges(kept, root=base)) == expected
    # Each tree is released once read: it weighs many times its source.
    assert all(result.tree is None for result in kept)


def test_a_tree_that_no_longer_matches_the_atoms_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "def f() -> int:\n    return 1\n\n\ndef g() -> int:\n    return 2\n"
    )
    (result,) = atomize_paths([tmp_path], keep_trees=True)
    first = result.atoms[0]
    # The atoms now hold other code than the tree was parsed from: `g` calls `f`.
    code = b"def f() -> int:\n    return 1\n\n\n"
    rest = b"def g() -> int:\n    return f() + 10\n"
    assert first.code == code
    result.atoms[1] = _with_code(result.atoms[1], rest, len(code))
    edges = build_edges([result])
    assert {(edge.source, edge.target, edge.type.name) for edge in edges} >= {
        (first.id, result.atoms[1].id, "FUNCTION_CALL")
    }


def _with_code(atom: Atom, code: bytes, start: int) -> Atom:
    return Atom(
        id=atom.id,
        file=atom.file,
        language=atom.language,
        kind=atom.kind,
        name=atom.name,
        qualname=atom.qualname,
        start_byte=start,
        end_byte=start + len(code),
        start_line=atom.start_line,
        end_line=atom.end_line,
        loc=atom.loc,
        nws_chars=atom.nws_chars,
        complexity=atom.complexity,
        code=code,
    )


def test_the_last_import_in_text_order_wins(tmp_path: Path, as_triples: Triples) -> None:
    # The query cursor returned these four imports out of text order (the third
    # before the second), so the fallback import lost to the first one at random.
    (tmp_path / "fast.py").write_text("def run() -> int:\n    return 1\n")
    (tmp_path / "slow.py").write_text("def run() -> int:\n    return 2\n")
    (tmp_path / "other.py").write_text("X = 1\n")
    (tmp_path / "user.py").write_text(
        "import other\n"
        "try:\n"
        "    import fast\n"
        "except ImportError:\n"
        "    import slow as fast\n"
        "import sys\n\n\n"
        "def go() -> int:\n"
        "    return fast.run() + other.X\n"
    )
    for _ in range(5):
        files = atomize_paths([tmp_path], keep_trees=True)
        found = as_triples(build_edges(files, root=tmp_path), tmp_path)
        calls = {(src, dst) for kind, src, dst in found if kind == "FUNCTION_CALL"}
        assert calls == {("slow.py::run#0", "user.py::go#0")}


class _FakeNode:
    def __init__(self, start: int) -> None:
        self.start_byte = start


def test_text_order_sorts_only_the_named_lists() -> None:
    nodes: dict[str, list[Any]] = {
        "def": [_FakeNode(9), _FakeNode(2), _FakeNode(5)],
        "ident": [_FakeNode(7), _FakeNode(1)],
    }
    found: dict[str, list[Node]] = nodes
    text_order(found, ["def", "import"])
    assert [node.start_byte for node in found["def"]] == [2, 5, 9]
    assert [node.start_byte for node in found["ident"]] == [7, 1]
    assert "import" not in found


def test_building_edges_leaves_no_cyclic_garbage() -> None:
    base = FIXTURES / "pyproj"
    files = atomize_paths([base], keep_trees=True)
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        edges = build_edges(files, root=base)
        # Scopes, classes and bindings point at each other; build_edges breaks
        # those links so the facts are freed at once instead of by a collector
        # pass over the whole project.
        assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()
    assert edges
