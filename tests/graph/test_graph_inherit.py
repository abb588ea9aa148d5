"""Methods through project base classes (`self.`, `cls.`), star and aliased module
imports, a function-local import, string annotations and isinstance tuples."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import mge.graph
from mge.atomize import FileResult
from mge.graph import Edge, build_edges

Load = Callable[[str], tuple[Path, list[FileResult]]]
Triple = tuple[str, str, str]
Triples = Callable[[list[Edge], Path], set[Triple]]

BASE = "base.py::Base#0"
GREET = "base.py::Base.greet#0"
MAKE = "base.py::Base.make#0"
C0 = "child.py::<module>#0"
CHILD = "child.py::Child#0"
RUN = "child.py::Child.run#0"
BUILD = "child.py::Child.build#0"
CHECK = "child.py::check#0"

EXPECTED: set[Triple] = {
    ("TEMPORAL", BASE, GREET),
    ("TEMPORAL", BASE, MAKE),
    ("TYPE", BASE, MAKE),  # -> "Base", a string annotation
    # `from base import *` and `import base as b`: both load base.py, whose first
    # atom is the class header (the file has no module header).
    ("IMPORT", BASE, C0),
    ("TEMPORAL", C0, CHILD),
    ("TEMPORAL", C0, RUN),
    ("TEMPORAL", C0, BUILD),
    ("TEMPORAL", C0, CHECK),
    ("TEMPORAL", CHILD, RUN),
    ("TEMPORAL", CHILD, BUILD),
    ("IMPORT", C0, CHILD),  # Base comes through the star import
    ("TYPE", BASE, CHILD),  # base class
    ("FUNCTION_CALL", GREET, RUN),  # self.greet(): inherited
    ("DATA_FLOW", BASE, RUN),  # self.KIND: an inherited class attribute
    ("TYPE", BASE, BUILD),  # -> "Base": a string annotation, through the star import
    ("IMPORT", C0, BUILD),
    ("FUNCTION_CALL", MAKE, BUILD),  # cls.make(): an inherited classmethod
    ("IMPORT", BASE, CHECK),  # `from base import Base as B` inside the function
    ("TYPE", BASE, CHECK),  # isinstance(x, (B, Child))
    ("TYPE", CHILD, CHECK),
    ("IMPORT", C0, CHECK),  # b
    ("DATA_FLOW", BASE, CHECK),  # b.Base.KIND
}


def test_every_edge_through_bases_and_imports(project: Load, as_triples: Triples) -> None:
    base, files = project("inherit")
    found = as_triples(build_edges(files), base)
    assert found - EXPECTED == set(), "unexpected edges"
    assert EXPECTED - found == set(), "missing edges"


def test_the_public_api_is_exactly_this() -> None:
    assert set(mge.graph.__all__) == {
        "EDGE_PRECEDENCE",
        "SOFT_EDGE_TYPES",
        "Component",
        "Edge",
        "EdgeType",
        "GraphAnalysis",
        "analyze",
        "build_edges",
        "build_graph",
        "merge_edges",
    }
    assert all(hasattr(mge.graph, name) for name in mge.graph.__all__)
