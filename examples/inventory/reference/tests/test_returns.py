from decimal import Decimal

import pytest

from inventory import (
    Condition,
    InvalidQuantity,
    InvalidReturn,
    MovementKind,
    Order,
    OrderService,
    PercentOff,
    Quote,
    Refund,
    RefundLine,
    ReturnLine,
    ReturnsDesk,
)
from inventory.pricing import LinePrice
from inventory.returns import coupon_rate, paid_for

DAMAGED = Condition.DAMAGED


@pytest.fixture
def service(catalog, ledger):
    return OrderService(catalog, ledger, [PercentOff(10, "supplies")], {"TEN": 10})


@pytest.fixture
def order(service):
    placed = Order("o-9", "Alan", coupon="ten")
    placed.add("GLUE-S", 4)
    placed.add("BOLT-M6", 10)
    quote = service.place(placed)
    assert (quote.subtotal, quote.coupon_discount) == (Decimal("15.70"), Decimal("1.57"))
    return placed


def test_refund_follows_the_line_discount_the_coupon_and_the_fee(service, order, ledger):
    desk = ReturnsDesk(service)
    refund = desk.process(order, [ReturnLine("GLUE-S", 1), ReturnLine("BOLT-M6", 2, DAMAGED)])
    assert refund.order_id == "o-9"
    assert refund.lines == [
        RefundLine("GLUE-S", 1, Condition.RESALABLE, Decimal("2.63"), Decimal("0.26")),
        RefundLine("BOLT-M6", 2, DAMAGED, Decimal("0.72"), Decimal("0.00")),
    ]
    assert [str(line.net) for line in refund.lines] == ["2.37", "0.72"]
    assert str(refund.lines[1].fee) == "0.00"
    assert refund.total == Decimal("3.09")
    assert refund.restocked == 1


def test_resalable_goods_go_back_on_the_shelf_and_damaged_ones_do_not(service, order, ledger):
    lines = [ReturnLine("GLUE-S", 3), ReturnLine("BOLT-M6", 2, DAMAGED)]
    ReturnsDesk(service).process(order, lines)
    assert (ledger.on_hand("GLUE-S"), ledger.on_hand("BOLT-M6")) == (9, 190)
    last = ledger.history("GLUE-S")[-1]
    assert (last.kind, last.quantity, last.reference) == (MovementKind.RETURN, 3, "return o-9")
    assert ledger.sold("GLUE-S") == 1


def test_refunds_use_the_prices_the_order_was_placed_at(service, order, catalog):
    catalog.get("GLUE-S").unit_price = Decimal("9.99")
    refund = ReturnsDesk(service).process(order, [ReturnLine("GLUE-S", 1, DAMAGED)])
    assert refund.total == Decimal("2.63")


def test_without_a_coupon_the_line_price_is_refunded_rounded_half_up(service):
    plain = Order("o-10", "Alan")
    plain.add("GLUE-S", 2)
    service.place(plain)
    refund = ReturnsDesk(service, fee_percent=0).process(plain, [ReturnLine("GLUE-S", 1)])
    assert refund.lines[0].amount == Decimal("2.93")
    assert refund.total == Decimal("2.93")


def test_the_fee_is_a_percentage_of_the_amount(service, order):
    refund = ReturnsDesk(service, fee_percent=25).process(order, [ReturnLine("GLUE-S", 1)])
    assert refund.lines[0].fee == Decimal("0.66")
    assert refund.total == Decimal("1.97")


def test_more_than_shipped_is_refused_and_nothing_moves(service, order, ledger):
    desk = ReturnsDesk(service)
    lines = [ReturnLine("GLUE-S", 3), ReturnLine("GLUE-S", 2, DAMAGED)]
    with pytest.raises(InvalidReturn, match="'o-9' refused: 5 x GLUE-S sent back, 4 returnable"):
        desk.process(order, lines)
    assert ledger.on_hand("GLUE-S") == 6
    assert desk.returned == {}
    assert desk.returnable("o-9", "GLUE-S") == 4


def test_returns_add_up_over_several_visits(service, order):
    desk = ReturnsDesk(service)
    desk.process(order, [ReturnLine("GLUE-S", 3)])
    assert desk.returnable("o-9", "GLUE-S") == 1
    desk.process(order, [ReturnLine("GLUE-S", 1, DAMAGED)])
    assert desk.returned == {("o-9", "GLUE-S"): 4}
    assert desk.shipped("o-9") == {"GLUE-S": 4, "BOLT-M6": 10}
    assert desk.shipped("o-404") == {}
    with pytest.raises(InvalidReturn, match="1 x GLUE-S sent back, 0 returnable"):
        desk.process(order, [ReturnLine("GLUE-S", 1)])


def test_an_item_not_in_the_order_cannot_come_back(service, order):
    with pytest.raises(InvalidReturn, match="1 x DRILL-1 sent back, 0 returnable"):
        ReturnsDesk(service).process(order, [ReturnLine("DRILL-1", 1)])


def test_only_placed_orders_with_something_to_return_are_taken(service, order):
    desk = ReturnsDesk(service)
    with pytest.raises(InvalidReturn, match="nothing to return") as error:
        desk.process(order, [])
    assert (error.value.order_id, error.value.reason) == ("o-9", "nothing to return")
    service.cancel(order)
    with pytest.raises(InvalidReturn, match="the order was not placed"):
        desk.process(order, [ReturnLine("GLUE-S", 1)])


def test_a_return_line_needs_a_positive_quantity():
    with pytest.raises(InvalidQuantity):
        ReturnLine("GLUE-S", 0)
    assert ReturnLine("GLUE-S", 1).condition is Condition.RESALABLE
    assert [condition.value for condition in Condition] == ["resalable", "damaged"]


def test_coupon_rate_and_paid_for():
    line = LinePrice("A", 4, Decimal("10.00"), Decimal("2.00"))
    assert coupon_rate(Quote([line], Decimal("0.80"))) == Decimal("0.1")
    assert coupon_rate(Quote([])) == 0
    assert str(Refund("o-1", []).total) == "0.00"
    assert paid_for(line, 1, Decimal("0")) == Decimal("2.00")
    assert paid_for(line, 3, Decimal("0.25")) == Decimal("4.50")
