"""Typed dependency graphs of atoms: edges, cycles, waves and the critical path.

Pure: no database, no network. Persistence lives in `mge.db.graph_store`.
"""

from mge.graph._analysis import analyze, merge_edges
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
    "merge_edges",
]
