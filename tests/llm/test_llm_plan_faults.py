"""Planning faults of the replay model's skeletons meet the same parser and checks
a real model's answer meets: each is caught there, or surfaces downstream."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from mge.atomize import AtomizeConfig
from mge.atomize._plan import plan_file
from mge.execute._assembly import PlannedAtom
from mge.execute._judge import FileAtom, judge
from mge.llm import Purpose
from mge.llm._faults import choose_fault
from mge.llm._plan_faults import PLAN_FAULT_KINDS, apply_plan_fault
from mge.llm._reference import PlanReference
from mge.validate import AtomSpec

REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "reference"
FILE = "inventory/restock.py"
CONFIG = AtomizeConfig()


@pytest.fixture(scope="module")
def skeleton() -> str:
    text = PlanReference(REFERENCE, CONFIG).skeleton(FILE)
    assert text is not None
    return text


def _faulted(skeleton: str, kind: str, seed: int) -> str:
    damaged = apply_plan_fault(skeleton, kind, random.Random(seed))
    assert damaged is not None and damaged != skeleton
    return damaged


@pytest.mark.parametrize("kind", ["extra_callee", "malformed_plan"])
@pytest.mark.parametrize("seed", range(12))
def test_grammar_and_name_faults_are_caught_by_the_parser(
    skeleton: str, kind: str, seed: int
) -> None:
    assert plan_file(skeleton, FILE, config=CONFIG).problems == []
    problems = plan_file(_faulted(skeleton, kind, seed), FILE, config=CONFIG).problems
    expected = "exists nowhere" if kind == "extra_callee" else "malformed plan line"
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize("seed", range(12))
def test_a_missing_callee_plans_one_name_fewer(skeleton: str, seed: int) -> None:
    def declared(text: str) -> int:
        planned = plan_file(text, FILE, config=CONFIG)
        assert planned.problems == []
        return sum(len(atom.context.get("callees", [])) for atom in planned.result.atoms)

    assert declared(_faulted(skeleton, "missing_callee", seed)) == declared(skeleton) - 1


@pytest.mark.parametrize("seed", range(12))
def test_a_missing_function_loses_its_atoms_or_is_caught(skeleton: str, seed: int) -> None:
    whole = plan_file(skeleton, FILE, config=CONFIG)
    damaged = plan_file(_faulted(skeleton, "missing_function", seed), FILE, config=CONFIG)
    lost = {a.qualname for a in whole.result.atoms} - {a.qualname for a in damaged.result.atoms}
    assert lost  # the definition is gone from the plan ...
    callers = [a for a in whole.result.atoms if set(a.context.get("callees", [])) & lost]
    # ... and a body that declared it is caught at once; otherwise the tests find it.
    assert bool(damaged.problems) == bool(callers)


@pytest.mark.parametrize("seed", range(12))
def test_a_changed_signature_is_caught_or_surfaces_at_the_contract_check(
    skeleton: str, seed: int
) -> None:
    whole = {a.id: a for a in plan_file(skeleton, FILE, config=CONFIG).result.atoms}
    damaged = plan_file(_faulted(skeleton, "changed_signature", seed), FILE, config=CONFIG)
    if damaged.problems:
        # The body declared a name through the old parameter: caught at once.
        assert all("exists nowhere" in problem for problem in damaged.problems)
        return
    changed = [
        atom
        for atom in damaged.result.atoms
        if atom.context.get("signature") != whole[atom.id].context.get("signature")
        and atom.kind != "block"  # a body's later pieces carry its signature too
    ]
    assert len(changed) == 1
    atom = changed[0]
    layout = [
        FileAtom(
            PlannedAtom(
                a.id, a.file, a.kind, a.name, a.qualname, a.context.get("signature"), "", "    "
            )
        )
        for a in damaged.result.atoms
    ]
    spec = AtomSpec(
        atom.id,
        atom.kind,
        atom.name,
        atom.qualname,
        "python",
        FILE,
        signature=atom.context.get("signature"),
        whole_definition=sum(a.qualname == atom.qualname for a in damaged.result.atoms) == 1,
    )
    answer = PlanReference(REFERENCE, CONFIG).atom(atom.id)
    assert answer is not None
    verdict = judge(answer, spec, layout, {})
    assert not verdict.passed
    assert "contract" in verdict.error_classes


def test_skeleton_requests_draw_planning_faults_and_atoms_do_not(skeleton: str) -> None:
    kinds: dict[str, set[str | None]] = {"skeleton": set(), "atom": set()}
    for attempt in range(1, 400):
        for purpose in ("skeleton", "atom"):
            outcome = choose_fault(
                skeleton,
                Purpose(purpose, FILE, attempt),
                seed=1,
                rate=1.0,  # type: ignore[arg-type]
            )
            kinds[purpose].add(outcome.kind)
    assert set(PLAN_FAULT_KINDS) <= kinds["skeleton"]
    assert not set(PLAN_FAULT_KINDS) & kinds["atom"]
    assert kinds["skeleton"] - set(PLAN_FAULT_KINDS) <= {
        "syntax_error",
        "truncated",
        "prose_fences",
    }
