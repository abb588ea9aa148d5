from decimal import Decimal

import pytest

from inventory import CostBook, CostLayer, InsufficientStock, InvalidQuantity, margin_percent
from inventory.valuation import Consumption, take_fifo


@pytest.fixture
def book() -> CostBook:
    costs = CostBook()
    costs.purchase("A", 10, Decimal("1.00"))
    costs.purchase("A", 5, Decimal("1.60"))
    costs.purchase("A", 10, Decimal("2.00"))
    return costs


def test_purchase_rounds_the_cost_and_keeps_layers_in_order():
    costs = CostBook()
    layer = costs.purchase("A", 3, Decimal("1.005"))
    assert layer == CostLayer(3, Decimal("1.01"))
    assert layer.value == Decimal("3.03")
    costs.purchase("A", 1, Decimal("4"))
    assert costs.layers("A") == [CostLayer(3, Decimal("1.01")), CostLayer(1, Decimal("4.00"))]
    assert costs.quantity("A") == 4
    assert costs.value("A") == Decimal("7.03")
    costs.layers("A").clear()
    assert costs.quantity("A") == 4


def test_purchase_needs_a_positive_quantity():
    costs = CostBook()
    for quantity in (0, -2):
        with pytest.raises(InvalidQuantity):
            costs.purchase("A", quantity, Decimal("1.00"))
    assert costs.layers("A") == []


def test_purchase_refuses_a_negative_cost_and_records_nothing():
    costs = CostBook()
    with pytest.raises(ValueError, match="unit cost of A is negative"):
        costs.purchase("A", 1, Decimal("-0.01"))
    assert costs.layers("A") == []
    assert costs.purchase("A", 1, Decimal("0")).unit_cost == Decimal("0.00")


def test_consume_takes_the_oldest_layers_first(book):
    used = book.consume("A", 12)
    assert used == Consumption("A", 12, Decimal("13.20"))
    assert used.unit_cost == Decimal("1.10")
    assert Consumption("A", 3, Decimal("1.00")).unit_cost == Decimal("0.33")
    assert Consumption("A", 0, Decimal("0.00")).unit_cost == Decimal("0.00")
    assert book.layers("A") == [CostLayer(3, Decimal("1.60")), CostLayer(10, Decimal("2.00"))]
    assert book.quantity("A") == 13
    assert book.value("A") == Decimal("24.80")


def test_consuming_a_whole_layer_leaves_no_empty_layer(book):
    assert book.consume("A", 10).cost == Decimal("10.00")
    assert book.layers("A") == [CostLayer(5, Decimal("1.60")), CostLayer(10, Decimal("2.00"))]


def test_consuming_everything_empties_the_book(book):
    assert book.consume("A", 25).cost == Decimal("38.00")
    assert book.layers("A") == []
    assert book.skus() == []
    assert str(book.average_cost("A")) == "0.00"
    assert str(book.total_value()) == "0.00"


def test_consuming_more_than_held_raises_and_changes_nothing(book):
    with pytest.raises(InsufficientStock) as error:
        book.consume("A", 26)
    assert (error.value.sku, error.value.wanted, error.value.available) == ("A", 26, 25)
    assert book.quantity("A") == 25
    with pytest.raises(InvalidQuantity):
        book.consume("A", 0)
    with pytest.raises(InsufficientStock):
        book.consume("B", 1)


def test_average_cost_weighs_layers_by_their_units():
    costs = CostBook()
    costs.purchase("A", 10, Decimal("1.00"))
    costs.purchase("A", 5, Decimal("1.60"))
    assert costs.average_cost("A") == Decimal("1.20")
    costs.purchase("B", 1, Decimal("1.00"))
    costs.purchase("B", 2, Decimal("2.00"))
    assert costs.average_cost("B") == Decimal("1.67")
    assert costs.average_cost("C") == Decimal("0.00")


def test_skus_are_sorted_and_the_total_adds_every_sku(book):
    book.purchase("0-FIRST", 2, Decimal("0.75"))
    assert book.skus() == ["0-FIRST", "A"]
    assert book.total_value() == Decimal("39.50")


def test_take_fifo_leaves_its_input_alone():
    layers = [CostLayer(2, Decimal("1.00")), CostLayer(5, Decimal("3.00"))]
    assert take_fifo(layers, 7) == (Decimal("17.00"), [])
    assert take_fifo(layers, 0) == (Decimal("0.00"), layers)
    assert layers == [CostLayer(2, Decimal("1.00")), CostLayer(5, Decimal("3.00"))]


def test_margin_percent_is_the_share_of_revenue_left_after_cost():
    assert margin_percent(Decimal("80.00"), Decimal("60.00")) == Decimal("25.00")
    assert margin_percent(Decimal("6.00"), Decimal("5.00")) == Decimal("16.67")
    assert margin_percent(Decimal("30.00"), Decimal("40.00")) == Decimal("-33.33")
    assert margin_percent(Decimal("12.00"), Decimal("0.00")) == Decimal("100.00")
    assert margin_percent(Decimal("0.00"), Decimal("5.00")) == Decimal("0.00")
