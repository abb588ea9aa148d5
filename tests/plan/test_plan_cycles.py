"""Cycles in plans and in imports, on random graphs, against networkx as the oracle."""

from __future__ import annotations

import itertools
import re
import tempfile
from pathlib import Path

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from mge.plan import Milestone, Phase, Plan, Task, check_plan, from_code

edges_strategy = st.integers(min_value=1, max_value=9).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.sets(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda e: e[0] != e[1]),
            max_size=20,
        ),
    )
)


def _plan(n: int, edges: set[tuple[int, int]]) -> Plan:
    tasks = [
        Task(
            id=f"t{i}",
            name=f"Task {i}",
            files=[f"src/t{i}.py"],
            depends_on=sorted(f"t{b}" for a, b in edges if a == i),
        )
        for i in range(n)
    ]
    return Plan(
        name="random", phases=[Phase(name="P", milestones=[Milestone(name="M", tasks=tasks)])]
    )


@settings(max_examples=200, deadline=None)
@given(edges_strategy)
def test_cycles_are_reported_exactly_when_the_graph_has_one(
    case: tuple[int, set[tuple[int, int]]],
) -> None:
    n, edges = case
    graph = nx.DiGraph()
    graph.add_nodes_from(f"t{i}" for i in range(n))
    graph.add_edges_from((f"t{a}", f"t{b}") for a, b in edges)
    messages = [issue.message for issue in check_plan(_plan(n, edges))]
    cyclic_components = [c for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert len(messages) == len(cyclic_components)
    for message in messages:
        match = re.fullmatch(r"dependency cycle (.+)", message)
        assert match is not None
        path = match.group(1).split(" -> ")
        assert path[0] == path[-1]
        assert len(set(path[:-1])) == len(path) - 1  # a simple cycle
        for a, b in itertools.pairwise(path):
            assert graph.has_edge(a, b)


import_graphs = st.integers(min_value=1, max_value=8).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.dictionaries(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda e: e[0] != e[1]),
            st.sampled_from(["eager", "deferred", "from_package"]),
            max_size=16,
        ),
    )
)


@settings(max_examples=60, deadline=None)
@given(import_graphs)
def test_from_code_always_gives_a_valid_plan_that_keeps_every_acyclic_import(
    case: tuple[int, dict[tuple[int, int], str]],
) -> None:
    n, imports = case
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(imports)
    in_cycle = {m for c in nx.strongly_connected_components(graph) if len(c) > 1 for m in c}
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "pkg"
        package.mkdir()
        (package / "__init__.py").write_text("")
        for i in range(n):
            lines = [f"def f{i}():\n    return {i}\n"]
            for (a, b), kind in sorted(imports.items()):
                if a != i:
                    continue
                if kind == "eager":
                    lines.insert(0, f"from pkg.m{b} import f{b}\n")
                elif kind == "deferred":
                    lines.append(f"def g{b}():\n    from pkg import m{b}\n    return m{b}\n")
                else:
                    lines.insert(0, f"from . import m{b}\n")
            (package / f"m{i}.py").write_text("".join(lines))
        plan = from_code(package, plan_dir=tmp)
    assert check_plan(plan) == []
    depends = {t.id: set(t.depends_on) for t in plan.tasks()}
    for a, b in imports:
        if a not in in_cycle or b not in in_cycle:
            assert f"pkg.m{b}" in depends[f"pkg.m{a}"]
    # Inside a cycle an import is either kept or named in the description.
    descriptions = {t.id: t.description for t in plan.tasks()}
    for a, b in imports:
        if a in in_cycle and f"pkg.m{b}" not in depends[f"pkg.m{a}"]:
            also = descriptions[f"pkg.m{a}"].split("Also imports ")[1]
            assert f"pkg.m{b}" in also.split(", built after it")[0].split(", ")
