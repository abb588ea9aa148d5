import pytest

from inventory import InsufficientStock, InvalidQuantity, Movement, MovementKind, StockLedger


def test_each_call_returns_the_movement_it_records():
    stock = StockLedger()
    assert stock.receive("A", 5) == Movement("A", 5, MovementKind.RECEIPT, "")
    assert stock.ship("A", 2) == Movement("A", -2, MovementKind.SHIPMENT, "")
    assert stock.take_back("A", 1) == Movement("A", 1, MovementKind.RETURN, "")
    assert stock.adjust("A", -4) == Movement("A", -4, MovementKind.ADJUSTMENT, "")
    assert stock.history("A") == stock.by_reference("")


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
    with pytest.raises(InvalidQuantity):
        stock.take_back("X", quantity)
    assert stock.history("X") == []


def test_adjust_cannot_go_below_zero(ledger):
    with pytest.raises(InsufficientStock):
        ledger.adjust("GLUE-S", -11)
    ledger.adjust("GLUE-S", -10)
    assert ledger.on_hand("GLUE-S") == 0


def test_needs_reorder_includes_the_reorder_level(catalog, ledger):
    ledger.ship("DRILL-1", 3)
    assert [item.sku for item in ledger.needs_reorder(list(catalog))] == ["DRILL-1"]


def test_returns_count_against_sales_and_movements_are_found_by_reference(ledger):
    ledger.ship("BOLT-M6", 30, "o-1")
    ledger.ship("GLUE-S", 2, "o-1")
    ledger.ship("BOLT-M6", 12, "o-2")
    back = ledger.take_back("BOLT-M6", 5, "return o-1")
    assert back == Movement("BOLT-M6", 5, MovementKind.RETURN, "return o-1")
    ledger.adjust("BOLT-M6", -3, "count")
    ledger.receive("BOLT-M6", 40, "delivery 3")
    assert ledger.on_hand("BOLT-M6") == 200
    assert ledger.sold("BOLT-M6") == 37
    assert ledger.sold("DRILL-1") == 0
    assert ledger.by_reference("o-1") == [
        Movement("BOLT-M6", -30, MovementKind.SHIPMENT, "o-1"),
        Movement("GLUE-S", -2, MovementKind.SHIPMENT, "o-1"),
    ]
    assert ledger.by_reference("o-3") == []
