"""A small stock-keeping library: catalog, stock ledger, pricing, orders, returns,
restocking, stock valuation, CSV import and export, and reports.

It is the example project MGE regenerates in `mge demo`; everything a user needs is
re-exported here.
"""

from inventory.catalog import Catalog
from inventory.csvio import (
    apply_stock_count,
    export_catalog,
    export_stock,
    import_catalog,
    load_catalog,
    save_catalog,
)
from inventory.errors import (
    BadRecord,
    DuplicateItem,
    InsufficientStock,
    InvalidQuantity,
    InvalidReturn,
    InventoryError,
    UnknownCoupon,
    UnknownItem,
)
from inventory.ledger import StockLedger
from inventory.models import Item, Movement, MovementKind, Order, OrderLine
from inventory.money import format_money, percent_of, split_evenly, to_money
from inventory.orders import OrderService, Quote
from inventory.pricing import BulkDiscount, LinePrice, PercentOff, price_line
from inventory.report import purchase_order_text, receipt, stock_report, valuation_report
from inventory.restock import (
    PurchaseLine,
    PurchaseOrder,
    RestockPlan,
    Source,
    Supplier,
    plan_restock,
    receive_purchase,
)
from inventory.returns import Condition, Refund, RefundLine, ReturnLine, ReturnsDesk
from inventory.valuation import CostBook, CostLayer, margin_percent

__all__ = [
    "BadRecord",
    "BulkDiscount",
    "Catalog",
    "Condition",
    "CostBook",
    "CostLayer",
    "DuplicateItem",
    "InsufficientStock",
    "InvalidQuantity",
    "InvalidReturn",
    "InventoryError",
    "Item",
    "LinePrice",
    "Movement",
    "MovementKind",
    "Order",
    "OrderLine",
    "OrderService",
    "PercentOff",
    "PurchaseLine",
    "PurchaseOrder",
    "Quote",
    "Refund",
    "RefundLine",
    "RestockPlan",
    "ReturnLine",
    "ReturnsDesk",
    "Source",
    "StockLedger",
    "Supplier",
    "UnknownCoupon",
    "UnknownItem",
    "apply_stock_count",
    "export_catalog",
    "export_stock",
    "format_money",
    "import_catalog",
    "load_catalog",
    "margin_percent",
    "percent_of",
    "plan_restock",
    "price_line",
    "purchase_order_text",
    "receipt",
    "receive_purchase",
    "save_catalog",
    "split_evenly",
    "stock_report",
    "to_money",
    "valuation_report",
]
