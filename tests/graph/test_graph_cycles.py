"""Cycles by mutual recursion and by mutual imports: found, reported, broken."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mge.atomize import FileResult
from mge.graph import build_graph

Load = Callable[[str], tuple[Path, list[FileResult]]]
Short = Callable[[str, Path], str]


def test_mutual_recursion_and_mutual_imports_are_broken_by_the_rule(
    project: Load, shorten: Short
) -> None:
    base, files = project("cycles")
    atoms, analysis = build_graph(files)
    assert analysis.has_cycles
    components = {
        tuple(shorten(member, base) for member in component.members): component
        for component in analysis.cycles
    }
    parity = components[("parity.py::is_even#0", "parity.py::is_odd#0")]
    assert parity.edge_types == {"FUNCTION_CALL": 2}
    # Calls between members are soft: both are dropped, so both atoms run together.
    assert {(shorten(e.source, base), shorten(e.target, base)) for e in parity.broken_edges} == {
        ("parity.py::is_even#0", "parity.py::is_odd#0"),
        ("parity.py::is_odd#0", "parity.py::is_even#0"),
    }
    imports = components[
        ("ping.py::<module>#0", "ping.py::ping#0", "pong.py::<module>#0", "pong.py::pong#0")
    ]
    # First the calls go, then the import-only edges into the other module's header;
    # a header → function edge is also TEMPORAL, which is never dropped.
    broken = {
        (shorten(e.source, base), shorten(e.target, base), tuple(k.name for k in e.all_types))
        for e in imports.broken_edges
    }
    assert broken == {
        ("ping.py::ping#0", "pong.py::pong#0", ("FUNCTION_CALL",)),
        ("pong.py::pong#0", "ping.py::ping#0", ("FUNCTION_CALL",)),
        ("ping.py::ping#0", "pong.py::<module>#0", ("IMPORT",)),
        ("pong.py::pong#0", "ping.py::<module>#0", ("IMPORT",)),
    }
    waves = [{shorten(atom, base) for atom in wave} for wave in analysis.waves]
    assert waves == [
        {
            "parity.py::is_even#0",
            "parity.py::is_odd#0",
            "ping.py::<module>#0",
            "pong.py::<module>#0",
        },
        {"ping.py::ping#0", "pong.py::pong#0"},
    ]
    # depends_on lists only the kept prerequisites.
    by_id = {shorten(atom.id, base): atom for atom in atoms}
    assert by_id["parity.py::is_even#0"].depends_on == []
    assert [(shorten(d["atom"], base), d["type"]) for d in by_id["ping.py::ping#0"].depends_on] == [
        ("ping.py::<module>#0", "TEMPORAL")
    ]
