"""Token estimates, the price table, and the budget."""

from __future__ import annotations

from pathlib import Path

import pytest

import mge.llm
from mge.errors import BudgetExhausted, ConfigError
from mge.llm import Budget, Price, count_tokens, load_prices

SOURCES = Path(mge.llm.__file__).parent


def test_token_counts_grow_with_text_and_split_long_identifiers() -> None:
    assert count_tokens("") == 0
    assert count_tokens("hello") == 1
    assert count_tokens("hello world") == 2
    assert count_tokens("internationalization_configuration") > count_tokens("config")
    assert count_tokens("x = 1\n" * 10) == 10 * count_tokens("x = 1\n")


def _whole_text_count(text: str) -> int:
    """The count as one regex pass over the whole text gives it, chunks aside."""
    from mge.llm._tokens import _PIECE, _piece_cost

    return sum(_piece_cost(piece) for piece in _PIECE.findall(text))


def test_counting_by_chunks_of_lines_gives_the_whole_texts_count() -> None:
    # Every kind of character the pieces treat apart, line breaks and blank runs
    # around them above all, in seeded random order; and real source files.
    import random

    alphabet = [
        "\n", "\r\n", "\r", " ", "  ", "\t", "\f", "\v", "\x85", "\u2028", "\u00a0",
        "a", "Zeta", "é", "日本", "1", "1234", "_", "__x", "'s", "'", "(", "=", "->",
        "\n  \n", " \n", "x_y",
    ]  # fmt: skip
    rng = random.Random(7)
    texts = ["".join(rng.choices(alphabet, k=rng.randint(0, 40))) for _ in range(4000)]
    texts += [path.read_text(encoding="utf-8") for path in sorted(SOURCES.glob("*.py"))]
    for text in texts:
        mge.llm._tokens._chunk_tokens.cache_clear()
        assert count_tokens.__wrapped__(text) == _whole_text_count(text), repr(text)


def test_python_source_lands_near_real_tokenizer_density() -> None:
    source = Path(mge.llm.__file__).with_name("_faults.py").read_text(encoding="utf-8")
    chars_per_token = len(source) / count_tokens(source)
    assert 2.8 < chars_per_token < 4.5


def test_shipped_prices_cover_the_default_models_and_match_dated_ids() -> None:
    table = load_prices()
    sonnet = table.lookup("claude-sonnet-4-5")
    assert sonnet is not None and sonnet.cached_input < sonnet.input < sonnet.output
    assert table.lookup("claude-sonnet-4-5-20250929") == sonnet
    assert table.lookup("gpt-4.1-mini-2025-04-14") == table.lookup("gpt-4.1-mini")
    assert table.lookup("gpt-4.1-mini") != table.lookup("gpt-4.1")
    assert "llama3.1:8b" not in table
    assert table.cost("llama3.1:8b", input_tokens=1000, output_tokens=1000) == 0.0


def test_cost_splits_plain_cached_and_written_input() -> None:
    price = Price(input=2.0, output=8.0, cached_input=0.5, cache_write=2.5)
    cost = price.cost(
        input_tokens=1000, output_tokens=100, cached_tokens=600, cache_write_tokens=300
    )
    assert cost == pytest.approx((100 * 2.0 + 600 * 0.5 + 300 * 2.5 + 100 * 8.0) / 1e6)
    no_write_price = Price(input=2.0, output=8.0, cached_input=0.5)
    assert no_write_price.cost(
        input_tokens=300, output_tokens=0, cached_tokens=0, cache_write_tokens=300
    ) == pytest.approx(300 * 2.0 / 1e6)


def test_prices_can_be_overridden_and_extended() -> None:
    table = load_prices({"claude-sonnet-4-5": {"input": 1, "output": 2}, "local": Price(0, 0, 0)})
    assert table.lookup("claude-sonnet-4-5") == Price(1.0, 2.0, 1.0)
    assert table.lookup("local") == Price(0, 0, 0)
    assert load_prices().lookup("claude-sonnet-4-5") != Price(1.0, 2.0, 1.0)  # shipped table intact


@pytest.mark.parametrize(
    "bad",
    [{"input": 1}, {"input": "cheap", "output": 1}, {"input": -1, "output": 1}],
    ids=["missing-output", "not-a-number", "negative"],
)
def test_bad_price_overrides_are_config_errors(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="'m'"):
        load_prices({"m": bad})


def test_budget_refuses_calls_once_the_cap_is_reached() -> None:
    budget = Budget(limit_usd=1.0)
    budget.check()
    budget.charge(0.6)
    budget.check()
    assert budget.remaining_usd == pytest.approx(0.4)
    with pytest.raises(BudgetExhausted):
        budget.check(estimate_usd=0.5)
    budget.charge(0.4)
    assert budget.exhausted
    with pytest.raises(BudgetExhausted, match=r"\$1\.0000"):
        budget.check()
    assert budget.calls == 2


def test_a_zero_budget_allows_nothing_and_no_budget_allows_everything() -> None:
    with pytest.raises(BudgetExhausted):
        Budget(0).check()
    unlimited = Budget(None)
    unlimited.charge(1e9)
    unlimited.check(estimate_usd=1e9)
    assert unlimited.remaining_usd is None and not unlimited.exhausted


@pytest.mark.parametrize("amount", [-1.0, float("nan"), float("inf"), float("-inf")])
def test_a_budget_that_is_no_amount_is_a_config_error(amount: float) -> None:
    # nan compares false with everything: taken as a cap, it would cap nothing.
    with pytest.raises(ConfigError, match="finite amount"):
        Budget(amount)
