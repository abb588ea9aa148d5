"""Restocking: how much of each item to buy, as one purchase order per supplier.

Stock should last until the next delivery arrives plus a few safety days; suppliers
sell in packs and refuse small orders, so quantities are rounded up to whole packs and
an order below a supplier's minimum waits, unless something in it is sold out.
"""

import math
from dataclasses import dataclass, field
from decimal import Decimal

from inventory.catalog import Catalog
from inventory.ledger import StockLedger
from inventory.money import to_money
from inventory.valuation import CostBook


@dataclass(frozen=True)
class Supplier:
    """Where items are bought.

    Args:
        name: the supplier's name, unique among suppliers.
        lead_days: the days from ordering to delivery.
        pack_size: the units in one pack; orders come in whole packs.
        min_order: the smallest order value the supplier accepts.
    """

    name: str
    lead_days: int
    pack_size: int = 1
    min_order: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class Source:
    """Which supplier sells an item, and what one unit costs there."""

    supplier: str
    unit_cost: Decimal


@dataclass(frozen=True)
class PurchaseLine:
    """Units of one item to buy at a unit cost."""

    sku: str
    quantity: int
    unit_cost: Decimal

    @property
    def total(self) -> Decimal:
        """What the line costs."""
        return to_money(self.unit_cost * self.quantity)


@dataclass
class PurchaseOrder:
    """The lines bought from one supplier in one go."""

    supplier: str
    lines: list[PurchaseLine] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        """What the whole order costs."""
        return sum((line.total for line in self.lines), Decimal("0.00"))

    @property
    def units(self) -> int:
        """The units over all lines."""
        return sum(line.quantity for line in self.lines)


@dataclass
class RestockPlan:
    """The orders to send now and those held back below a supplier's minimum."""

    orders: list[PurchaseOrder] = field(default_factory=list)
    held: list[PurchaseOrder] = field(default_factory=list)


def round_up_to_pack(quantity: int, pack_size: int) -> int:
    """The smallest number of whole packs' units that covers a quantity.

    Raises:
        ValueError: the pack size is below one.

    >>> round_up_to_pack(7, 5)
    10
    >>> round_up_to_pack(10, 5)
    10
    """
    if pack_size < 1:
        raise ValueError(f"pack size must be at least 1, got {pack_size}")
    return math.ceil(quantity / pack_size) * pack_size


def daily_demand(ledger: StockLedger, sku: str, days: int) -> int:
    """The units of an item sold per day over a period, rounded up.

    Args:
        ledger: the movements to count, all taken to fall in the period.
        sku: the item.
        days: the length of the period, at least one day.

    Returns:
        The units sold less those returned, per day, rounded up; zero if none.

    Raises:
        ValueError: days is below one.
    """
    if days < 1:
        raise ValueError(f"a period needs at least 1 day, got {days}")
    return max(math.ceil(ledger.sold(sku) / days), 0)


def reorder_quantity(on_hand: int, demand: int, lead_days: int, safety_days: int, pack: int) -> int:
    """The units to buy so that stock lasts the delivery time plus the safety days.

    Args:
        on_hand: the units in stock now.
        demand: the units sold per day.
        lead_days: the days until an order arrives.
        safety_days: the extra days of stock to keep.
        pack: the pack size to round up to.

    Returns:
        The units to buy in whole packs; zero when the stock lasts.

    >>> reorder_quantity(on_hand=5, demand=2, lead_days=3, safety_days=2, pack=4)
    8
    """
    short = demand * (lead_days + safety_days) - on_hand
    if short <= 0:
        return 0
    return round_up_to_pack(short, pack)


def plan_restock(
    catalog: Catalog,
    ledger: StockLedger,
    suppliers: dict[str, Supplier],
    sources: dict[str, Source],
    demand: dict[str, int],
    safety_days: int = 2,
) -> RestockPlan:
    """Decide what to buy from whom; items without a source are left out.

    An item at or below its reorder level gets at least enough to rise above it. An
    order below its supplier's minimum value waits, unless an item in it is sold out.

    Args:
        catalog: the items to look at.
        ledger: where their stock comes from.
        suppliers: the suppliers by name.
        sources: the source of each item, by SKU.
        demand: the units sold per day, by SKU; a missing SKU sells none.
        safety_days: the days of stock to keep beyond each delivery time.

    Returns:
        The orders by supplier name, split into those to send and those held.

    Raises:
        ValueError: a source names a supplier that is not given.
    """
    lines: dict[str, list[PurchaseLine]] = {}
    urgent: set[str] = set()
    for item in catalog:
        source = sources.get(item.sku)
        if source is None:
            continue
        supplier = suppliers.get(source.supplier)
        if supplier is None:
            raise ValueError(f"{item.sku} comes from unknown supplier {source.supplier!r}")
        on_hand = ledger.on_hand(item.sku)
        pack = supplier.pack_size
        wanted = demand.get(item.sku, 0)
        quantity = reorder_quantity(on_hand, wanted, supplier.lead_days, safety_days, pack)
        floor = item.reorder_level + 1 - on_hand
        if quantity < floor:
            quantity = round_up_to_pack(floor, pack)
        if quantity == 0:
            continue
        if on_hand == 0:
            urgent.add(supplier.name)
        line = PurchaseLine(item.sku, quantity, to_money(source.unit_cost))
        lines.setdefault(supplier.name, []).append(line)
    plan = RestockPlan()
    for name in sorted(lines):
        order = PurchaseOrder(name, lines[name])
        if order.total < suppliers[name].min_order and name not in urgent:
            plan.held.append(order)
        else:
            plan.orders.append(order)
    return plan


def receive_purchase(order: PurchaseOrder, ledger: StockLedger, book: CostBook, note: str) -> int:
    """Book a delivered purchase order: stock into the ledger, cost layers into the book.

    Args:
        order: the order delivered in full.
        ledger: the stock ledger to receive into.
        book: the cost book to record the purchase prices in.
        note: the delivery note, kept as the movements' reference.

    Returns:
        The units received.
    """
    for line in order.lines:
        ledger.receive(line.sku, line.quantity, note)
        book.purchase(line.sku, line.quantity, line.unit_cost)
    return order.units
