from decimal import Decimal

import pytest

from inventory import (
    BulkDiscount,
    InsufficientStock,
    MovementKind,
    Order,
    OrderService,
    UnknownCoupon,
    UnknownItem,
)


@pytest.fixture
def service(catalog, ledger):
    return OrderService(catalog, ledger, [BulkDiscount(100, 10)], {"SPRING": 5})


def _order(coupon=None):
    order = Order("o-7", "Grace", coupon=coupon)
    order.add("BOLT-M6", 100)
    order.add("DRILL-1", 1)
    return order


def test_an_empty_order_costs_nothing(service):
    quote = service.quote(Order("o-0", "Grace"))
    assert (str(quote.subtotal), str(quote.coupon_discount)) == ("0.00", "0.00")


def test_quote_prices_lines_and_coupon(service):
    quote = service.quote(_order("spring"))
    assert quote.subtotal == Decimal("125.90")
    assert quote.coupon_discount == Decimal("6.30")
    assert quote.total == Decimal("119.60")


def test_quote_rejects_unknown_coupon_and_item(service):
    with pytest.raises(UnknownCoupon) as error:
        service.quote(_order("winter"))
    assert error.value.code == "winter"
    order = Order("o-8", "Grace")
    order.add("NOPE", 1)
    with pytest.raises(UnknownItem):
        service.quote(order)


def test_place_ships_every_line(service, ledger):
    service.quote(_order())
    assert service.placed == {}
    quote = service.place(_order())
    assert quote.total == Decimal("125.90")
    assert service.placed == {"o-7": quote}
    assert ledger.on_hand("BOLT-M6") == 100
    assert ledger.on_hand("DRILL-1") == 4


def test_place_moves_nothing_when_one_line_is_short(service, ledger):
    order = _order()
    order.add("DRILL-1", 9)
    with pytest.raises(InsufficientStock, match="DRILL-1"):
        service.place(order)
    assert service.placed == {}
    assert ledger.on_hand("BOLT-M6") == 200
    assert service.shortages(order) == ["DRILL-1"]
    exact = Order("o-11", "Grace")
    exact.add("DRILL-1", 5)
    assert service.shortages(exact) == []


def test_cancel_puts_the_stock_back(service, ledger):
    order = _order()
    service.place(order)
    service.cancel(order)
    assert ledger.on_hand("BOLT-M6") == 200
    last = ledger.history("DRILL-1")[-1]
    assert (last.kind, last.quantity, last.reference) == (MovementKind.RETURN, 1, "cancel o-7")
    assert service.placed == {}
    assert ledger.sold("BOLT-M6") == 0
