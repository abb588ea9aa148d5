"""bench.planning: fidelity against the reference plan and fault accounting."""

from __future__ import annotations

import random
import sys
from pathlib import Path

from mge.llm._planning_replay import PlanningAnswers, _plan_fault, planning_fault
from mge.planner import Draft, StageCost

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.planning import REFERENCE, faults, fidelity  # noqa: E402


def test_fidelity_counts_what_a_fault_lost() -> None:
    answers = PlanningAnswers(REFERENCE)
    plan = answers.plan
    tests = {"tests/test_a.py": "def test_a():\n    assert 1\n"}
    perfect = Draft("r", "replay", True, plan=plan, tests=dict(tests))
    assert fidelity(plan, tests, perfect) == {
        "tasks": 100.0,
        "files": 100.0,
        "dependencies": 100.0,
        "tests": 100.0,
    }
    dropped = _plan_fault(plan, "dropped_task", random.Random(0))
    assert dropped is not None
    lossy = Draft("r", "replay", True, plan=dropped, tests={})
    scores = fidelity(plan, tests, lossy)
    assert scores["tasks"] == 100.0 * (len(plan.tasks()) - 1) / len(plan.tasks())
    assert scores["files"] < 100.0 and scores["tests"] == 0.0


def test_a_fault_on_a_refused_attempt_is_caught_and_on_the_accepted_one_silent() -> None:
    seed = next(
        s
        for s in range(200)
        if planning_fault("masterplan", seed=s, attempt=1, rate=0.5)[0] is not None
        and planning_fault("masterplan", seed=s, attempt=2, rate=0.5)[0] is not None
    )
    kind1 = planning_fault("masterplan", seed=seed, attempt=1, rate=0.5)[0]
    kind2 = planning_fault("masterplan", seed=seed, attempt=2, rate=0.5)[0]
    draft = Draft("r", "replay", True, stages=[StageCost("masterplan", attempts=2, ok=True)])
    found = faults(draft, seed=seed, rate=0.5)
    assert dict(found.caught) == {kind1: 1}
    assert dict(found.silent) == {kind2: 1}
