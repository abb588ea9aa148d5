"""Awkward input: duplicate definitions, dangling names, empty and definition-free files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mge.atomize import atomize_paths, atomize_source
from mge.errors import GraphError
from mge.graph import Edge, build_edges, build_graph

Triple = tuple[str, str, str]
Triples = Callable[[list[Edge], Path], set[Triple]]


def test_the_last_definition_wins_and_import_time_code_sees_the_one_above(
    tmp_path: Path, as_triples: Triples
) -> None:
    (tmp_path / "dup.py").write_text(
        "def f() -> int:\n    return 1\n\n\n"
        "FIRST = f()\n\n\n"
        "def f() -> int:\n    return 2\n\n\n"
        "def g() -> int:\n    return f()\n"
    )
    found = as_triples(build_edges(atomize_paths([tmp_path])), tmp_path)
    calls = {(src, dst) for kind, src, dst in found if kind == "FUNCTION_CALL"}
    # g runs after import: it calls the second f. The statement runs at import
    # time, between the two definitions: it calls the first.
    assert calls == {("dup.py::f#1", "dup.py::g#0"), ("dup.py::f#0", "dup.py::<module>#0")}


def test_dangling_names_make_no_edge_and_are_reported(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text(
        "from .missing import thing\nfrom .b import absent\n\n\n"
        "def f() -> int:\n    return nowhere() + thing() + absent()\n"
    )
    (package / "b.py").write_text("VALUE = 1\n")
    files = atomize_paths([tmp_path])
    edges = build_edges(files)
    atoms = {atom.id.rsplit("/", 1)[-1]: atom for result in files for atom in result.atoms}
    assert atoms["a.py::<module>#0"].context["unresolved"] == [".missing.thing", ".b.absent"]
    assert atoms["a.py::f#0"].context["unresolved"] == [
        "nowhere",
        ".missing.thing",
        ".b.absent",
    ]
    # Only the text order links the two atoms of a.py; b.py is linked to nothing.
    assert [
        (e.source.rsplit("/", 1)[-1], e.target.rsplit("/", 1)[-1], e.type.name) for e in edges
    ] == [("a.py::<module>#0", "a.py::f#0", "TEMPORAL")]


def test_empty_input_and_files_without_definitions_give_an_empty_graph() -> None:
    atoms, analysis = build_graph([])
    assert atoms == [] and analysis.waves == [] and analysis.max_parallelism == 0
    empty = atomize_source(b"", "empty.py")
    plain = atomize_source(b"x = 1\nprint(x)\n", "plain.py")
    atoms, analysis = build_graph([empty, plain])
    assert [atom.id for atom in atoms] == ["plain.py::<module>#0", "plain.py::<module>#1"]
    # The print reads x, which the header assigns: one pair, two reasons.
    assert [(e.source, e.target, [k.name for k in e.all_types]) for e in analysis.edges] == [
        ("plain.py::<module>#0", "plain.py::<module>#1", ["TEMPORAL", "DATA_FLOW"])
    ]
    assert analysis.waves == [["plain.py::<module>#0"], ["plain.py::<module>#1"]]


def test_a_broken_file_still_gives_a_graph() -> None:
    source = b"def f(:\n    return g(\n\n\ndef g() -> int:\n    return 1\n"
    atoms, analysis = build_graph([atomize_source(source, "broken.py")])
    assert {atom.id for atom in atoms} == set(analysis.nodes)
    assert sum(analysis.wave_widths) == len(atoms)


def test_type_parameters_and_a_free_this_are_not_names_to_resolve() -> None:
    source = (
        b"export class Box<T> {\n  items: T[] = [];\n\n"
        b"  put<U extends T>(item: U): Box<T> {\n"
        b"    this.items.push(item);\n    return this;\n  }\n}\n\n"
        b"export function legacy(this: any) {\n  return this.value + Missing.size;\n}\n"
    )
    result = atomize_source(source, "box.ts")
    build_edges([result])
    unresolved = {atom.qualname: atom.context.get("unresolved") for atom in result.atoms}
    assert unresolved == {"Box": None, "Box.put": None, "legacy": ["Missing.size"]}


def test_python_scope_rules() -> None:
    source = (
        b'"""Scopes."""\nCOUNT = 0\nNAMES = [n for n in ("a", "b")]\n\n\n'
        b"def register(func):\n    return func\n\n\n"
        b"@register\ndef job() -> int:\n    global COUNT\n    COUNT += 1\n"
        b"    n = len(NAMES)\n    return n\n\n\n"
        b"class Outer:\n    SIZE = 3\n    DOUBLE = SIZE * 2\n"
        b"    ROWS = [SIZE for _ in range(2)]\n\n"
        b"    class Inner:\n        LIMIT = 5\n\n"
        b"        def get(self) -> int:\n            return self.LIMIT + COUNT\n\n"
        b'    def make(self) -> "Outer.Inner":\n        return self.Inner()\n'
    )
    result = atomize_source(source, "scopes.py")
    edges = {
        (e.type.name, e.source.split("::")[1], e.target.split("::")[1])
        for e in build_edges([result])
        if e.type.name != "TEMPORAL"
    }
    assert edges == {
        ("FUNCTION_CALL", "register#0", "job#0"),  # a project decorator
        ("DATA_FLOW", "<module>#0", "job#0"),  # NAMES; `n` is local
        ("DATA_FLOW", "Outer.Inner#0", "Outer.Inner.get#0"),  # self.LIMIT
        ("DATA_FLOW", "<module>#0", "Outer.Inner.get#0"),  # COUNT: methods skip the class
        ("TYPE", "Outer.Inner#0", "Outer.make#0"),  # "Outer.Inner"
        ("FUNCTION_CALL", "Outer.Inner#0", "Outer.make#0"),  # self.Inner()
    }
    unresolved = {atom.qualname: atom.context.get("unresolved") for atom in result.atoms}
    # A comprehension in a class body cannot see the class's names, as in Python.
    assert unresolved["Outer"] == ["SIZE"]
    assert [name for name, value in unresolved.items() if value] == ["Outer"]


def test_files_scanned_as_they_arrive_give_the_edges_of_all_files_at_once(
    tmp_path: Path,
) -> None:
    """A migration streams atomized files into the graph while workers atomize the
    rest: the module names depend on every file, so the paths are given beforehand,
    and the edges equal those of the whole list."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    # b imports from c, which arrives after it.
    (package / "b.py").write_text(
        "from pkg.c import helper\n\n\ndef g() -> int:\n    return helper()\n"
    )
    (package / "c.py").write_text("def helper() -> int:\n    return 1\n")
    (package / "d.ts").write_text("import { x } from './e';\nexport const y = x + 1;\n")
    (package / "e.ts").write_text("export const x = 1;\n")
    whole = build_edges(atomize_paths([tmp_path]))
    files = atomize_paths([tmp_path])
    expected = [(result.path, result.language) for result in files]
    streamed = build_edges(iter(files), expected=expected)
    assert streamed == whole
    assert any(
        edge.type.name == "IMPORT" and edge.source.endswith("c.py::helper#0") for edge in whole
    )


def test_files_that_arrive_other_than_announced_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("A = 1\n")
    (tmp_path / "b.py").write_text("B = 1\n")
    files = atomize_paths([tmp_path])
    expected = [(result.path, result.language) for result in files]
    with pytest.raises(GraphError, match="not the ones expected"):
        build_edges(iter(files[:1]), expected=expected)
