"""The replay model: answers from the reference, billed and timed like a real model."""

from __future__ import annotations

import asyncio
import dataclasses
import statistics

import pytest

from mge.errors import BudgetExhausted
from mge.llm import (
    FAULT_KINDS,
    Budget,
    BudgetedModel,
    ModelRequest,
    ModelResponse,
    NoReferenceAnswer,
    Purpose,
    ReplayModel,
    StaticReference,
    count_request_tokens,
    count_tokens,
    load_prices,
    make_model,
    simulated_latency,
)
from mge.llm._faults import choose_fault
from mge.llm.testing import SleepRecorder

SKELETON = '''"""Accounts."""


def is_active(user):
    """True when the user may sign in."""
    ...
'''
ATOM = """def is_active(user):
    return user.email_verified and not user.locked
"""
REFERENCE = StaticReference(
    skeletons={"accounts.py": SKELETON},
    atoms={f"accounts.py::is_active#{i}": ATOM for i in range(300)},
)


def _atom(i: int, attempt: int = 1) -> ModelRequest:
    return ModelRequest.single(
        "Implement is_active.",
        system="You write Python.",
        cacheable_prefix="Conventions: small typed functions. " * 20,
        purpose=Purpose("atom", f"accounts.py::is_active#{i}", attempt=attempt),
    )


async def test_replay_answers_skeletons_and_atoms_from_the_reference() -> None:
    model = make_model("replay", reference=REFERENCE)
    skeleton = await model.complete(
        ModelRequest.single("Skeleton of accounts.py", purpose=Purpose("skeleton", "accounts.py"))
    )
    atom = await model.complete(_atom(0))
    assert skeleton.text == SKELETON
    assert atom.text == ATOM
    assert model.simulated is True
    assert model.name == "replay"
    await model.aclose()


async def test_replay_without_an_answer_fails_with_a_model_error() -> None:
    model = make_model("replay", reference=REFERENCE)
    with pytest.raises(NoReferenceAnswer, match=r"missing\.py"):
        await model.complete(ModelRequest.single("?", purpose=Purpose("skeleton", "missing.py")))
    with pytest.raises(NoReferenceAnswer):
        await model.complete(ModelRequest.single("no purpose"))


async def test_replay_bills_tokens_like_a_real_model_with_prompt_caching() -> None:
    model = make_model("replay", reference=REFERENCE)
    first = await model.complete(_atom(0))
    second = await model.complete(_atom(1))
    prefix_tokens = count_tokens(_atom(0).cacheable_prefix)
    assert first.input_tokens == count_request_tokens(_atom(0))
    assert first.output_tokens == count_tokens(ATOM)
    assert (first.cached_tokens, first.cache_write_tokens) == (0, prefix_tokens)
    assert (second.cached_tokens, second.cache_write_tokens) == (prefix_tokens, 0)
    price = load_prices().lookup("claude-sonnet-4-5")
    assert price is not None
    expected = (
        (second.input_tokens - prefix_tokens) * price.input
        + prefix_tokens * price.cached_input
        + second.output_tokens * price.output
    ) / 1e6
    assert second.cost_usd == pytest.approx(expected)
    assert 0 < second.cost_usd < first.cost_usd
    assert first.model == "claude-sonnet-4-5"


async def test_replay_can_bill_as_another_model() -> None:
    cheap = make_model("replay:gpt-4.1-nano", reference=REFERENCE)
    default = make_model("replay", reference=REFERENCE)
    assert cheap.name == "replay:gpt-4.1-nano"
    a, b = await cheap.complete(_atom(0)), await default.complete(_atom(0))
    assert a.input_tokens == b.input_tokens
    assert a.cost_usd < b.cost_usd


async def _texts(seed: int, count: int = 200, attempt: int = 1) -> list[str]:
    model = make_model("replay", reference=REFERENCE, fault_rate=0.4, seed=seed)
    return [(await model.complete(_atom(i, attempt))).text for i in range(count)]


async def test_replay_is_deterministic_per_seed_and_attempt() -> None:
    first, again = await _texts(5), await _texts(5)
    assert first == again
    assert first != await _texts(6)
    assert first != await _texts(5, attempt=2)
    faulted = sum(text != ATOM for text in first)
    assert 50 < faulted < 110  # about 40% of 200


async def test_replay_serves_exactly_the_fault_decision() -> None:
    model = make_model("replay", reference=REFERENCE, fault_rate=0.5, seed=9)
    for i in range(50):
        response = await model.complete(_atom(i))
        decision = choose_fault(ATOM, _atom(i).purpose or Purpose("atom", ""), seed=9, rate=0.5)
        assert response.text == decision.code


async def test_fault_kinds_can_be_restricted() -> None:
    model = make_model(
        "replay", reference=REFERENCE, fault_rate=1.0, fault_kinds="prose_fences", seed=1
    )
    for i in range(10):
        assert (await model.complete(_atom(i))).text.count("```") >= 2


def test_responses_carry_no_trace_of_faults() -> None:
    names = {f.name for f in dataclasses.fields(ModelResponse)}
    assert not any("fault" in name for name in names)


async def test_simulated_latency_is_slept_and_reported(sleeps: SleepRecorder) -> None:
    model = ReplayModel(REFERENCE, prices=load_prices(), latency_ms=800, seed=4, sleep=sleeps)
    responses = [await model.complete(_atom(i)) for i in range(300)]
    assert [r.latency_seconds for r in responses] == pytest.approx(sleeps.delays)
    assert statistics.mean(sleeps.delays) == pytest.approx(0.8, rel=0.1)
    assert len(set(sleeps.delays)) == 300  # a spread, not a constant
    assert sleeps.delays[0] == simulated_latency(800, 4, _atom(0).purpose)


async def test_concurrent_replay_calls_charge_the_budget_exactly() -> None:
    budget = Budget(None)
    model = BudgetedModel(make_model("replay", reference=REFERENCE, fault_rate=0.3), budget)
    responses = await asyncio.gather(*(model.complete(_atom(i)) for i in range(60)))
    assert budget.calls == 60
    assert budget.spent_usd == pytest.approx(sum(r.cost_usd for r in responses))


async def test_a_replay_run_stops_at_its_budget() -> None:
    model = make_model("replay", reference=REFERENCE)
    first = (await model.complete(_atom(0))).cost_usd  # writes the prompt cache
    later = (await model.complete(_atom(1))).cost_usd  # reads it
    guarded = BudgetedModel(make_model("replay", reference=REFERENCE), Budget(None))
    worst = guarded.worst_case_usd(_atom(0))  # the whole max_tokens allowance
    assert worst > first > later
    budget = Budget(limit_usd=worst + first + 2.5 * later)
    guarded.budget = budget
    done = 0
    with pytest.raises(BudgetExhausted):
        for i in range(100):
            await guarded.complete(_atom(i))
            done += 1
    # After four calls first + 3·later is spent and a worst case no longer fits, so
    # the fifth is refused before it is made: the cap is never crossed.
    assert done == 4
    assert budget.spent_usd == pytest.approx(first + 3 * later)
    assert budget.spent_usd <= budget.limit_usd  # type: ignore[operator]


def test_every_fault_kind_is_known_to_replay() -> None:
    model = make_model("replay", reference=REFERENCE, fault_kinds=list(FAULT_KINDS))
    assert isinstance(model, ReplayModel)
    assert model.fault_kinds == FAULT_KINDS
