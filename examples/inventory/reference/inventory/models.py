"""The plain data of the inventory: items, stock movements and orders."""

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from inventory.errors import InvalidQuantity
from inventory.money import to_money


@dataclass
class Item:
    """A product the shop sells, identified by its SKU.

    Args:
        sku: the stock-keeping unit, stored upper-case.
        name: the name shown to customers.
        unit_price: the price of one unit, rounded to cents.
        category: the shelf the item belongs to.
        reorder_level: the stock level at or below which it should be reordered.
    """

    sku: str
    name: str
    unit_price: Decimal
    category: str = "general"
    reorder_level: int = 0

    def __post_init__(self) -> None:
        self.sku = self.sku.strip().upper()
        if not self.sku:
            raise ValueError("an item needs a SKU")
        self.unit_price = to_money(self.unit_price)
        if self.unit_price < 0:
            raise ValueError(f"price of {self.sku} is negative")


class MovementKind(Enum):
    """Why stock went in or out."""

    RECEIPT = "receipt"
    SHIPMENT = "shipment"
    ADJUSTMENT = "adjustment"
    RETURN = "return"


@dataclass(frozen=True)
class Movement:
    """One change of stock: positive quantities add stock, negative ones remove it."""

    sku: str
    quantity: int
    kind: MovementKind
    reference: str = ""


@dataclass(frozen=True)
class OrderLine:
    """A wanted quantity of one item.

    Raises:
        InvalidQuantity: the quantity is not positive.
    """

    sku: str
    quantity: int

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise InvalidQuantity(self.quantity)


@dataclass
class Order:
    """A customer's order: its lines and an optional coupon code."""

    order_id: str
    customer: str
    lines: list[OrderLine] = field(default_factory=list)
    coupon: str | None = None

    def add(self, sku: str, quantity: int) -> None:
        """Add a line, merging it with an earlier line for the same SKU.

        Args:
            sku: the item wanted.
            quantity: how many, at least one.
        """
        new = OrderLine(sku, quantity)
        for line in self.lines:
            if line.sku == sku:
                new = OrderLine(sku, line.quantity + quantity)
        self.lines = [line for line in self.lines if line.sku != sku] + [new]

    @property
    def total_quantity(self) -> int:
        """The number of units over all lines."""
        return sum(line.quantity for line in self.lines)
