"""A small stock-keeping library: catalog, stock ledger, pricing, orders and reports.

It is the example project MGE regenerates in `mge demo`; everything a user needs is
re-exported here.
"""

from inventory.catalog import Catalog
from inventory.errors import (
    DuplicateItem,
    InsufficientStock,
    InvalidQuantity,
    InventoryError,
    UnknownCoupon,
    UnknownItem,
)
from inventory.ledger import StockLedger
from inventory.models import Item, Movement, MovementKind, Order, OrderLine
from inventory.money import format_money, percent_of, split_evenly, to_money
from inventory.orders import OrderService, Quote
from inventory.pricing import BulkDiscount, LinePrice, PercentOff, price_line
from inventory.report import receipt, stock_report

__all__ = [
    "BulkDiscount",
    "Catalog",
    "DuplicateItem",
    "InsufficientStock",
    "InvalidQuantity",
    "InventoryError",
    "Item",
    "LinePrice",
    "Movement",
    "MovementKind",
    "Order",
    "OrderLine",
    "OrderService",
    "PercentOff",
    "Quote",
    "StockLedger",
    "UnknownCoupon",
    "UnknownItem",
    "format_money",
    "percent_of",
    "price_line",
    "receipt",
    "split_evenly",
    "stock_report",
    "to_money",
]
