import pytest

from inventory import InsufficientStock, InvalidQuantity, MovementKind, StockLedger


def test_on_hand_is_the_sum_of_movements(ledger):
    ledger.ship("BOLT-M6", 30, "o-1")
    ledger.adjust("BOLT-M6", -2, "count")
    assert ledger.on_hand("BOLT-M6") == 168
    assert [m.kind for m in ledger.history("BOLT-M6")] == [
        MovementKind.RECEIPT,
        MovementKind.SHIPMENT,
        MovementKind.ADJUSTMENT,
    ]


def test_shipping_more_than_on_hand_raises_and_records_nothing(ledger):
    with pytest.raises(InsufficientStock) as error:
        ledger.ship("DRILL-1", 6)
    assert (error.value.wanted, error.value.available) == (6, 5)
    assert ledger.on_hand("DRILL-1") == 5


def test_shipping_exactly_the_stock_empties_it(ledger):
    ledger.ship("DRILL-1", 5)
    assert ledger.on_hand("DRILL-1") == 0


@pytest.mark.parametrize("quantity", [0, -3])
def test_receive_and_ship_need_positive_quantities(quantity):
    stock = StockLedger()
    with pytest.raises(InvalidQuantity):
        stock.receive("X", quantity)
    with pytest.raises(InvalidQuantity):
        stock.ship("X", quantity)


def test_adjust_cannot_go_below_zero(ledger):
    with pytest.raises(InsufficientStock):
        ledger.adjust("GLUE-S", -11)
    ledger.adjust("GLUE-S", -10)
    assert ledger.on_hand("GLUE-S") == 0


def test_needs_reorder_includes_the_reorder_level(catalog, ledger):
    ledger.ship("DRILL-1", 3)
    assert [item.sku for item in ledger.needs_reorder(list(catalog))] == ["DRILL-1"]
