from decimal import Decimal

import pytest

from inventory import (
    CostBook,
    CostLayer,
    MovementKind,
    PurchaseLine,
    PurchaseOrder,
    Source,
    StockLedger,
    Supplier,
    plan_restock,
    receive_purchase,
)
from inventory.restock import daily_demand, reorder_quantity, round_up_to_pack

SUPPLIERS = {
    "Acme": Supplier("Acme", lead_days=5, pack_size=50, min_order=Decimal("30.00")),
    "Tooly": Supplier("Tooly", lead_days=10, min_order=Decimal("500.00")),
}
SOURCES = {
    "BOLT-M6": Source("Acme", Decimal("0.10")),
    "GLUE-S": Source("Acme", Decimal("1.20")),
    "DRILL-1": Source("Tooly", Decimal("55.00")),
}
DEMAND = {"BOLT-M6": 30, "GLUE-S": 2}


def test_round_up_to_pack():
    assert [round_up_to_pack(n, 5) for n in (0, 1, 5, 6, 10, 11)] == [0, 5, 5, 10, 10, 15]
    assert round_up_to_pack(3, 1) == 3
    with pytest.raises(ValueError, match="at least 1, got 0"):
        round_up_to_pack(3, 0)


def test_daily_demand_counts_shipments_less_returns_rounded_up():
    ledger = StockLedger()
    ledger.receive("X", 100)
    ledger.ship("X", 10)
    ledger.ship("X", 7)
    ledger.adjust("X", -5)
    ledger.take_back("X", 3)
    assert ledger.sold("X") == 14
    assert [daily_demand(ledger, "X", days) for days in (1, 5, 7, 14, 15)] == [14, 3, 2, 1, 1]
    assert daily_demand(ledger, "Y", 7) == 0
    with pytest.raises(ValueError, match="at least 1 day, got 0"):
        daily_demand(ledger, "X", 0)
    ledger.take_back("Y", 3)
    assert daily_demand(ledger, "Y", 1) == 0


def test_reorder_quantity_covers_lead_and_safety_days_in_whole_packs():
    assert reorder_quantity(on_hand=5, demand=2, lead_days=3, safety_days=2, pack=4) == 8
    assert reorder_quantity(on_hand=0, demand=3, lead_days=4, safety_days=1, pack=1) == 15
    assert reorder_quantity(on_hand=9, demand=2, lead_days=3, safety_days=2, pack=1) == 1
    assert reorder_quantity(on_hand=10, demand=2, lead_days=3, safety_days=2, pack=1) == 0
    assert reorder_quantity(on_hand=30, demand=2, lead_days=3, safety_days=2, pack=4) == 0


def test_plan_buys_for_the_delivery_time_in_packs_per_supplier(catalog, ledger):
    plan = plan_restock(catalog, ledger, SUPPLIERS, SOURCES, DEMAND)
    assert plan.orders == [
        PurchaseOrder(
            "Acme",
            [
                PurchaseLine("BOLT-M6", 50, Decimal("0.10")),
                PurchaseLine("GLUE-S", 50, Decimal("1.20")),
            ],
        )
    ]
    assert plan.held == []
    assert (plan.orders[0].total, plan.orders[0].units) == (Decimal("65.00"), 100)


def test_safety_days_change_the_target(catalog, ledger):
    assert plan_restock(catalog, ledger, SUPPLIERS, SOURCES, DEMAND, safety_days=0).orders == []
    plan = plan_restock(catalog, ledger, SUPPLIERS, SOURCES, DEMAND, safety_days=3)
    assert [(line.sku, line.quantity) for line in plan.orders[0].lines] == [
        ("BOLT-M6", 50),
        ("GLUE-S", 50),
    ]


def test_items_at_their_reorder_level_rise_above_it(catalog, ledger):
    ledger.ship("DRILL-1", 3)
    plan = plan_restock(catalog, ledger, SUPPLIERS, {"DRILL-1": SOURCES["DRILL-1"]}, {})
    assert plan.orders == []
    assert plan.held == [PurchaseOrder("Tooly", [PurchaseLine("DRILL-1", 1, Decimal("55.00"))])]


def test_a_sold_out_item_sends_an_order_below_the_minimum(catalog, ledger):
    ledger.ship("DRILL-1", 5)
    plan = plan_restock(catalog, ledger, SUPPLIERS, {"DRILL-1": SOURCES["DRILL-1"]}, {})
    assert plan.held == []
    assert plan.orders == [PurchaseOrder("Tooly", [PurchaseLine("DRILL-1", 3, Decimal("55.00"))])]
    assert plan.orders[0].total == Decimal("165.00")


def test_an_order_worth_exactly_the_minimum_is_sent(catalog, ledger):
    for minimum, sent in (("65.00", True), ("65.01", False)):
        suppliers = {"Acme": Supplier("Acme", 5, 50, Decimal(minimum))}
        sources = {sku: SOURCES[sku] for sku in ("BOLT-M6", "GLUE-S")}
        plan = plan_restock(catalog, ledger, suppliers, sources, DEMAND)
        assert (len(plan.orders), len(plan.held)) == ((1, 0) if sent else (0, 1))


def test_orders_are_sorted_by_supplier_and_cost_is_rounded(catalog, ledger):
    suppliers = {"Zed": Supplier("Zed", 1), "Bee": Supplier("Bee", 1)}
    sources = {"BOLT-M6": Source("Zed", Decimal("0.123")), "GLUE-S": Source("Bee", Decimal("2"))}
    plan = plan_restock(catalog, ledger, suppliers, sources, {"BOLT-M6": 100, "GLUE-S": 4})
    assert [order.supplier for order in plan.orders] == ["Bee", "Zed"]
    assert plan.orders[0].lines == [PurchaseLine("GLUE-S", 2, Decimal("2.00"))]
    assert plan.orders[1].lines == [PurchaseLine("BOLT-M6", 100, Decimal("0.12"))]


def test_a_source_with_an_unknown_supplier_raises(catalog, ledger):
    with pytest.raises(ValueError, match="GLUE-S comes from unknown supplier 'Nobody'"):
        plan_restock(catalog, ledger, SUPPLIERS, {"GLUE-S": Source("Nobody", Decimal(1))}, {})


def test_receive_purchase_books_stock_and_cost(ledger):
    book = CostBook()
    order = PurchaseOrder(
        "Acme",
        [PurchaseLine("BOLT-M6", 50, Decimal("0.10")), PurchaseLine("GLUE-S", 6, Decimal("1.25"))],
    )
    assert receive_purchase(order, ledger, book, "DN-77") == 56
    assert (ledger.on_hand("BOLT-M6"), ledger.on_hand("GLUE-S")) == (250, 16)
    last = ledger.history("GLUE-S")[-1]
    assert (last.kind, last.quantity, last.reference) == (MovementKind.RECEIPT, 6, "DN-77")
    assert book.layers("GLUE-S") == [CostLayer(6, Decimal("1.25"))]
    assert book.total_value() == Decimal("12.50")
    assert PurchaseLine("A", 3, Decimal("0.335")).total == Decimal("1.01")
    assert str(PurchaseOrder("Acme").total) == "0.00"
    assert str(Supplier("Acme", 1).min_order) == "0.00"
