from decimal import Decimal

import pytest

from inventory.money import format_money, percent_of, split_evenly, to_money


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2.345", "2.35"), ("2.344", "2.34"), (7, "7.00"), ("-1.005", "-1.01")],
)
def test_to_money_rounds_half_up_to_cents(value, expected):
    assert to_money(value) == Decimal(expected)


def test_format_money_groups_thousands_and_names_the_currency():
    assert format_money(Decimal("1234567.891"), "USD") == "1,234,567.89 USD"


def test_percent_of_rounds_the_result():
    assert percent_of(Decimal("0.99"), 15) == Decimal("0.15")


def test_split_evenly_adds_up_and_differs_by_at_most_a_cent():
    shares = split_evenly(Decimal("100.00"), 7)
    assert sum(shares) == Decimal("100.00")
    assert max(shares) - min(shares) <= Decimal("0.01")


def test_split_evenly_refuses_zero_parts():
    with pytest.raises(ValueError, match="0 parts"):
        split_evenly(Decimal("1.00"), 0)
    assert split_evenly(Decimal("1.005"), 1) == [Decimal("1.01")]
