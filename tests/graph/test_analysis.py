"""Direction, cycles, waves and the critical path on hand-made graphs."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from mge.graph import Edge, EdgeType, analyze

CALL, DATA, TYPE, IMPORT, TEMPORAL = (
    EdgeType.FUNCTION_CALL,
    EdgeType.DATA_FLOW,
    EdgeType.TYPE,
    EdgeType.IMPORT,
    EdgeType.TEMPORAL,
)


def nodes(*names: str, loc: int = 5) -> dict[str, int]:
    return dict.fromkeys(names, loc)


def test_a_chain_runs_prerequisite_first() -> None:
    # c calls b, b calls a: a must be generated first.
    result = analyze(nodes("c", "b", "a"), [Edge("a", "b", CALL), Edge("b", "c", CALL)])
    assert result.waves == [["a"], ["b"], ["c"]]
    assert result.prerequisites() == {"c": ["b"], "b": ["a"], "a": []}
    assert result.critical_path == ["a", "b", "c"]
    assert result.max_parallelism == 1
    assert not result.has_cycles


def test_a_diamond_has_a_wide_middle_wave() -> None:
    edges = [Edge("root", m, IMPORT) for m in ("x", "y", "z")]
    edges += [Edge(m, "top", CALL) for m in ("x", "y", "z")]
    result = analyze(nodes("root", "x", "y", "z", "top"), edges)
    assert result.waves == [["root"], ["x", "y", "z"], ["top"]]
    assert result.wave_widths == [1, 3, 1]
    assert result.max_parallelism == 3


def test_critical_path_is_weighted_by_loc() -> None:
    sizes = {"a": 2, "b": 2, "c": 2, "heavy": 40, "end": 1}
    edges = [Edge("a", "b", CALL), Edge("b", "c", CALL), Edge("c", "end", CALL)]
    edges.append(Edge("heavy", "end", CALL))
    result = analyze(sizes, edges)
    assert result.critical_path == ["heavy", "end"]
    assert result.critical_path_loc == 41


def test_mutual_recursion_is_one_component_broken_by_dropping_calls() -> None:
    result = analyze(
        nodes("even", "odd", "main"),
        [
            Edge("even", "odd", CALL),
            Edge("odd", "even", CALL),
            Edge("even", "main", CALL),
        ],
    )
    assert result.has_cycles
    (component,) = result.cycles
    assert component.members == ("even", "odd")
    assert component.edge_types == {"FUNCTION_CALL": 2}
    assert {(e.source, e.target) for e in component.broken_edges} == {
        ("even", "odd"),
        ("odd", "even"),
    }
    assert result.waves == [["even", "odd"], ["main"]]


def test_a_structural_edge_survives_while_soft_edges_break_the_cycle() -> None:
    # Child's class header needs Base (TYPE); Base's method calls into Child (CALL).
    result = analyze(
        nodes("Base", "Child"),
        [
            Edge("Base", "Child", TYPE),
            Edge("Child", "Base", CALL),
        ],
    )
    (component,) = result.cycles
    assert [(e.source, e.target) for e in component.broken_edges] == [("Child", "Base")]
    assert result.waves == [["Base"], ["Child"]]


def test_mutual_imports_break_only_after_soft_and_type_edges() -> None:
    result = analyze(
        nodes("a_header", "b_header"),
        [
            Edge("a_header", "b_header", IMPORT),
            Edge("b_header", "a_header", IMPORT),
        ],
    )
    (component,) = result.cycles
    assert component.edge_types == {"IMPORT": 2}
    assert len(component.broken_edges) == 2
    assert result.waves == [["a_header", "b_header"]]


def test_reasons_for_one_pair_merge_into_one_edge() -> None:
    result = analyze(
        nodes("h", "f"),
        [
            Edge("h", "f", CALL, metadata={"names": ["g"]}),
            Edge("h", "f", TEMPORAL),
            Edge("h", "f", CALL, metadata={"names": ["k", "g"]}),
        ],
    )
    (edge,) = result.edges
    assert edge.type is TEMPORAL
    assert edge.types == (TEMPORAL, CALL)
    assert edge.metadata == {"names": ["g", "k"]}
    assert result.edges_by_type()["TEMPORAL"] == 1


def test_temporal_order_is_never_dropped_inside_a_cycle() -> None:
    result = analyze(
        nodes("piece1", "piece2"),
        [
            Edge("piece1", "piece2", TEMPORAL),
            Edge("piece2", "piece1", DATA),
        ],
    )
    (component,) = result.cycles
    assert [(e.source, e.target) for e in component.broken_edges] == [("piece2", "piece1")]
    assert result.waves == [["piece1"], ["piece2"]]


def test_dangling_and_self_edges_make_no_edge() -> None:
    result = analyze(nodes("a"), [Edge("a", "a", CALL), Edge("ghost", "a", CALL)])
    assert result.edges == []
    assert result.waves == [["a"]]


def test_an_empty_graph() -> None:
    result = analyze({}, [])
    assert result.waves == [] and result.max_parallelism == 0
    assert result.critical_path == [] and result.critical_path_loc == 0


@st.composite
def random_graphs(draw: st.DrawFn) -> tuple[dict[str, int], list[Edge]]:
    count = draw(st.integers(min_value=1, max_value=30))
    names = [f"n{i}" for i in range(count)]
    pairs = st.tuples(st.sampled_from(names), st.sampled_from(names))
    kinds = st.sampled_from([CALL, DATA, TYPE, IMPORT])
    raw = draw(st.lists(st.tuples(pairs, kinds), max_size=80))
    edges = [Edge(a, b, kind) for (a, b), kind in raw]
    # TEMPORAL edges only ever follow one order, as in a file.
    edges += [Edge(names[i], names[i + 1], TEMPORAL) for i in range(0, count - 1, 3)]
    return {name: draw(st.integers(0, 20)) for name in names}, edges


@settings(max_examples=200, deadline=None)
@given(random_graphs())
def test_every_kept_edge_goes_forward_in_waves(graph: tuple[dict[str, int], list[Edge]]) -> None:
    sizes, edges = graph
    result = analyze(sizes, edges)
    wave = result.wave_of()
    assert sorted(wave) == sorted(sizes)
    for edge in result.kept_edges:
        assert wave[edge.source] < wave[edge.target]
    kept_pairs = {(e.source, e.target) for e in result.kept_edges}
    broken_pairs = {(e.source, e.target) for e in result.broken_edges}
    assert kept_pairs.isdisjoint(broken_pairs)
    assert kept_pairs | broken_pairs == {(e.source, e.target) for e in result.edges}
    assert all(TEMPORAL not in e.all_types for e in result.broken_edges)
    for first, second in zip(result.critical_path, result.critical_path[1:], strict=False):
        assert (first, second) in kept_pairs


def test_a_hundred_thousand_atoms_with_cycles_build() -> None:
    rng = random.Random(7)
    count = 100_000
    sizes = {f"a{i}": rng.randint(1, 15) for i in range(count)}
    edges = [Edge(f"a{i - rng.randint(1, 50)}", f"a{i}", CALL) for i in range(50, count)]
    # Sprinkle mutual recursions and a long import ring: cycles SCC detection must survive.
    edges += [Edge(f"a{i}", f"a{i - 1}", CALL) for i in range(1000, count, 1000)]
    edges += [Edge(f"a{i}", f"a{(i + 1) % 200}", IMPORT) for i in range(200)]
    result = analyze(sizes, edges)
    assert result.has_cycles
    assert sum(result.wave_widths) == count
    wave = result.wave_of()
    assert all(wave[e.source] < wave[e.target] for e in result.kept_edges)
