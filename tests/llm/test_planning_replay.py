"""Replay's answers to the planning calls: the reference's plan, and planning faults."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from mge.llm import ModelRequest, Purpose, make_model
from mge.llm._planning_replay import PlanningAnswers, _plan_fault
from mge.plan import dump_plan, from_code
from mge.plan._drafting import (
    DraftRejected,
    parse_discovery,
    parse_masterplan,
    parse_test_files,
)
from mge.planner import stub_verdict
from mge.validate.testing import run_pytest

REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "inventory" / "reference"


@pytest.fixture(scope="module")
def answers() -> PlanningAnswers:
    return PlanningAnswers(REFERENCE)


def test_the_right_answer_is_the_plan_from_code_makes(answers: PlanningAnswers) -> None:
    plan = parse_masterplan(answers.masterplan(None, random.Random(0)))
    expected = from_code(REFERENCE)
    assert [(t.id, t.files, t.depends_on, t.tests) for t in plan.tasks()] == [
        (t.id, t.files, t.depends_on, t.tests) for t in expected.tasks()
    ]
    interface = {t.id: t.interface for t in plan.tasks()}
    assert "class Catalog" in interface["inventory.catalog"]
    # The package's re-exports are sketched as what they are where defined.
    assert "class Catalog" in interface["inventory"]
    discovery = parse_discovery(answers.discovery())
    assert "Catalog" in {entity.name for entity in discovery.entities}


def _replay_answer(stage: str, seed: int, rate: float, attempt: int = 1) -> str:
    model = make_model("replay", reference_dir=REFERENCE, fault_rate=rate, seed=seed)
    request = ModelRequest.single("plan", purpose=Purpose(stage, "request", attempt=attempt))  # type: ignore[arg-type]
    return asyncio.run(model.complete(request)).text


def test_faults_are_deterministic_by_seed_and_attempt() -> None:
    first = [_replay_answer("masterplan", seed, 1.0) for seed in range(4)]
    assert first == [_replay_answer("masterplan", seed, 1.0) for seed in range(4)]
    clean = _replay_answer("masterplan", 0, 0.0)
    assert all(answer != clean for answer in first)
    assert _replay_answer("masterplan", 0, 1.0, attempt=2) != first[0]


def test_each_planning_fault_does_what_it_says(answers: PlanningAnswers) -> None:
    plan = answers.plan
    rng = random.Random(3)
    dropped = _plan_fault(plan, "dropped_task", rng)
    assert dropped is not None and len(dropped.tasks()) == len(plan.tasks()) - 1
    missing = _plan_fault(plan, "missing_dependency", rng)
    assert missing is not None
    assert sum(len(t.depends_on) for t in missing.tasks()) == (
        sum(len(t.depends_on) for t in plan.tasks()) - 1
    )
    moved = _plan_fault(plan, "wrong_file_owner", rng)
    assert moved is not None
    owners = {f: t.id for t in plan.tasks() for f in t.files}
    assert {f: t.id for t in moved.tasks() for f in t.files} != owners
    assert sorted(owners) == sorted(f for t in moved.tasks() for f in t.files)


def test_validation_catches_a_vague_interface(answers: PlanningAnswers) -> None:
    vague = _plan_fault(answers.plan, "vague_interface", random.Random(1))
    assert vague is not None
    with pytest.raises(DraftRejected, match=r"interface\[0\]: 'the functions"):
        parse_masterplan("```yaml\n" + dump_plan(vague) + "```\n")


def _sandbox(root: Path, tests: list[str]):  # type: ignore[no-untyped-def]
    return run_pytest(root, tests, timeout=120.0, per_test_timeout=10.0)


def test_the_reference_tests_fail_on_stubs_and_a_vacuous_one_is_refused(
    answers: PlanningAnswers,
) -> None:
    plan = answers.plan
    good = parse_test_files(answers.tests(None, random.Random(0)), plan)
    assert stub_verdict(plan, good, _sandbox) == []
    # The faulted test asserts a constant: refused before anything runs.
    with pytest.raises(DraftRejected, match="checks nothing: it asserts only constants"):
        parse_test_files(answers.tests("vacuous_test", random.Random(0)), plan)
