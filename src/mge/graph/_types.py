"""The typed edge, the one direction convention, and the result of an analysis.

Direction: an edge runs prerequisite → dependent. `Edge.source` must be generated
(and validated) before `Edge.target`; an atom's `depends_on` lists the sources of
its incoming edges. A topological order of the graph is therefore an execution
order, and wave 1 holds the atoms that depend on nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class EdgeType(enum.StrEnum):
    IMPORT = "import"
    DATA_FLOW = "data_flow"
    FUNCTION_CALL = "function_call"
    TYPE = "type"
    TEMPORAL = "temporal"


# When one pair of atoms is linked for several reasons, the stored edge carries all
# of them and is labelled with the first in this order (the most structural).
EDGE_PRECEDENCE: tuple[EdgeType, ...] = (
    EdgeType.TEMPORAL,
    EdgeType.IMPORT,
    EdgeType.TYPE,
    EdgeType.DATA_FLOW,
    EdgeType.FUNCTION_CALL,
)

# Inside a cycle these reasons are dropped first: the members of a strongly
# connected component can be generated in parallel from each other's signatures,
# which the skeleton already fixes, so a call or a read need not wait for a body.
SOFT_EDGE_TYPES: frozenset[EdgeType] = frozenset({EdgeType.FUNCTION_CALL, EdgeType.DATA_FLOW})


@dataclass(frozen=True, slots=True)
class Edge:
    """`source` is the prerequisite, `target` the dependent."""

    source: str
    target: str
    type: EdgeType
    types: tuple[EdgeType, ...] = ()
    strength: float = 1.0
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def all_types(self) -> tuple[EdgeType, ...]:
        return self.types or (self.type,)

    @property
    def is_soft(self) -> bool:
        return all(kind in SOFT_EDGE_TYPES for kind in self.all_types)

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "to": self.target,
            "type": self.type.name,
            "types": [kind.name for kind in self.all_types],
            "strength": self.strength,
            "metadata": self.metadata,
        }


@dataclass(frozen=True, slots=True)
class Component:
    """A strongly connected component of more than one atom (or a self-loop)."""

    members: tuple[str, ...]
    edge_types: dict[str, int]
    broken_edges: tuple[Edge, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "members": list(self.members),
            "edge_types": dict(self.edge_types),
            "broken_edges": [edge.to_dict() for edge in self.broken_edges],
        }


@dataclass(slots=True)
class GraphAnalysis:
    """Everything the scheduler and the reports need to know about one graph."""

    nodes: dict[str, int]
    edges: list[Edge]
    kept_edges: list[Edge]
    cycles: list[Component]
    waves: list[list[str]]
    critical_path: list[str]
    critical_path_loc: int

    @property
    def has_cycles(self) -> bool:
        return bool(self.cycles)

    @property
    def max_parallelism(self) -> int:
        return max((len(wave) for wave in self.waves), default=0)

    @property
    def wave_widths(self) -> list[int]:
        return [len(wave) for wave in self.waves]

    @property
    def broken_edges(self) -> list[Edge]:
        return [edge for component in self.cycles for edge in component.broken_edges]

    def wave_of(self) -> dict[str, int]:
        """Wave number (from 1) of every atom."""
        return {atom: number for number, wave in enumerate(self.waves, 1) for atom in wave}

    def prerequisites(self) -> dict[str, list[str]]:
        """The atoms each atom waits for, after cycle breaking."""
        waiting: dict[str, list[str]] = {node: [] for node in self.nodes}
        for edge in self.kept_edges:
            waiting[edge.target].append(edge.source)
        return waiting

    def edges_by_type(self) -> dict[str, int]:
        counts = {kind.name: 0 for kind in EdgeType}
        for edge in self.edges:
            counts[edge.type.name] += 1
        return counts

    def summary(self) -> dict[str, Any]:
        return {
            "atoms": len(self.nodes),
            "edges": len(self.edges),
            "edges_by_type": self.edges_by_type(),
            "has_cycles": self.has_cycles,
            "cycles": [component.to_dict() for component in self.cycles],
            "waves": len(self.waves),
            "wave_widths": self.wave_widths,
            "max_parallelism": self.max_parallelism,
            "critical_path": list(self.critical_path),
            "critical_path_length": len(self.critical_path),
            "critical_path_loc": self.critical_path_loc,
        }
