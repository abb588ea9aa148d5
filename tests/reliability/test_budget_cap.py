"""The budget is a hard cap (issue 20): every model call reserves its worst case
before it is made, so calls running at the same time (the skeletons of a plan, its
atoms) never spend more than the cap together, and nan, infinities and negative
amounts are refused with one line wherever a budget is given."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.execute.conftest import EXAMPLE_PLAN, InstrumentedModel, mge_cli, run_plan

from mge.atomize import AtomizeConfig
from mge.db import make_engine
from mge.errors import BudgetExhausted
from mge.execute import execute_run, prepare_resume, run_report
from mge.llm import Budget, Model, ModelRequest, ModelResponse, Purpose, make_model, worst_case_usd
from mge.llm._reference import PlanReference


class Watched(InstrumentedModel):
    """The instrumented model (calls in flight, their peak) that also adds up what
    its answers cost and says what a call may cost at most, like the model it wraps."""

    def __init__(self, inner: Model) -> None:
        super().__init__(inner)
        self.spent = 0.0
        self.calls = 0

    def worst_case_usd(self, request: ModelRequest) -> float:
        return worst_case_usd(self.inner, request)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        response = await super().complete(request)
        self.spent += response.cost_usd
        self.calls += 1
        return response


def _replay(pricing: str) -> Model:
    """Replay over the example's reference, priced as `pricing`, with latency so
    that calls overlap."""
    reference = PlanReference(EXAMPLE_PLAN.parent / "reference", AtomizeConfig())
    return make_model(f"replay:{pricing}", reference=reference, latency_ms=40)


def _report(url: str, run_id: object) -> dict[str, object]:
    engine = make_engine(url)
    try:
        return run_report(engine, str(run_id))
    finally:
        engine.dispose()


def test_concurrent_skeleton_calls_stay_under_a_tiny_budget(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Thirteen skeleton calls start together; at $0.05 with Haiku prices they cost
    about $0.065 in all, so only a cap that counts calls in flight holds."""
    model = Watched(_replay("claude-haiku-4-5"))
    run_id = run_plan(
        sqlite_url, EXAMPLE_PLAN, tmp_path / "out", model=model, budget_usd=0.05, levels="atomic"
    )
    report = _report(sqlite_url, run_id)
    assert report["status"] == "budget_exhausted"
    assert model.calls > 0 and model.peak >= 2  # calls did run side by side
    assert model.spent <= 0.05
    assert report["cost_usd"] == pytest.approx(model.spent)
    assert "budget" in str(report["error"])


def test_atom_calls_stay_under_a_cent_and_resume_finishes_with_more(
    sqlite_url: str, tmp_path: Path
) -> None:
    model = Watched(_replay("gpt-4.1-nano"))
    run_id = run_plan(
        sqlite_url, EXAMPLE_PLAN, tmp_path / "out", model=model, budget_usd=0.01, levels="atomic"
    )
    report = _report(sqlite_url, run_id)
    atoms = report["atoms"]
    assert report["status"] == "budget_exhausted"
    assert isinstance(atoms, dict) and 0 < atoms["completed"] < atoms["total"]
    assert model.spent <= 0.01 and model.peak >= 2
    engine = make_engine(sqlite_url)
    try:
        prepare_resume(engine, str(run_id), budget_usd=1.0)
        more = Watched(_replay("gpt-4.1-nano"))
        assert asyncio.run(execute_run(engine, run_id, model=more)).value == "completed"
    finally:
        engine.dispose()
    assert float(_report(sqlite_url, run_id)["cost_usd"]) <= 1.0  # type: ignore[arg-type]


class _Priced:
    """A model whose calls may cost up to $0.30 and cost $0.10; while it answers it
    checks the budget's books: spent and held never pass the cap together."""

    name = "priced"
    simulated = True

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.over: list[float] = []

    def worst_case_usd(self, request: ModelRequest) -> float:
        return 0.30

    async def complete(self, request: ModelRequest) -> ModelResponse:
        held = self.budget.spent_usd + self.budget.reserved_usd
        if held > 1.0 + 1e-9:
            self.over.append(held)
        await asyncio.sleep(0)
        return ModelResponse("x", 1, 1, 0, "priced", 0.0, 0.10)

    async def aclose(self) -> None:
        return None


def test_fifty_concurrent_calls_never_hold_more_than_the_cap() -> None:
    budget = Budget(1.0)
    model = _Priced(budget)
    request = ModelRequest.single("hi", purpose=Purpose("atom", "a"))

    async def one() -> bool:
        try:
            await budget.call(model, request)
        except BudgetExhausted:
            return False
        return True

    async def all_of_them() -> list[bool]:
        return await asyncio.gather(*(one() for _ in range(50)))

    made = asyncio.run(all_of_them())
    assert model.over == []
    assert budget.spent_usd <= 1.0 and budget.reserved_usd == 0.0
    # Calls that did not fit at first waited for others to settle instead of
    # stopping the run early: spending went on while a worst case still fitted.
    assert sum(made) == round(budget.spent_usd / 0.10) and budget.spent_usd > 0.7 - 1e-9
    assert not all(made)


@pytest.mark.parametrize("amount", ["nan", "inf", "-inf", "-1"])
def test_bad_amounts_on_run_and_resume_are_one_line(tmp_path: Path, amount: str) -> None:
    database = tmp_path / "never" / "mge.db"
    db = f"sqlite:///{database}"
    started = mge_cli(
        "run", str(EXAMPLE_PLAN), "--budget-usd", amount, "--db", db, "--out", "o", cwd=tmp_path
    )
    resumed = mge_cli("resume", "0123abcd", "--budget-usd", amount, "--db", db, cwd=tmp_path)
    for result in (started, resumed):
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: budget-usd"), result.stderr
    assert not database.parent.exists()  # refused before anything was opened


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-1", "1e400"])
def test_the_api_refuses_bad_budgets_with_json(client: TestClient, raw: str) -> None:
    body = f'{{"masterplan_id": "0123abcd", "settings": {{"budget_usd": {raw}}}}}'
    response = client.post(
        "/api/v2/runs", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    assert "budget_usd" in json.dumps(response.json())
