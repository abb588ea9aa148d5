"""Cycles, waves and the critical path of a typed dependency graph.

Cycles are found as strongly connected components (linear time), never by
enumerating simple cycles, which is exponential on real code. They are broken by
one rule, applied in rounds until no component remains: inside a component, drop
the edges whose every reason is soft (FUNCTION_CALL, DATA_FLOW); if a component
survives (its cycle is made of structural edges, such as two modules importing
each other), drop its TYPE edges, then its IMPORT edges. TEMPORAL edges follow
the text of a file and never close a cycle on their own, so they are never
dropped. Dropped edges stay in the graph's record, marked broken.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import networkx as nx

from mge.graph._types import EDGE_PRECEDENCE, Component, Edge, EdgeType, GraphAnalysis

_BREAK_ROUNDS: tuple[frozenset[EdgeType], ...] = (
    frozenset({EdgeType.FUNCTION_CALL, EdgeType.DATA_FLOW}),
    frozenset({EdgeType.FUNCTION_CALL, EdgeType.DATA_FLOW, EdgeType.TYPE}),
    frozenset({EdgeType.FUNCTION_CALL, EdgeType.DATA_FLOW, EdgeType.TYPE, EdgeType.IMPORT}),
)


def merge_edges(edges: Iterable[Edge]) -> list[Edge]:
    """One edge per (prerequisite, dependent) pair, carrying every reason.

    Self-references are dropped: an atom never waits for itself. The order of the
    result follows the first appearance of each pair, so it is deterministic.
    """
    reasons: dict[tuple[str, str], list[Edge]] = {}
    for edge in edges:
        if edge.source == edge.target:
            continue
        reasons.setdefault((edge.source, edge.target), []).append(edge)
    merged: list[Edge] = []
    for (source, target), group in reasons.items():
        kinds = {kind for edge in group for kind in edge.all_types}
        ordered = tuple(kind for kind in EDGE_PRECEDENCE if kind in kinds)
        metadata: dict[str, object] = {}
        for edge in group:
            for key, value in edge.metadata.items():
                if isinstance(value, list):
                    known = metadata.setdefault(key, [])
                    assert isinstance(known, list)
                    known.extend(item for item in value if item not in known)
                else:
                    metadata.setdefault(key, value)
        merged.append(
            Edge(
                source=source,
                target=target,
                type=ordered[0],
                types=ordered,
                strength=max(edge.strength for edge in group),
                metadata=metadata,
            )
        )
    return merged


def _components(graph: nx.DiGraph) -> list[list[str]]:
    found = []
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1:
            found.append(sorted(component))
    return sorted(found)


def _break_cycles(nodes: Iterable[str], edges: list[Edge]) -> tuple[list[Edge], list[Component]]:
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    for edge in edges:
        graph.add_edge(edge.source, edge.target, edge=edge)

    reports: list[Component] = []
    for members in _components(graph):
        inside: list[Edge] = [data["edge"] for *_, data in graph.subgraph(members).edges(data=True)]
        counts = Counter(kind.name for edge in inside for kind in edge.all_types)
        broken: list[Edge] = []
        for droppable in _BREAK_ROUNDS:
            remaining = _components(graph.subgraph(members))
            if not remaining:
                break
            for component in remaining:
                for source, target, data in list(graph.subgraph(component).edges(data=True)):
                    candidate: Edge = data["edge"]
                    if all(kind in droppable for kind in candidate.all_types):
                        graph.remove_edge(source, target)
                        broken.append(candidate)
        reports.append(
            Component(
                members=tuple(members),
                edge_types=dict(sorted(counts.items())),
                broken_edges=tuple(sorted(broken, key=lambda e: (e.source, e.target))),
            )
        )
    kept = [data["edge"] for _, _, data in graph.edges(data=True)]
    if not nx.is_directed_acyclic_graph(graph):
        # Only TEMPORAL edges remain in a cycle: the caller's edges contradict the
        # order of the text itself, which the atomizer never produces.
        cycle = nx.find_cycle(graph)
        raise ValueError(f"TEMPORAL edges form a cycle: {cycle}")
    return kept, reports


def _critical_path(graph: nx.DiGraph, loc: Mapping[str, int]) -> tuple[list[str], int]:
    """The chain with the most LOC (ties: the most atoms), by dynamic programming
    over a topological order: linear in nodes plus edges."""
    best: dict[str, tuple[int, int]] = {}
    previous: dict[str, str | None] = {}
    for node in nx.topological_sort(graph):
        weight = max(loc.get(node, 0), 1)
        choice: tuple[int, int] = (weight, 1)
        parent: str | None = None
        for pred in graph.predecessors(node):
            pred_loc, pred_len = best[pred]
            candidate = (pred_loc + weight, pred_len + 1)
            if candidate > choice or (candidate == choice and parent is not None and pred < parent):
                choice, parent = candidate, pred
        best[node] = choice
        previous[node] = parent
    if not best:
        return [], 0
    end = max(best, key=lambda node: (best[node], node))
    path: list[str] = []
    cursor: str | None = end
    while cursor is not None:
        path.append(cursor)
        cursor = previous[cursor]
    path.reverse()
    return path, sum(loc.get(node, 0) for node in path)


def analyze(nodes: Mapping[str, int], edges: Iterable[Edge]) -> GraphAnalysis:
    """Analyse atoms (id → estimated LOC) linked by typed edges.

    Edges naming an unknown atom are ignored (a dangling reference makes no edge).
    """
    known = [edge for edge in edges if edge.source in nodes and edge.target in nodes]
    merged = merge_edges(known)
    kept, cycles = _break_cycles(nodes, merged)
    dag: nx.DiGraph = nx.DiGraph()
    dag.add_nodes_from(nodes)
    dag.add_edges_from((edge.source, edge.target) for edge in kept)
    order = {node: index for index, node in enumerate(nodes)}
    waves = [
        sorted(generation, key=order.__getitem__) for generation in nx.topological_generations(dag)
    ]
    path, path_loc = _critical_path(dag, nodes)
    return GraphAnalysis(
        nodes=dict(nodes),
        edges=merged,
        kept_edges=kept,
        cycles=cycles,
        waves=waves,
        critical_path=path,
        critical_path_loc=path_loc,
    )
