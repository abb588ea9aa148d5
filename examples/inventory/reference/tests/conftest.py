"""Shared fixtures: a small shop with three items and some stock."""

from decimal import Decimal

import pytest

from inventory import Catalog, Item, StockLedger


@pytest.fixture
def catalog() -> Catalog:
    return Catalog(
        [
            Item("BOLT-M6", "Hex bolt M6", Decimal("0.40"), "hardware", reorder_level=50),
            Item("DRILL-1", "Cordless drill", Decimal("89.90"), "tools", reorder_level=2),
            Item("GLUE-S", "Super glue", Decimal("3.25"), "supplies"),
        ]
    )


@pytest.fixture
def ledger() -> StockLedger:
    stock = StockLedger()
    stock.receive("BOLT-M6", 200, "delivery 1")
    stock.receive("DRILL-1", 5, "delivery 1")
    stock.receive("GLUE-S", 10, "delivery 2")
    return stock
