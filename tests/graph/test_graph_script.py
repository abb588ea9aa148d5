"""Every edge of a small TypeScript/JavaScript project, checked both ways."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mge.atomize import FileResult, atomize_source
from mge.graph import Edge, build_edges, build_graph

Load = Callable[[str], tuple[Path, list[FileResult]]]
Triple = tuple[str, str, str]
Triples = Callable[[list[Edge], Path], set[Triple]]
Short = Callable[[str, Path], str]

INDEX = "lib/index.ts::<module>#0"
SH0 = "lib/shapes.ts::<module>#0"
SHAPE = "lib/shapes.ts::<module>#1"  # `export interface Shape`, a statement atom
AREA = "lib/shapes.ts::area#0"
SQUARE = "lib/shapes.ts::Square#0"
GROW = "lib/shapes.ts::Square.grow#0"
COPY = "lib/shapes.ts::Square.copy#0"
LIMIT = "lib/util.ts::<module>#0"  # `export const LIMIT`: the module's first atom
CLAMP = "lib/util.ts::clamp#0"
MAIN0 = "main.ts::<module>#0"
REPORT = "main.ts::report#0"
JS0 = "legacy.js::<module>#0"
LIMITJS = "legacy.js::limit#0"
JS1 = "legacy.js::<module>#1"

EXPECTED: set[Triple] = {
    # index.ts: `export { area, Shape } from "./shapes"`, `export * from "./util"`.
    ("IMPORT", AREA, INDEX),
    ("IMPORT", SHAPE, INDEX),
    ("IMPORT", LIMIT, INDEX),
    # shapes.ts
    ("IMPORT", CLAMP, SH0),
    ("TEMPORAL", SH0, SHAPE),
    ("TEMPORAL", SH0, AREA),
    ("TEMPORAL", SH0, SQUARE),
    ("TEMPORAL", SH0, GROW),
    ("TEMPORAL", SH0, COPY),
    ("TEMPORAL", SQUARE, GROW),
    ("TEMPORAL", SQUARE, COPY),
    ("TYPE", SHAPE, AREA),
    ("IMPORT", SH0, AREA),
    ("FUNCTION_CALL", CLAMP, AREA),
    ("TYPE", SHAPE, SQUARE),  # implements Shape
    ("TYPE", SQUARE, GROW),  # return type
    ("DATA_FLOW", SQUARE, GROW),  # this.width: a field of the class
    ("IMPORT", SH0, GROW),
    ("FUNCTION_CALL", CLAMP, GROW),
    ("FUNCTION_CALL", COPY, GROW),  # this.copy()
    ("TYPE", SQUARE, COPY),
    ("FUNCTION_CALL", SQUARE, COPY),  # new Square()
    # util.ts
    ("DATA_FLOW", LIMIT, CLAMP),
    # main.ts: a package index, a default import, a namespace import with `.js`.
    ("IMPORT", AREA, MAIN0),
    ("IMPORT", SHAPE, MAIN0),
    ("IMPORT", SQUARE, MAIN0),
    ("IMPORT", LIMIT, MAIN0),
    ("TEMPORAL", MAIN0, REPORT),
    ("IMPORT", MAIN0, REPORT),
    ("TYPE", SHAPE, REPORT),
    ("TYPE", SQUARE, REPORT),  # instanceof Square
    ("FUNCTION_CALL", CLAMP, REPORT),  # util.clamp(2)
    ("FUNCTION_CALL", AREA, REPORT),
    # legacy.js: CommonJS require of a relative path.
    ("IMPORT", CLAMP, JS0),
    ("TEMPORAL", JS0, LIMITJS),
    ("TEMPORAL", JS0, JS1),
    ("IMPORT", JS0, LIMITJS),
    ("FUNCTION_CALL", CLAMP, LIMITJS),
    ("FUNCTION_CALL", LIMITJS, JS1),  # module.exports = { limit }
}


def test_every_script_edge_and_no_other(project: Load, as_triples: Triples) -> None:
    base, files = project("tsproj")
    found = as_triples(build_edges(files), base)
    assert found - EXPECTED == set(), "unexpected edges"
    assert EXPECTED - found == set(), "missing edges"


def test_packages_from_outside_are_listed_not_linked(project: Load, shorten: Short) -> None:
    base, files = project("tsproj")
    build_edges(files)
    listed = {
        shorten(atom.id, base): atom.context["external"]
        for result in files
        for atom in result.atoms
        if atom.context.get("external")
    }
    assert listed == {MAIN0: ["zod.z"], REPORT: ["zod.z.string"]}


def test_script_waves_respect_every_edge(project: Load) -> None:
    _, files = project("tsproj")
    _, analysis = build_graph(files)
    wave = analysis.wave_of()
    assert not analysis.has_cycles
    for edge in analysis.kept_edges:
        assert wave[edge.source] < wave[edge.target], edge
    # util.ts depends on nothing: both of its atoms' chain starts in wave 1.
    assert any(atom.endswith(LIMIT) for atom in analysis.waves[0])


def test_a_jsx_component_use_is_a_call_and_html_tags_are_not_names() -> None:
    source = (
        b'import { useState } from "react";\n\n'
        b"export function Button(props: { label: string }) {\n"
        b"  return <button>{props.label}</button>;\n}\n\n"
        b"export function Panel() {\n  const [open] = useState(false);\n"
        b'  return <div><Button label="x" />{open && <Button label="y"></Button>}</div>;\n}\n'
    )
    result = atomize_source(source, "ui.tsx")
    edges = {(e.type.name, e.source, e.target) for e in build_edges([result])}
    assert edges == {
        ("TEMPORAL", "ui.tsx::<module>#0", "ui.tsx::Button#0"),
        ("TEMPORAL", "ui.tsx::<module>#0", "ui.tsx::Panel#0"),
        ("FUNCTION_CALL", "ui.tsx::Button#0", "ui.tsx::Panel#0"),
    }
    contexts = {atom.qualname: atom.context for atom in result.atoms}
    assert contexts["Panel"]["external"] == ["react.useState"]
    assert "unresolved" not in contexts["Panel"] and "unresolved" not in contexts["Button"]
