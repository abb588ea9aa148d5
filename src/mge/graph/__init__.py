"""Typed dependency graphs of atoms: edges, cycles, waves and the critical path.

Pure: no database, no network. Persistence lives in `mge.store.graphs`.

    from mge.atomize import atomize_paths
    from mge.graph import build_graph

    atoms, analysis = build_graph(atomize_paths(["src/"]), root="src")
    analysis.waves          # topological generations, prerequisites first
"""

from mge.graph._analysis import analyze, merge_edges
from mge.graph._resolve import build_edges, build_graph
from mge.graph._types import (
    EDGE_PRECEDENCE,
    SOFT_EDGE_TYPES,
    Component,
    Edge,
    EdgeType,
    GraphAnalysis,
)

__all__ = [
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
]
