from decimal import Decimal

import pytest

from inventory import InvalidQuantity, Item, Order, OrderLine


def test_item_normalises_sku_and_price():
    item = Item(" bolt-m6 ", "Hex bolt", Decimal("0.405"))
    assert item.sku == "BOLT-M6"
    assert item.unit_price == Decimal("0.41")


@pytest.mark.parametrize(("sku", "price"), [("", Decimal("1")), ("X", Decimal("-0.01"))])
def test_item_rejects_blank_sku_and_negative_price(sku, price):
    with pytest.raises(ValueError):
        Item(sku, "Thing", price)


def test_order_line_needs_a_positive_quantity():
    with pytest.raises(InvalidQuantity):
        OrderLine("BOLT-M6", 0)


def test_order_add_merges_lines_of_the_same_sku():
    order = Order("o-1", "Ada")
    order.add("BOLT-M6", 10)
    order.add("GLUE-S", 1)
    order.add("BOLT-M6", 5)
    assert sorted((line.sku, line.quantity) for line in order.lines) == [
        ("BOLT-M6", 15),
        ("GLUE-S", 1),
    ]
    assert order.total_quantity == 16
