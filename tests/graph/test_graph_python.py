"""Every edge of a small Python package, listed by hand and checked both ways."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mge.atomize import FileResult, atomize_paths
from mge.graph import Edge, build_edges, build_graph

Load = Callable[[str], tuple[Path, list[FileResult]]]
Triple = tuple[str, str, str]
Triples = Callable[[list[Edge], Path], set[Triple]]
Short = Callable[[str, Path], str]

INIT = "shop/__init__.py::<module>#0"
M0 = "shop/models.py::<module>#0"
ITEM = "shop/models.py::Item#0"
ADD = "shop/models.py::Item.add#0"
CAPPED = "shop/models.py::Item.capped#0"
RESTOCK = "shop/models.py::restock#0"
P0 = "shop/pricing.py::<module>#0"
PRICE = "shop/pricing.py::price#0"
LABEL = "shop/pricing.py::label#0"
R0 = "shop/report.py::<module>#0"
S0 = "shop/report.py::summary#0"
S1 = "shop/report.py::summary#1"
S2 = "shop/report.py::summary#2"

EXPECTED: set[Triple] = {
    # __init__ re-exports: `from . import pricing`, `from .models import Item, restock`.
    ("IMPORT", P0, INIT),
    ("IMPORT", ITEM, INIT),
    ("IMPORT", RESTOCK, INIT),
    # models.py: the header comes first, the class header before its methods.
    ("TEMPORAL", M0, ITEM),
    ("TEMPORAL", M0, ADD),
    ("TEMPORAL", M0, CAPPED),
    ("TEMPORAL", M0, RESTOCK),
    ("TEMPORAL", ITEM, ADD),
    ("TEMPORAL", ITEM, CAPPED),
    ("DATA_FLOW", ITEM, ADD),  # self.count: a class-level field
    ("FUNCTION_CALL", CAPPED, ADD),  # self.capped(...)
    ("DATA_FLOW", M0, CAPPED),  # MAX_STOCK
    ("TYPE", ITEM, RESTOCK),  # list[Item]
    # pricing.py: relative imports of a module and of a name.
    ("IMPORT", M0, P0),
    ("IMPORT", ITEM, P0),
    ("TEMPORAL", P0, PRICE),
    ("TEMPORAL", P0, LABEL),
    ("IMPORT", P0, PRICE),  # uses the imported Item
    ("TYPE", ITEM, PRICE),
    ("DATA_FLOW", P0, PRICE),  # RATE
    ("IMPORT", P0, LABEL),  # Item, models
    ("TYPE", ITEM, LABEL),
    ("DATA_FLOW", ITEM, LABEL),  # Item.UNIT
    ("FUNCTION_CALL", PRICE, LABEL),
    ("DATA_FLOW", M0, LABEL),  # models.MAX_STOCK through the module
    # report.py: `import shop.pricing`, names re-exported by the package.
    ("IMPORT", P0, R0),
    ("IMPORT", ITEM, R0),
    ("IMPORT", RESTOCK, R0),
    ("TEMPORAL", R0, S0),
    ("TEMPORAL", R0, S1),
    ("TEMPORAL", R0, S2),
    ("TEMPORAL", S0, S1),  # one long body split in order
    ("TEMPORAL", S1, S2),
    ("IMPORT", R0, S0),
    ("IMPORT", R0, S1),
    ("FUNCTION_CALL", ITEM, S0),  # Item(name): instantiation
    ("FUNCTION_CALL", RESTOCK, S0),  # through the package __init__
    ("FUNCTION_CALL", LABEL, S0),  # shop.pricing.label(...)
    ("FUNCTION_CALL", PRICE, S1),  # shop.pricing.price(...)
}


def test_every_python_edge_and_no_other(project: Load, as_triples: Triples) -> None:
    base, files = project("pyproj")
    found = as_triples(build_edges(files), base)
    assert found - EXPECTED == set(), "unexpected edges"
    assert EXPECTED - found == set(), "missing edges"


def test_names_from_outside_the_project_make_no_edge_and_are_listed(
    project: Load, shorten: Short
) -> None:
    base, files = project("pyproj")
    build_edges(files)
    listed = {
        shorten(atom.id, base): atom.context["external"]
        for result in files
        for atom in result.atoms
        if atom.context.get("external")
    }
    assert listed == {
        M0: ["dataclasses.dataclass"],
        ITEM: ["dataclasses.dataclass"],
        R0: ["os.path"],
        S1: ["os.path.basename"],
    }
    assert not any(atom.context.get("unresolved") for result in files for atom in result.atoms)


def test_depends_on_lists_the_prerequisites(project: Load, shorten: Short) -> None:
    base, files = project("pyproj")
    atoms, analysis = build_graph(files)
    by_id = {shorten(atom.id, base): atom for atom in atoms}
    label = {(shorten(dep["atom"], base), dep["type"]) for dep in by_id[LABEL].depends_on}
    # One entry per prerequisite, named by its leading type (TEMPORAL > IMPORT > TYPE > ...).
    assert label == {(P0, "TEMPORAL"), (ITEM, "TYPE"), (PRICE, "FUNCTION_CALL"), (M0, "DATA_FLOW")}
    assert by_id[M0].depends_on == []
    assert not analysis.has_cycles


def test_waves_respect_every_edge(project: Load) -> None:
    _, files = project("pyproj")
    atoms, analysis = build_graph(files)
    wave = analysis.wave_of()
    assert sorted(wave) == sorted(atom.id for atom in atoms)
    for edge in analysis.kept_edges:
        assert wave[edge.source] < wave[edge.target], edge
    for atom in atoms:
        for dep in atom.depends_on:
            assert wave[dep["atom"]] < wave[atom.id]
    # The models header depends on nothing and opens the first wave.
    assert any(atom_id.endswith(M0) for atom_id in analysis.waves[0])
    assert analysis.max_parallelism == max(analysis.wave_widths)


def test_root_names_modules_in_a_src_layout(tmp_path: Path, as_triples: Triples) -> None:
    package = tmp_path / "src" / "app"
    package.mkdir(parents=True)
    (package / "core.py").write_text("def base() -> int:\n    return 1\n")
    (package / "use.py").write_text(
        "from app.core import base\n\n\ndef top() -> int:\n    return base()\n"
    )
    files = atomize_paths([tmp_path])
    # No __init__.py: without a root `app.core` is not a project module...
    assert ("FUNCTION_CALL", "src/app/core.py::base#0", "src/app/use.py::top#0") not in as_triples(
        build_edges(files), tmp_path
    )
    # ...with the root, `src/` is dropped and the import resolves.
    files = atomize_paths([tmp_path])
    found = as_triples(build_edges(files, root=tmp_path), tmp_path)
    assert ("FUNCTION_CALL", "src/app/core.py::base#0", "src/app/use.py::top#0") in found
    assert ("IMPORT", "src/app/core.py::base#0", "src/app/use.py::<module>#0") in found
