import dataclasses
from decimal import Decimal

import pytest

from inventory import (
    BulkDiscount,
    Condition,
    CostLayer,
    InvalidQuantity,
    Item,
    LinePrice,
    Movement,
    MovementKind,
    Order,
    OrderLine,
    PercentOff,
    PurchaseLine,
    Quote,
    Refund,
    RefundLine,
    ReturnLine,
    Source,
    Supplier,
)
from inventory.valuation import Consumption


def test_item_normalises_sku_and_price():
    item = Item(" bolt-m6 ", "Hex bolt", Decimal("0.405"))
    assert item.sku == "BOLT-M6"
    assert item.unit_price == Decimal("0.41")
    assert Item("FREE", "Sample", Decimal("0")).unit_price == Decimal("0.00")


@pytest.mark.parametrize(
    ("sku", "price", "message"),
    [
        ("  ", Decimal("1"), "an item needs a SKU"),
        ("x", Decimal("-0.01"), "price of X is negative"),
    ],
)
def test_item_rejects_blank_sku_and_negative_price(sku, price, message):
    with pytest.raises(ValueError) as error:
        Item(sku, "Thing", price)
    assert str(error.value) == message


def test_order_line_needs_a_positive_quantity():
    with pytest.raises(InvalidQuantity) as error:
        OrderLine("BOLT-M6", 0)
    assert error.value.quantity == 0
    assert str(error.value) == "quantity must be positive, got 0"


def test_movement_kinds_have_stable_names():
    assert [kind.value for kind in MovementKind] == ["receipt", "shipment", "adjustment", "return"]
    assert Movement("A", 1, MovementKind.RECEIPT).reference == ""


VALUES = [
    Movement("A", 1, MovementKind.RECEIPT),
    OrderLine("A", 1),
    Quote([]),
    PercentOff(5),
    BulkDiscount(2, 5),
    LinePrice("A", 1, Decimal("1.00"), Decimal("0.00")),
    Supplier("Acme", 1),
    Source("Acme", Decimal("1.00")),
    PurchaseLine("A", 1, Decimal("1.00")),
    CostLayer(1, Decimal("1.00")),
    Consumption("A", 1, Decimal("1.00")),
    ReturnLine("A", 1),
    RefundLine("A", 1, Condition.DAMAGED, Decimal("1.00"), Decimal("0.00")),
    Refund("o-1", []),
]


def test_value_objects_are_immutable():
    for value in VALUES:
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.quantity = 2


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
