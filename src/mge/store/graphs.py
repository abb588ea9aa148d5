"""Store a graph analysis with its atoms, edges and waves, and load it back.

Rows reference atoms by UUID; the analysis names them by their stable atom id
(`atom_key`), so loading maps one onto the other and gives back an analysis equal
to the one stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from mge.atomize import Atom
from mge.db.base import Base
from mge.db.bulk import insert_rows
from mge.db.models import (
    AtomDependency,
    AtomicUnit,
    DependencyGraph,
    DependencyType,
    ExecutionWave,
    MasterPlan,
    MasterPlanTask,
)
from mge.errors import NotFound
from mge.graph import Component, Edge, EdgeType, GraphAnalysis
from mge.store.atoms import atom_row, atom_values


def _edge_metadata(edge: Edge) -> dict[str, object]:
    return {"types": [kind.value for kind in edge.all_types], **edge.metadata}


def _graph_row(masterplan: MasterPlan, analysis: GraphAnalysis) -> DependencyGraph:
    return DependencyGraph(
        masterplan=masterplan,
        total_atoms=len(analysis.nodes),
        total_dependencies=len(analysis.edges),
        has_cycles=analysis.has_cycles,
        cycle_info=[component.to_dict() for component in analysis.cycles],
        total_waves=len(analysis.waves),
        max_parallelism=analysis.max_parallelism,
        critical_path=list(analysis.critical_path),
        critical_path_length=len(analysis.critical_path),
        critical_path_loc=analysis.critical_path_loc,
        graph_data={
            "wave_widths": analysis.wave_widths,
            "edges_by_type": analysis.edges_by_type(),
            "nodes": analysis.nodes,
        },
    )


def _mark_v2(masterplan: MasterPlan, graph: DependencyGraph, analysis: GraphAnalysis) -> None:
    masterplan.graph = graph
    masterplan.v2_mode = True
    masterplan.total_atoms = len(analysis.nodes)
    masterplan.total_waves = len(analysis.waves)
    masterplan.max_parallelism = analysis.max_parallelism


def save_graph(
    session: Session,
    *,
    masterplan: MasterPlan,
    atoms: Sequence[Atom],
    analysis: GraphAnalysis,
    tasks: Mapping[str, MasterPlanTask] | None = None,
) -> DependencyGraph:
    """Add the graph, one row per atom, every edge (broken ones marked) and every
    wave to the session, and link the masterplan to the graph. Nothing is committed:
    the caller decides the transaction."""
    wave_of = analysis.wave_of()
    graph = _graph_row(masterplan, analysis)
    session.add(graph)
    rows: dict[str, AtomicUnit] = {}
    for number, atom in enumerate(atoms, 1):
        row = atom_row(
            atom,
            masterplan=masterplan,
            number=number,
            task=(tasks or {}).get(atom.id),
        )
        row.graph = graph
        row.wave_number = wave_of.get(atom.id)
        rows[atom.id] = row
        session.add(row)
    broken = {(edge.source, edge.target) for edge in analysis.broken_edges}
    for edge in analysis.edges:
        session.add(
            AtomDependency(
                graph=graph,
                prerequisite=rows[edge.source],
                dependent=rows[edge.target],
                dependency_type=DependencyType(edge.type.value),
                strength=edge.strength,
                is_broken=(edge.source, edge.target) in broken,
                edge_metadata=_edge_metadata(edge),
            )
        )
    for number, members in enumerate(analysis.waves, 1):
        session.add(
            ExecutionWave(
                graph=graph,
                masterplan=masterplan,
                wave_number=number,
                atom_ids=list(members),
                total_atoms=len(members),
                estimated_loc=sum(analysis.nodes[member] for member in members),
            )
        )
    _mark_v2(masterplan, graph, analysis)
    return graph


AtomValues = Callable[[Atom, dict[str, Any]], dict[str, Any]]


def save_graph_bulk(
    session: Session,
    *,
    masterplan: MasterPlan,
    atoms: Sequence[Atom],
    analysis: GraphAnalysis,
    tasks: Mapping[str, uuid.UUID] | None = None,
    graph_data: Mapping[str, Any] | None = None,
    adjust: AtomValues | None = None,
) -> DependencyGraph:
    """What `save_graph` stores, written as bulk inserts (`insert_rows`: COPY on
    PostgreSQL) instead of one ORM object per atom, edge and wave: the rows hold the
    same values. The graph and the masterplan stay ORM objects and are flushed
    first, so the atoms can point at them; the rows are generated batch by batch.

    Args:
        tasks: the id of the task each atom (by atom id) comes from.
        graph_data: merged into the graph's `graph_data`.
        adjust: given each atom and its row's values, returns the values to store.
    """
    graph = _graph_row(masterplan, analysis)
    graph.graph_data = {**graph.graph_data, **(graph_data or {})}
    session.add(graph)
    _mark_v2(masterplan, graph, analysis)
    session.flush()
    wave_of = analysis.wave_of()
    ids = {atom.id: uuid.uuid4() for atom in atoms}
    owners = tasks or {}

    def atom_rows() -> Iterator[dict[str, Any]]:
        for number, atom in enumerate(atoms, 1):
            values = {
                "id": ids[atom.id],
                "masterplan_id": masterplan.id,
                "task_id": owners.get(atom.id),
                "graph_id": graph.id,
                "atom_number": number,
                "wave_number": wave_of.get(atom.id),
                **atom_values(atom),
            }
            yield adjust(atom, values) if adjust is not None else values

    broken = {(edge.source, edge.target) for edge in analysis.broken_edges}
    edge_rows = (
        {
            "id": uuid.uuid4(),
            "graph_id": graph.id,
            "from_atom_id": ids[edge.source],
            "to_atom_id": ids[edge.target],
            "dependency_type": DependencyType(edge.type.value),
            "strength": edge.strength,
            "is_broken": (edge.source, edge.target) in broken,
            "metadata": _edge_metadata(edge),
        }
        for edge in analysis.edges
    )
    wave_rows = (
        {
            "id": uuid.uuid4(),
            "graph_id": graph.id,
            "masterplan_id": masterplan.id,
            "wave_number": number,
            "atom_ids": list(members),
            "total_atoms": len(members),
            "estimated_loc": sum(analysis.nodes[member] for member in members),
        }
        for number, members in enumerate(analysis.waves, 1)
    )
    connection = session.connection()
    insert_rows(connection, _table(AtomicUnit), atom_rows())
    insert_rows(connection, _table(AtomDependency), edge_rows)
    insert_rows(connection, _table(ExecutionWave), wave_rows)
    return graph


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


@dataclass
class LoadedGraph:
    graph: DependencyGraph
    atoms: list[AtomicUnit]
    analysis: GraphAnalysis


def _edge_of(row: AtomDependency, key_of: Mapping[uuid.UUID, str]) -> Edge:
    metadata = dict(row.edge_metadata)
    types = tuple(EdgeType(value) for value in metadata.pop("types", [row.dependency_type.value]))
    return Edge(
        source=key_of[row.from_atom_id],
        target=key_of[row.to_atom_id],
        type=EdgeType(row.dependency_type.value),
        types=types,
        strength=row.strength,
        metadata=metadata,
    )


def load_graph(session: Session, graph_id: uuid.UUID) -> LoadedGraph:
    graph = session.get(DependencyGraph, graph_id)
    if graph is None:
        raise NotFound(f"no dependency graph {graph_id}")
    atoms = list(
        session.scalars(
            select(AtomicUnit)
            .where(AtomicUnit.graph_id == graph_id)
            .order_by(AtomicUnit.atom_number)
        )
    )
    key_of = {atom.id: atom.atom_key for atom in atoms}
    edges = [_edge_of(row, key_of) for row in graph.edges]
    edge_by_pair = {(edge.source, edge.target): edge for edge in edges}
    broken_pairs = {
        (key_of[row.from_atom_id], key_of[row.to_atom_id]) for row in graph.edges if row.is_broken
    }
    number_of = {atom.atom_key: atom.atom_number for atom in atoms}
    edges.sort(key=lambda edge: (number_of[edge.source], number_of[edge.target]))
    cycles = [
        Component(
            members=tuple(info["members"]),
            edge_types=dict(info["edge_types"]),
            broken_edges=tuple(
                edge_by_pair[(item["from"], item["to"])] for item in info["broken_edges"]
            ),
        )
        for info in graph.cycle_info
    ]
    analysis = GraphAnalysis(
        nodes={atom.atom_key: int(graph.graph_data["nodes"][atom.atom_key]) for atom in atoms},
        edges=edges,
        kept_edges=[edge for edge in edges if (edge.source, edge.target) not in broken_pairs],
        cycles=cycles,
        waves=[list(wave.atom_ids) for wave in graph.waves],
        critical_path=list(graph.critical_path),
        critical_path_loc=graph.critical_path_loc,
    )
    return LoadedGraph(graph=graph, atoms=atoms, analysis=analysis)
