"""A graph with its atoms, edges and waves stored and loaded back identical,
on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mge.atomize import atomize_source
from mge.db import make_engine, migrate
from mge.db.models import AtomDependency, AtomicUnit, ExecutionWave, MasterPlan
from mge.errors import NotFound
from mge.graph import Edge, EdgeType, GraphAnalysis, analyze
from mge.store import load_graph, save_graph

SOURCE = b'''"""Parity helpers."""
import math

LIMIT = 10


def is_even(n: int) -> bool:
    return n == 0 or is_odd(n - 1)


def is_odd(n: int) -> bool:
    return n != 0 and is_even(n - 1)


def root(n: float) -> float:
    return math.sqrt(n) if n < LIMIT else float(LIMIT)
'''


def _sorted(edges: list[Edge]) -> list[tuple[str, str, str, tuple[EdgeType, ...], float, str]]:
    return sorted(
        (e.source, e.target, e.type.value, e.all_types, e.strength, repr(e.metadata)) for e in edges
    )


def _same(a: GraphAnalysis, b: GraphAnalysis) -> None:
    assert a.nodes == b.nodes
    assert _sorted(a.edges) == _sorted(b.edges)
    assert _sorted(a.kept_edges) == _sorted(b.kept_edges)
    assert [c.to_dict() for c in a.cycles] == [c.to_dict() for c in b.cycles]
    assert a.waves == b.waves
    assert a.critical_path == b.critical_path
    assert a.critical_path_loc == b.critical_path_loc
    assert a.summary() == b.summary()


def test_round_trip(db_url: str) -> None:
    atoms = atomize_source(SOURCE, "parity.py").atoms
    ids = {atom.name: atom.id for atom in atoms}
    header = atoms[0].id
    edges = [Edge(header, atom.id, EdgeType.TEMPORAL) for atom in atoms[1:]]
    edges += [
        Edge(ids["is_odd"], ids["is_even"], EdgeType.FUNCTION_CALL, metadata={"names": ["is_odd"]}),
        Edge(ids["is_even"], ids["is_odd"], EdgeType.FUNCTION_CALL),
        Edge(header, ids["root"], EdgeType.IMPORT, metadata={"names": ["math"]}),
    ]
    analysis = analyze({atom.id: atom.loc for atom in atoms}, edges)
    assert analysis.has_cycles

    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    with Session(engine) as session:
        plan = MasterPlan(name="parity")
        session.add(plan)
        graph = save_graph(session, masterplan=plan, atoms=atoms, analysis=analysis)
        session.commit()
        graph_id, plan_id = graph.id, plan.id

    with Session(engine) as session:
        loaded = load_graph(session, graph_id)
        _same(loaded.analysis, analysis)
        assert [row.atom_key for row in loaded.atoms] == [atom.id for atom in atoms]
        assert "".join(row.code or "" for row in loaded.atoms).encode() == SOURCE
        plan = session.get_one(MasterPlan, plan_id)
        assert plan.graph_id == graph_id and plan.v2_mode
        assert plan.total_atoms == len(atoms)
        assert plan.total_waves == len(analysis.waves)
        assert plan.max_parallelism == analysis.max_parallelism
        assert loaded.graph.has_cycles
        broken = session.scalar(
            select(func.count()).select_from(AtomDependency).where(AtomDependency.is_broken)
        )
        assert broken == 2
        waves = session.scalars(select(ExecutionWave).order_by(ExecutionWave.wave_number)).all()
        assert [w.atom_ids for w in waves] == analysis.waves
        for row in session.scalars(select(AtomicUnit)):
            assert row.wave_number == analysis.wave_of()[row.atom_key]
    engine.dispose()


def test_loading_an_unknown_graph_is_not_found(sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with Session(engine) as session, pytest.raises(NotFound):
        load_graph(session, uuid.uuid4())
    engine.dispose()
