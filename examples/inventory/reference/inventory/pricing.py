"""Prices and discounts: the best single discount applies to each order line."""

from dataclasses import dataclass
from decimal import Decimal

from .models import Item
from .money import percent_of, to_money


@dataclass(frozen=True)
class PercentOff:
    """A percentage off every item, or off one category only."""

    percent: int
    category: str | None = None

    def amount(self, item: Item, quantity: int) -> Decimal:
        """The discount on `quantity` units of `item`; zero when it does not apply."""
        if self.category is not None and item.category != self.category:
            return Decimal("0.00")
        return percent_of(item.unit_price * quantity, self.percent)


@dataclass(frozen=True)
class BulkDiscount:
    """A percentage off a line of at least `min_quantity` units.

    >>> item = Item("A1", "Bolt", Decimal("2.00"))
    >>> BulkDiscount(10, 5).amount(item, 10)
    Decimal('1.00')
    >>> BulkDiscount(10, 5).amount(item, 9)
    Decimal('0.00')
    """

    min_quantity: int
    percent: int

    def amount(self, item: Item, quantity: int) -> Decimal:
        """The discount on `quantity` units of `item`; zero below the minimum."""
        if quantity < self.min_quantity:
            return Decimal("0.00")
        return percent_of(item.unit_price * quantity, self.percent)


Discount = PercentOff | BulkDiscount


@dataclass(frozen=True)
class LinePrice:
    """The price of one order line, before and after its discount."""

    sku: str
    quantity: int
    gross: Decimal
    discount: Decimal

    @property
    def net(self) -> Decimal:
        """What the customer pays for the line."""
        return self.gross - self.discount


def best_discount(item: Item, quantity: int, rules: list[Discount]) -> Decimal:
    """The largest discount any rule gives, never more than the line is worth.

    Args:
        item: the item bought.
        quantity: how many units.
        rules: the discounts on offer.

    Returns:
        The discount amount, zero when no rule applies.
    """
    gross = to_money(item.unit_price * quantity)
    best = max((rule.amount(item, quantity) for rule in rules), default=Decimal("0.00"))
    return min(best, gross)


def price_line(item: Item, quantity: int, rules: list[Discount]) -> LinePrice:
    """Price `quantity` units of `item` with the best discount.

    >>> price_line(Item("A1", "Bolt", Decimal("2.50")), 4, [PercentOff(10)]).net
    Decimal('9.00')
    """
    gross = to_money(item.unit_price * quantity)
    return LinePrice(item.sku, quantity, gross, best_discount(item, quantity, rules))
